/**
 * The evaluation report a training node puts on IPFS (format tributary.evaluation/1, written by the node's
 * evaluate phase), read defensively, and what it means in plain words.
 */

export interface LossReport {
  loss: number;
  perplexity: number;
  tokens: number;
}

export interface LossComparison {
  base: LossReport;
  adapter: LossReport;
  lossDelta: number;
}

export interface EvaluationReport {
  heldOut: LossComparison;
  control?: LossComparison;
  memorization?: { rate: number; memorized: number; sampled: number; copyLength: number };
  /** How well the attribution index explains held-out text, when the node measured it (0..1). */
  attributionQuality?: number;
  heldOutContributions?: number;
  /** Nothing could be held out (a one-contribution version): the "held-out" numbers are on training text. */
  heldOutIsTrainingData: boolean;
}

export class InvalidEvaluationReportError extends Error {
  override name = "InvalidEvaluationReportError";
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function lossReport(value: unknown, where: string): LossReport {
  const v = value as Partial<LossReport> | null;
  if (!v || !isNumber(v.loss) || !isNumber(v.perplexity)) throw new InvalidEvaluationReportError(`The evaluation report has no ${where} loss and perplexity.`);
  return { loss: v.loss, perplexity: v.perplexity, tokens: isNumber(v.tokens) ? v.tokens : 0 };
}

function comparison(value: unknown, where: string): LossComparison {
  const v = value as Record<string, unknown> | null;
  if (!v || typeof v !== "object") throw new InvalidEvaluationReportError(`The evaluation report has no ${where} comparison.`);
  const base = lossReport(v.base, `${where} base`);
  const adapter = lossReport(v.adapter, `${where} adapter`);
  return { base, adapter, lossDelta: isNumber(v.lossDelta) ? v.lossDelta : adapter.loss - base.loss };
}

/** Reads the report document; throws InvalidEvaluationReportError naming what is missing. */
export function parseEvaluationReport(document: unknown): EvaluationReport {
  if (!document || typeof document !== "object") throw new InvalidEvaluationReportError("The evaluation report is not a JSON object.");
  const doc = document as Record<string, unknown>;
  const report = (doc.report ?? doc) as Record<string, unknown>;
  const memorization = report.memorization as EvaluationReport["memorization"] | undefined;
  const quality = report.attributionQuality ?? doc.attributionQuality;
  return {
    heldOut: comparison(report, "held-out"),
    control: report.control ? comparison(report.control, "control") : undefined,
    memorization: memorization && isNumber(memorization.rate) ? memorization : undefined,
    attributionQuality: isNumber(quality) ? quality : undefined,
    heldOutContributions: isNumber(doc.heldOutContributions) ? doc.heldOutContributions : undefined,
    heldOutIsTrainingData: doc.heldOutIsTrainingData === true,
  };
}

export type Verdict = "specialized" | "memorizing" | "no-gain" | "forgetting" | "untested";

/**
 * What the numbers mean. Specialized: the adapter lowers held-out perplexity (text it never saw) by at least 2%,
 * copies few training passages verbatim (< 20% of sampled prefixes) and does not lose much general ability (control
 * perplexity up by less than 25%). Memorizing: it copies its training text, or improves only on text it trained on.
 */
export function interpretEvaluation(report: EvaluationReport): { verdict: Verdict; summary: string; details: string[] } {
  const gain = 1 - report.heldOut.adapter.perplexity / report.heldOut.base.perplexity;
  const details: string[] = [];
  const pct = (x: number) => `${Math.abs(x * 100).toFixed(1)}%`;
  details.push(
    gain >= 0
      ? `On ${report.heldOutIsTrainingData ? "its training text" : "held-out text from the Datanet"} the adapter's perplexity is ${pct(gain)} lower than the base model's.`
      : `On ${report.heldOutIsTrainingData ? "its training text" : "held-out text from the Datanet"} the adapter's perplexity is ${pct(gain)} higher than the base model's.`,
  );
  let controlRise = 0;
  if (report.control) {
    controlRise = report.control.adapter.perplexity / report.control.base.perplexity - 1;
    details.push(`On general control text its perplexity ${controlRise >= 0 ? "rises" : "falls"} by ${pct(controlRise)}.`);
  }
  const memorizationRate = report.memorization?.rate;
  if (report.memorization) {
    details.push(`It continued ${report.memorization.memorized} of ${report.memorization.sampled} training prefixes with ${report.memorization.copyLength} training tokens verbatim (${pct(report.memorization.rate)}).`);
  }
  if (report.attributionQuality !== undefined) details.push(`The attribution index explains ${pct(report.attributionQuality)} of held-out text.`);

  if (memorizationRate !== undefined && memorizationRate >= 0.2) {
    return { verdict: "memorizing", summary: "Memorizing: the adapter repeats its training text word for word instead of generalizing. Train for fewer epochs, at a lower learning rate or rank, or on more data.", details };
  }
  if (report.heldOutIsTrainingData) {
    return { verdict: gain > 0.02 ? "memorizing" : "untested", summary: "Not tested on unseen text: this Datanet version has a single contribution, so nothing could be held out. A lower perplexity here may be memorization.", details };
  }
  if (gain < 0.02) {
    return { verdict: "no-gain", summary: "No real gain: the adapter does not predict unseen domain text better than the base model. Try more epochs, a higher learning rate, or more data.", details };
  }
  if (controlRise > 0.25) {
    return { verdict: "forgetting", summary: "Specialized, at a cost: it is better on the domain but clearly worse on general text (it forgot). Fewer epochs or a lower rank keep more of the base model.", details };
  }
  return { verdict: "specialized", summary: "Specialized: the adapter predicts unseen text of this domain better than the base model, without copying its training data.", details };
}
