/**
 * The evaluation report a training node puts on IPFS (format tributary.evaluation/2, written by the node's
 * evaluate phase; /1 reports, without the attribution section, still read), read defensively, and what it means in
 * plain words.
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
  /** The report's attribution section (nodes/src/attribution/attribution-quality-report.ts), when it has one. */
  attribution?: AttributionQuality;
  heldOutContributions?: number;
  /** Nothing could be held out (a one-contribution version): the "held-out" numbers are on training text. */
  heldOutIsTrainingData: boolean;
}

export type AttributionVerdict = "reliable" | "weak" | "chance" | "not-measurable";
const ATTRIBUTION_VERDICTS: readonly string[] = ["reliable", "weak", "chance", "not-measurable"];

/** Top-1 accuracy and mean reciprocal rank of the true contributor, both in [0, 1]. */
export interface RankFigures {
  top1: number;
  mrr: number;
}

/**
 * How reliably the model's outputs are credited to the right contributor, measured by the training node on the
 * model's own Datanet: held-out probes (prompts from contributor text the adapter never saw) and, when measured,
 * prompts from outside the Datanet. Figures are those of the combined method (span and gradient mixed).
 */
export interface AttributionQuality {
  verdict: AttributionVerdict;
  /** The node's verdict in plain words (its figures included). */
  summary: string;
  probes: number;
  candidates: number;
  chance: RankFigures;
  /** The adapter's answers to the probe prompts; absent when the Datanet was too small to measure. */
  answers?: RankFigures;
  /** The probes' own text, which is Datanet text: how copied text is credited. */
  copied?: RankFigures;
  /** Share of unrelated answers credited to one contribution at the threshold; null when not measured. */
  unrelatedFalsePositiveRate: number | null;
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

const rankFigures = (value: unknown): RankFigures | undefined => {
  const v = value as { top1Accuracy?: unknown; meanReciprocalRank?: unknown } | null | undefined;
  return v && isNumber(v.top1Accuracy) && isNumber(v.meanReciprocalRank) ? { top1: v.top1Accuracy, mrr: v.meanReciprocalRank } : undefined;
};

/**
 * The attribution section, or undefined when the report has none (reports before tributary.evaluation/2) or it is
 * not one this dApp can read: the rest of the report still shows.
 */
export function parseAttributionQuality(value: unknown): AttributionQuality | undefined {
  const v = value as Record<string, any> | null | undefined;
  if (!v || typeof v !== "object" || typeof v.schema !== "string" || !v.schema.startsWith("tributary.attribution-quality/")) return undefined;
  const assessment = v.assessment as Record<string, unknown> | undefined;
  const chance = rankFigures(v.chance);
  if (!assessment || typeof assessment.verdict !== "string" || !ATTRIBUTION_VERDICTS.includes(assessment.verdict) || typeof assessment.summary !== "string"
    || !chance || !isNumber(v.canaries) || !isNumber(v.candidates)) return undefined;
  const verdict = assessment.verdict as AttributionVerdict;
  const answers = v.measured === true ? rankFigures(v.generated?.combined) : undefined;
  return {
    verdict, summary: assessment.summary, probes: v.canaries, candidates: v.candidates, chance,
    ...(answers ? { answers } : {}),
    ...(v.measured === true && rankFigures(v.reference?.combined) ? { copied: rankFigures(v.reference.combined) } : {}),
    unrelatedFalsePositiveRate: isNumber(assessment.unrelatedFalsePositiveRate) ? assessment.unrelatedFalsePositiveRate : null,
  };
}

/** Reads the report document; throws InvalidEvaluationReportError naming what is missing. */
export function parseEvaluationReport(document: unknown): EvaluationReport {
  if (!document || typeof document !== "object") throw new InvalidEvaluationReportError("The evaluation report is not a JSON object.");
  const doc = document as Record<string, unknown>;
  const report = (doc.report ?? doc) as Record<string, unknown>;
  const memorization = report.memorization as EvaluationReport["memorization"] | undefined;
  const attribution = parseAttributionQuality(doc.attribution);
  return {
    heldOut: comparison(report, "held-out"),
    control: report.control ? comparison(report.control, "control") : undefined,
    memorization: memorization && isNumber(memorization.rate) ? memorization : undefined,
    ...(attribution ? { attribution } : {}),
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
