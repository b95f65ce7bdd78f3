/** The training loss as an SVG line, with its range in words for screen readers. */
import { lossPath } from "../lib/job-progress.ts";

const W = 320;
const H = 120;

export function LossCurve({ points }: { points: readonly { step: number; loss: number }[] }) {
  const path = lossPath(points, W, H);
  if (!path) return <p className="hint">The loss curve appears once the node reports training steps.</p>;
  const last = points[points.length - 1];
  const description = `Training loss over ${points.length} steps, from ${points[0].loss.toFixed(3)} at step ${points[0].step} to ${last.loss.toFixed(3)} at step ${last.step}.`;
  return (
    <figure className="plot">
      <svg viewBox={`-40 -10 ${W + 50} ${H + 30}`} role="img" aria-label={description} data-testid="loss-curve">
        <line x1={0} y1={H} x2={W} y2={H} className="axis" />
        <line x1={0} y1={0} x2={0} y2={H} className="axis" />
        <text x={-4} y={4} textAnchor="end" className="tick">{path.maxLoss.toFixed(2)}</text>
        <text x={-4} y={H} textAnchor="end" className="tick">{path.minLoss.toFixed(2)}</text>
        <text x={W} y={H + 16} textAnchor="end" className="tick">step {path.maxStep}</text>
        <path d={path.d} className="line" fill="none" />
      </svg>
      <figcaption>{description}</figcaption>
    </figure>
  );
}
