/**
 * An evaluation report as bar plots (base vs adapter perplexity on held-out and control text, memorization rate)
 * and its verdict in plain words, then its attribution-quality part when the report has one.
 */
import { interpretEvaluation, parseEvaluationReport, type EvaluationReport } from "../lib/evaluation.ts";
import { AttributionQualityView } from "./AttributionQualityView.tsx";
import { BarChart } from "./BarChart.tsx";

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
      {report.memorization && (
        <BarChart
          title="Rates"
          max={1}
          bars={[{ label: "Memorization rate", value: report.memorization.rate, accent: report.memorization.rate >= 0.2 }]}
          format={(v) => `${(v * 100).toFixed(1)}%`}
        />
      )}
      {report.attribution && <AttributionQualityView quality={report.attribution} />}
    </div>
  );
}
