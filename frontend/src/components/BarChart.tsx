/**
 * Horizontal bars for the evaluation report's plots (perplexities, rates, attribution quality): readable at phone
 * width, each value written beside its bar and in the accessible name.
 */
export function BarChart({ title, bars, format, max }: { title: string; bars: { label: string; value: number; accent: boolean }[]; format: (v: number) => string; max?: number }) {
  const top = max ?? Math.max(...bars.map((b) => b.value), 1e-9);
  const rowH = 26;
  const labelW = 150;
  const barW = 170;
  return (
    <figure className="plot">
      <svg viewBox={`0 0 ${labelW + barW + 60} ${bars.length * rowH + 4}`} role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${format(b.value)}`).join(", ")}`}>
        {bars.map((b, i) => (
          <g key={b.label} transform={`translate(0 ${i * rowH})`}>
            <text x={labelW - 6} y={17} textAnchor="end" className="tick">{b.label}</text>
            <rect x={labelW} y={4} height={rowH - 8} width={Math.max(1, (Math.min(b.value, top) / top) * barW)} className={b.accent ? "bar accent" : "bar"} />
            <text x={labelW + Math.max(1, (Math.min(b.value, top) / top) * barW) + 4} y={17} className="tick">{format(b.value)}</text>
          </g>
        ))}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
