/**
 * An evaluation report as bar plots (base vs adapter perplexity on held-out and control text, memorization rate,
 * attribution quality when present) and its verdict in plain words.
 */
import { interpretEvaluation, parseEvaluationReport, type EvaluationReport } from "../lib/evaluation.ts";

const VERDICT_TITLES: Record<string, string> = {
  specialized: "Specialized",
  memorizing: "Memorizing",
  "no-gain": "No gain",
  forgetting: "Specialized, but forgetting",
  untested: "Not tested on unseen text",
};

export function EvaluationView({ document }: { document: unknown }) {
  let report: EvaluationReport;
  try {
    report = parseEvaluationReport(document);
  } catch (error) {
    return <p className="field-error" role="alert">{(error as Error).message}</p>;
  }
  const meaning = interpretEvaluation(report);
  const bars: { group: string; label: string; value: number }[] = [
    { group: report.heldOutIsTrainingData ? "Training text" : "Held-out", label: "base", value: report.heldOut.base.perplexity },
    { group: report.heldOutIsTrainingData ? "Training text" : "Held-out", label: "adapter", value: report.heldOut.adapter.perplexity },
  ];
  if (report.control) {
    bars.push({ group: "Control", label: "base", value: report.control.base.perplexity }, { group: "Control", label: "adapter", value: report.control.adapter.perplexity });
  }
  return (
    <div data-testid="evaluation">
      <p className={`verdict ${meaning.verdict}`} data-testid="verdict">
        <strong>{VERDICT_TITLES[meaning.verdict]}.</strong> {meaning.summary.replace(/^[^:]*: /, "")}
      </p>
      <ul>
        {meaning.details.map((d) => (
          <li key={d}>{d}</li>
        ))}
      </ul>
      <BarChart title="Perplexity (lower is better)" bars={bars.map((b) => ({ label: `${b.group} ${b.label}`, value: b.value, accent: b.label === "adapter" }))} format={(v) => v.toFixed(1)} />
      {(report.memorization || report.attributionQuality !== undefined) && (
        <BarChart
          title="Rates"
          max={1}
          bars={[
            ...(report.memorization ? [{ label: "Memorization rate", value: report.memorization.rate, accent: report.memorization.rate >= 0.2 }] : []),
            ...(report.attributionQuality !== undefined ? [{ label: "Attribution quality", value: report.attributionQuality, accent: false }] : []),
          ]}
          format={(v) => `${(v * 100).toFixed(1)}%`}
        />
      )}
    </div>
  );
}

/** Horizontal bars: readable at phone width, each value written beside its bar and in the accessible name. */
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
