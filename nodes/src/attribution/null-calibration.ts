/**
 * When is an attribution confident enough to name one contributor? Not when its top share passes a
 * fixed number: a memorizing adapter regurgitates Datanet text on prompts that have nothing to do with
 * it, and a gradient spread over few contributors gives large shares to no one in particular. The
 * threshold is calibrated per model, at training time, on a null distribution: the adapter's own
 * continuations of prompts known to be unrelated to its Datanet (the base model's published control
 * text, which no Datanet trains on), attributed exactly as paid outputs are.
 *
 * Split-conformal rule (Vovk et al.; Angelopoulos & Bates, "A gentle introduction to conformal
 * prediction"): with n null top shares s_1 ≤ … ≤ s_n and a target false-positive rate α, the threshold
 * is s_k with k = ⌈(n + 1)(1 − α)⌉, and an output is a confident prediction when its top share is
 * strictly above it (and above a strict majority, MAJORITY_SHARE: a prediction names one contributor). For an unrelated output exchangeable with the null ones, P(top share > s_k) ≤
 * (n + 1 − k)/(n + 1) ≤ α, whatever the distribution of the shares. With fewer than ⌈1/α⌉ − 1 null
 * outputs (k > n) no share can be shown to be rare and the threshold is 1: nothing is predicted.
 *
 * The guarantee is for unrelated outputs like the null ones (prompts of general text); it is not a
 * bound on the benchmark's own unrelated outputs unless they are drawn alike, which is why the
 * benchmark measures that rate separately, on different text.
 */
import type { LlamaModel } from "../engine/model/llama.ts";
import type { LoraAdapter } from "../engine/lora/adapter.ts";
import type { TracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import { Rng } from "../engine/train/rng.ts";
import { attribute } from "./attribute.ts";
import type { RecordGradientEvidence } from "./attribution-record.ts";
import { greedyContinuation } from "./attribution-quality-report.ts";
import { InvalidParameterError } from "./errors.ts";
import { gradientInfluence, type GradientSketch } from "./gradient-influence.ts";
import { outputGradients } from "./output-gradients.ts";
import type { SpanIndex } from "./span-index.ts";
import { PPM, scoresToPpm, type ContributionWeight } from "./weights.ts";

export interface ConformalThreshold {
  /** The null's conformal quantile: an exchangeable unrelated output's top share exceeds it with probability ≤ bound (1: never). */
  quantile: number;
  falsePositiveRate: number;
  /** n, the null outputs it was calibrated on. */
  outputs: number;
  /** k: the threshold is the k-th smallest null share (k > n when there are too few: threshold 1). */
  rank: number;
  /** The guaranteed bound (n + 1 − k)/(n + 1) on an exchangeable unrelated output crossing it (≤ falsePositiveRate). */
  bound: number;
}

/** The split-conformal threshold of the null top shares (each in [0, 1]; 0 for an output with no evidence). */
export function conformalThreshold(nullTopShares: readonly number[], falsePositiveRate = 0.05): ConformalThreshold {
  if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) {
    throw new InvalidParameterError(`falsePositiveRate must be in (0, 1), got ${falsePositiveRate}.`, { field: "falsePositiveRate" });
  }
  for (const s of nullTopShares) {
    if (!(s >= 0 && s <= 1)) throw new InvalidParameterError(`A null top share must be in [0, 1], got ${s}.`, { field: "nullTopShares" });
  }
  const n = nullTopShares.length;
  const k = Math.ceil((n + 1) * (1 - falsePositiveRate));
  const sorted = [...nullTopShares].sort((a, b) => a - b);
  const quantile = k <= n ? sorted[k - 1] : 1;
  return { quantile, falsePositiveRate, outputs: n, rank: k, bound: k <= n ? (n + 1 - k) / (n + 1) : 0 };
}

/**
 * A confident prediction names one contributor: its share must be a strict majority as well as rarer than the null.
 * Without this floor a method whose null outputs never have any evidence (span attribution on prompts of plain text)
 * would get a quantile of 0 and "predict" on any evidence at all, shared boilerplate split twelve ways included.
 */
export const MAJORITY_SHARE = 0.5;

/** The prediction threshold of a calibration: the null quantile, never below a strict majority. */
export function predictionThreshold(calibrated: ConformalThreshold): number {
  return Math.max(calibrated.quantile, MAJORITY_SHARE);
}

/** The top share of an output's weights (0 when it has none: no evidence never crosses a threshold). */
export function topShare(weights: readonly ContributionWeight[]): number {
  return weights.reduce((max, w) => Math.max(max, w.ppm / PPM), 0);
}

/** `count` prompts of `promptTokens` tokens at seeded positions of the texts (token ids), spread over them in turn. */
export function calibrationPrompts(texts: readonly Int32Array[], options: { promptTokens: number; count: number; seed: number }): Int32Array[] {
  const { promptTokens, count } = options;
  if (!Number.isInteger(promptTokens) || promptTokens < 1) throw new InvalidParameterError(`promptTokens must be a positive integer, got ${promptTokens}.`, { field: "promptTokens" });
  if (!Number.isInteger(count) || count < 1) throw new InvalidParameterError(`count must be a positive integer, got ${count}.`, { field: "count" });
  const usable = texts.filter((t) => t.length >= promptTokens);
  if (usable.length === 0) throw new InvalidParameterError(`No calibration text holds ${promptTokens} tokens.`, { field: "texts" });
  const rng = new Rng(options.seed);
  return Array.from({ length: count }, (_, i) => {
    const text = usable[i % usable.length];
    const start = rng.nextInt(text.length - promptTokens + 1);
    return text.slice(start, start + promptTokens);
  });
}

export type CalibratedMethod = "span" | "gradient" | "combined";

export type MethodCalibration = ConformalThreshold & { threshold: number; median: number; max: number };

/** A method's calibration from its null top shares. */
export function calibrateMethod(nullTopShares: readonly number[], falsePositiveRate: number): MethodCalibration {
  const conformal = conformalThreshold(nullTopShares, falsePositiveRate);
  const sorted = [...nullTopShares].sort((a, b) => a - b);
  return { ...conformal, threshold: predictionThreshold(conformal), median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1] };
}

export interface NullCalibration {
  schema: "tributary.attribution-null/1";
  falsePositiveRate: number;
  prompts: number;
  outputTokens: number;
  /**
   * Per method: the null's conformal quantile, the threshold predictions use (strictly above it: the quantile, at
   * least MAJORITY_SHARE) and the null top shares' median and maximum.
   */
  methods: Record<CalibratedMethod, MethodCalibration>;
}

export interface NullCalibrationInput {
  /** The base model (the adapter is attached to generate and put back after). */
  model: LlamaModel;
  adapter: LoraAdapter;
  checkpoints: readonly TracInCheckpoint[];
  sketch: GradientSketch;
  index: SpanIndex;
  /** Prompts known to be unrelated to the Datanet (calibrationPrompts of the base model's control text). */
  prompts: readonly Int32Array[];
  /** Tokens generated per prompt (as many as the outputs the threshold will judge). */
  outputTokens: number;
  backend: RecordGradientEvidence["backend"];
  mixPpm?: number;
  /** Default 0.05. */
  falsePositiveRate?: number;
}

/**
 * The adapter's greedy continuations of the null prompts, attributed by span, gradient and combined as paid outputs
 * are, and each method's conformal threshold. Deterministic for given inputs (greedy decoding, fixed-order arithmetic).
 */
export function calibrateAttributionThreshold(input: NullCalibrationInput): NullCalibration {
  const { model, sketch, index } = input;
  if (!sketch.provenance) throw new InvalidParameterError("The gradient sketch names no provenance: build it with buildGradientSketch.", { field: "sketch" });
  if (input.prompts.length === 0) throw new InvalidParameterError("Calibration needs at least one prompt.", { field: "prompts" });
  const falsePositiveRate = input.falsePositiveRate ?? 0.05;
  const previous = model.getAdapter();
  model.setAdapter(input.adapter);
  let outputs: Int32Array[];
  try {
    outputs = input.prompts.map((p) => greedyContinuation(model, p, input.outputTokens));
  } finally {
    model.setAdapter(previous);
  }
  const shares: Record<CalibratedMethod, number[]> = { span: [], gradient: [], combined: [] };
  outputs.forEach((tokens, i) => {
    const prompt = input.prompts[i];
    const gradients = outputGradients(model, sketch.provenance!, input.checkpoints, prompt, tokens);
    const common = { requestId: `null-${i}`, model: { id: 0n, cid: "calibration" }, datanet: { id: 0n, version: 0 }, outputTokens: tokens, index };
    const fromRecord = (weights: readonly { contributionId: string; ppm: number }[]) => weights.map((w) => ({ contributionId: BigInt(w.contributionId), ppm: w.ppm }));
    shares.span.push(topShare(fromRecord(attribute(common).weights)));
    shares.gradient.push(topShare(scoresToPpm(gradientInfluence(sketch, gradients))));
    shares.combined.push(topShare(fromRecord(attribute({ ...common, gradients: { sketch, output: gradients, prompt, backend: input.backend }, parameters: { mixPpm: input.mixPpm ?? 500_000 } }).weights)));
  });
  return {
    schema: "tributary.attribution-null/1", falsePositiveRate, prompts: input.prompts.length, outputTokens: input.outputTokens,
    methods: {
      span: calibrateMethod(shares.span, falsePositiveRate), gradient: calibrateMethod(shares.gradient, falsePositiveRate),
      combined: calibrateMethod(shares.combined, falsePositiveRate),
    },
  };
}
