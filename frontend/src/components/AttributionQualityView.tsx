/**
 * The evaluation report's attribution-quality part: the node's verdict in plain words and, when the Datanet was
 * large enough to measure, a plot of how often the true contributor is ranked first (top-1) and its mean reciprocal
 * rank, on the adapter's answers and on copied Datanet text, each beside what ranking at random would score.
 */
import type { AttributionQuality, AttributionVerdict } from "../lib/evaluation.ts";
import { BarChart } from "./BarChart.tsx";

const TITLES: Record<AttributionVerdict, string> = {
  reliable: "Reliable",
  weak: "Weak",
  chance: "No better than chance",
  "not-measurable": "Not measurable",
};

export function AttributionQualityView({ quality }: { quality: AttributionQuality }) {
  const { answers, copied, chance } = quality;
  const plotted = quality.verdict !== "not-measurable" && answers !== undefined;
  return (
    <section aria-labelledby="attribution-quality-heading" data-testid="attribution-quality">
      <h3 id="attribution-quality-heading">Attribution quality</h3>
      <p className={`verdict attribution-${quality.verdict}`} data-testid="attribution-verdict">
        <strong>{TITLES[quality.verdict]}.</strong> {quality.summary.replace(/^[^:]*: /, "")}
      </p>
      {plotted && (
        <BarChart
          title={`The true contributor among ${quality.candidates} contributions, over ${quality.probes} probes (higher is better)`}
          max={1}
          bars={[
            { label: "Top-1, answers", value: answers.top1, accent: true },
            ...(copied ? [{ label: "Top-1, copied text", value: copied.top1, accent: true }] : []),
            { label: "Top-1, chance", value: chance.top1, accent: false },
            { label: "MRR, answers", value: answers.mrr, accent: true },
            ...(copied ? [{ label: "MRR, copied text", value: copied.mrr, accent: true }] : []),
            { label: "MRR, chance", value: chance.mrr, accent: false },
          ]}
          format={(v) => v.toFixed(2)}
        />
      )}
      <p className="hint">
        Measured by the training node on this model&apos;s own Datanet: passages held out of each contribution, the adapter prompted with
        their first words and its answer attributed as a paid answer is. Top-1: how often the passage&apos;s contributor is ranked first;
        MRR: the mean of 1 / its rank.
      </p>
    </section>
  );
}
