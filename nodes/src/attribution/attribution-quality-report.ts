/**
 * Every model reports how well its attribution works, measured on its own Datanet: the attribution
 * section of the training job's evaluation report.
 *
 * Before training, `holdOutAttributionCanaries` takes a canary passage out of each (sampled)
 * contribution: `promptTokens + outputTokens` tokens at a seeded position, whose owner is known. In "held-out"
 * mode (the default) the canary is cut off the training text, so it is text the contributor wrote
 * but the adapter never saw: attributing it tests whether attribution credits the contributor
 * whose data taught the model, not whether it spots copying. In "planted" mode the contribution
 * is trained on whole and the canary measures the copying case. The cut examples are what the
 * trainer, the gradient sketch and the span index must all get.
 *
 * After training, `attributionQualityReport` prompts the adapter with each canary's first
 * `promptTokens` tokens, decodes greedily, and attributes both that continuation ("generated") and
 * the canary's own continuation ("reference") by span, gradient and combined, exactly as a paid
 * output is attributed. Per method: top-1 accuracy and mean reciprocal rank of the canary's
 * contribution (ties ranked against it), abstentions (outputs without any evidence, whose pool
 * would stay unattributed), and the chance level of a method that ranks contributions at random.
 * Given prompts from outside the Datanet, it also attributes the adapter's answers to them ("unrelated")
 * and counts those credited to one contribution: false positives. With the model's calibrated thresholds
 * (null-calibration.ts, docs/attribution.md §7.6) an answer counts when its top share is strictly above its
 * method's threshold, the rule serving applies; without them, when it reaches the fixed `threshold`. The
 * section names the thresholds it counted with (`unrelated.thresholds`).
 * `assessAttributionQuality` (attribution-quality-verdict.ts) turns the figures into a verdict in words.
 *
 * A Datanet too small to measure (`attributionNotMeasurable`) gets `unmeasuredAttributionQuality` instead:
 * the counts and the reason, and no figure that would mean nothing.
 */
import type { LlamaModel } from "../engine/model/llama.ts";
import type { LoraAdapter } from "../engine/lora/adapter.ts";
import type { TracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import { Rng } from "../engine/train/rng.ts";
import { attribute } from "./attribute.ts";
import type { RecordGradientEvidence } from "./attribution-record.ts";
import type { TaggedTrainingExample } from "./build-gradient-sketch.ts";
import { InvalidParameterError } from "./errors.ts";
import { gradientInfluence, type GradientSketch } from "./gradient-influence.ts";
import { outputGradients } from "./output-gradients.ts";
import type { SpanIndex } from "./span-index.ts";
import { PPM, scoresToPpm, type ContributionWeight } from "./weights.ts";
import { assessAttributionQuality, attributionNotMeasurable, type AttributionAssessment, type NotMeasurableReason } from "./attribution-quality-verdict.ts";

/** /2 added `measured`, `unrelated`, `assessment` and `seconds`, and the unmeasured form. */
export const ATTRIBUTION_QUALITY_SCHEMA = "tributary.attribution-quality/2";

export type CanaryMode = "held-out" | "planted";

export interface CanaryOptions {
  /** Tokens of the canary given as the prompt. */
  promptTokens: number;
  /** Tokens of the canary after the prompt: the reference continuation, and how many tokens are generated. */
  outputTokens: number;
  /** At most this many canaries (one per contribution, contributions drawn with the seed). Default 32. */
  maxCanaries?: number;
  /** Default "held-out". */
  mode?: CanaryMode;
  seed: number;
}

export interface AttributionCanary {
  contributionId: bigint;
  prompt: Int32Array;
  reference: Int32Array;
}

export interface CanarySplit {
  mode: CanaryMode;
  /** The examples to train on, index and sketch: held-out canaries cut out (the text before and after each as two examples), in the input order. */
  training: TaggedTrainingExample[];
  canaries: AttributionCanary[];
  /** Contributions drawn but too short to give a canary (held-out mode keeps at least a canary's length of training text). */
  tooShort: bigint[];
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new InvalidParameterError(`${name} must be a positive integer, got ${value}.`, { field: name, value });
}

/**
 * One canary per sampled contribution: `promptTokens + outputTokens` consecutive tokens at a seeded
 * position of its first example long enough. Held out, the example is replaced by the text before
 * and the text after the canary, as two examples of the same contribution (no junction the
 * contributor never wrote; pieces under 2 tokens are dropped).
 */
export function holdOutAttributionCanaries(examples: readonly TaggedTrainingExample[], options: CanaryOptions): CanarySplit {
  positiveInteger("promptTokens", options.promptTokens);
  positiveInteger("outputTokens", options.outputTokens);
  const maxCanaries = options.maxCanaries ?? 32;
  positiveInteger("maxCanaries", maxCanaries);
  const mode = options.mode ?? "held-out";
  if (mode !== "held-out" && mode !== "planted") throw new InvalidParameterError(`mode must be "held-out" or "planted", got ${String(mode)}.`, { field: "mode" });
  const length = options.promptTokens + options.outputTokens;
  // Held out, the contribution keeps at least as much training text as it gives up.
  const needed = mode === "held-out" ? 2 * length : length;
  const rng = new Rng(options.seed);
  const contributions = [...new Set(examples.map((e) => e.contributionId))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const drawn = rng.shuffle(contributions).slice(0, maxCanaries);
  const canaryAt = new Map<number, { canary: AttributionCanary; start: number }>();
  const tooShort: bigint[] = [];
  for (const id of drawn) {
    const at = examples.findIndex((e) => e.contributionId === id && e.tokens.length >= needed);
    if (at < 0) {
      tooShort.push(id);
      continue;
    }
    const tokens = examples[at].tokens;
    const start = rng.nextInt(tokens.length - length + 1);
    const window = tokens.slice(start, start + length);
    canaryAt.set(at, { canary: { contributionId: id, prompt: window.slice(0, options.promptTokens), reference: window.slice(options.promptTokens) }, start });
  }
  const training = examples.flatMap((e, i) => {
    const cut = canaryAt.get(i);
    if (mode === "planted" || !cut) return [e];
    return [e.tokens.slice(0, cut.start), e.tokens.slice(cut.start + length)].filter((t) => t.length >= 2).map((tokens) => ({ ...e, tokens }));
  });
  const canaries = [...canaryAt.entries()].sort(([a], [b]) => a - b).map(([, c]) => c.canary);
  return { mode, training, canaries, tooShort };
}

export interface AttributionQualityInput {
  /** The base model the adapter was trained on (the adapter is attached to generate and put back after). */
  model: LlamaModel;
  adapter: LoraAdapter;
  /** The TracIn checkpoints and the sketch built from them on `CanarySplit.training`. */
  checkpoints: readonly TracInCheckpoint[];
  sketch: GradientSketch;
  /** The span index built from `CanarySplit.training`. */
  index: SpanIndex;
  split: CanarySplit;
  /** The reproducible backend the output gradients are computed on (as a record names it). */
  backend: RecordGradientEvidence["backend"];
  /** Span share of the combined weights, ppm (default 500,000, the node's default). */
  mixPpm?: number;
  /** A prediction is made when the top contribution's share reaches this (default 0.5). */
  threshold?: number;
  /** Prompts from outside the Datanet (e.g. the base model's control text): the adapter's answers to them should credit no one. */
  unrelatedPrompts?: readonly Int32Array[];
  /**
   * The model's calibrated prediction thresholds per method (NullCalibration.methods[m].threshold): unrelated answers
   * then count as false positives when their top share is strictly above their method's threshold, as serving predicts.
   */
  calibratedThresholds?: Record<AttributionMethod, number>;
  /** The span index holds the canaries' text (the node's index of the whole version): the reference outputs are then copied Datanet text. */
  referenceIndexed?: boolean;
}

export interface MethodQuality {
  /** Canaries whose first-ranked contribution is the canary's own. */
  top1Accuracy: number;
  meanReciprocalRank: number;
  /** Outputs with no evidence at all (the pool would stay unattributed); they score 0 above. */
  abstentions: number;
  /** Outputs whose top contribution's share reaches the threshold, and how many of those are the canary's own. */
  predictions: number;
  correct: number;
  /** correct / predictions; null when no prediction was made. */
  precision: number | null;
}

export type AttributionMethod = "span" | "gradient" | "combined";

/** The thresholds unrelated answers were counted against. */
export interface UnrelatedThresholds {
  /**
   * "calibrated": the model's per-method thresholds (null-calibration.ts), crossed by a top share strictly above;
   * "fixed": the section's `threshold` for every method, crossed by a top share at least it.
   */
  basis: "calibrated" | "fixed";
  span: number;
  gradient: number;
  combined: number;
}

export interface UnrelatedQuality {
  /** Answers to prompts from outside the Datanet that were attributed. */
  probes: number;
  /** What crossing means (absent in reports written before calibration: the fixed `threshold`, reached). */
  thresholds?: UnrelatedThresholds;
  /** Per method: answers whose top contribution's share crossed the threshold (false positives), and answers with no evidence. */
  crossing: Record<AttributionMethod, number>;
  abstentions: Record<AttributionMethod, number>;
  /** crossing / probes. */
  falsePositiveRate: Record<AttributionMethod, number>;
}

/** What every section holds, measured or not: how many canaries and candidates there were, the chance levels, the verdict. */
interface AttributionQualityCounts {
  schema: typeof ATTRIBUTION_QUALITY_SCHEMA;
  mode: CanaryMode;
  canaries: number;
  tooShort: number;
  /** Contributions that could be credited (distinct contributions of the sketch and the index). */
  candidates: number;
  promptTokens: number;
  outputTokens: number;
  /** What a method ranking contributions at random scores. */
  chance: { top1Accuracy: number; meanReciprocalRank: number };
  /** The figures' verdict in words (attribution-quality-verdict.ts). */
  assessment: AttributionAssessment;
  /** Seconds the measurement took (decoding and attributing every output). */
  seconds: number;
}

export interface AttributionQualitySection extends AttributionQualityCounts {
  measured: true;
  threshold: number;
  mixPpm: number;
  /** The adapter's greedy continuation of each canary prompt. */
  generated: Record<"span" | "gradient" | "combined", MethodQuality>;
  /** The canary's own continuation (for held-out canaries: the contributor's unseen text). */
  reference: Record<"span" | "gradient" | "combined", MethodQuality>;
  /** Generated continuations that reproduce the canary's continuation exactly (memorization of the canary). */
  reproduced: number;
  /** The adapter's answers to unrelated prompts; null when none were given. */
  unrelated: UnrelatedQuality | null;
}

/** The section of a model whose Datanet is too small to measure (or that has no gradient sketch): counts and the reason, no figures. */
export interface UnmeasuredAttributionQuality extends AttributionQualityCounts {
  measured: false;
}

/** What the evaluation report's `attribution` field holds. */
export type AttributionQualityOutcome = AttributionQualitySection | UnmeasuredAttributionQuality;

/** Top-1 and MRR of a method that ranks `candidates` contributions uniformly at random. */
export function chanceLevels(candidates: number): { top1Accuracy: number; meanReciprocalRank: number } {
  if (candidates < 1) return { top1Accuracy: 0, meanReciprocalRank: 0 };
  let rr = 0;
  for (let r = 1; r <= candidates; r++) rr += 1 / r;
  return { top1Accuracy: 1 / candidates, meanReciprocalRank: rr / candidates };
}

/** The section without figures, for a Datanet `attributionNotMeasurable` rejects (or a forced reason). */
export function unmeasuredAttributionQuality(input: {
  mode: CanaryMode; canaries: number; tooShort: number; candidates: number; promptTokens: number; outputTokens: number; reason?: NotMeasurableReason;
}): UnmeasuredAttributionQuality {
  const reason = input.reason ?? attributionNotMeasurable({ candidates: input.candidates, probes: input.canaries });
  if (reason === null) throw new InvalidParameterError(`${input.canaries} canaries over ${input.candidates} contributions can be measured: call attributionQualityReport.`, { canaries: input.canaries });
  const assessment = assessAttributionQuality({
    candidates: input.candidates, probes: input.canaries, probeTokens: (input.mode === "held-out" ? 2 : 1) * (input.promptTokens + input.outputTokens), notMeasurable: reason,
  });
  return {
    schema: ATTRIBUTION_QUALITY_SCHEMA, measured: false, mode: input.mode, canaries: input.canaries, tooShort: input.tooShort, candidates: input.candidates,
    promptTokens: input.promptTokens, outputTokens: input.outputTokens, chance: chanceLevels(input.candidates), assessment, seconds: 0,
  };
}

/**
 * Greedy decoding with the model's training forward (no KV cache: canaries are few and short). Every
 * step runs one fixed-length window (padding after the tokens so far cannot affect a causal model),
 * so the model keeps one set of activation buffers, as evaluate.ts's memorization probe does.
 */
export function greedyContinuation(model: LlamaModel, prompt: Int32Array, newTokens: number): Int32Array {
  const V = model.config.vocabSize;
  const T = prompt.length + newTokens - 1;
  if (T > model.config.maxPositionEmbeddings) {
    throw new InvalidParameterError(`A canary of ${prompt.length} + ${newTokens} tokens exceeds the model's context of ${model.config.maxPositionEmbeddings}.`, { field: "promptTokens" });
  }
  const window = new Int32Array(T);
  window.set(prompt);
  const out = new Int32Array(newTokens);
  for (let t = 0; t < newTokens; t++) {
    const position = prompt.length + t - 1;
    const { logits } = model.forward(window, 1, T);
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[position * V + v] > logits[position * V + best]) best = v;
    out[t] = best;
    if (position + 1 < T) window[position + 1] = best;
  }
  return out;
}

/** 1-based rank of `id` by share, ties counted against it; null when it has no weight. */
function rankOf(weights: readonly ContributionWeight[], id: bigint): number | null {
  const own = weights.find((w) => w.contributionId === id)?.ppm ?? 0;
  if (own <= 0) return null;
  return 1 + weights.filter((w) => w.contributionId !== id && w.ppm >= own).length;
}

function methodQuality(perOutput: readonly { weights: readonly ContributionWeight[]; truth: bigint }[], threshold: number): MethodQuality {
  let top1 = 0, rr = 0, abstentions = 0, predictions = 0, correct = 0;
  for (const { weights, truth } of perOutput) {
    if (weights.length === 0) {
      abstentions++;
      continue;
    }
    const rank = rankOf(weights, truth);
    if (rank === 1) top1++;
    if (rank !== null) rr += 1 / rank;
    const top = weights.reduce((best, w) => (w.ppm > best.ppm ? w : best));
    if (top.ppm / PPM >= threshold) {
      predictions++;
      if (rank === 1) correct++;
    }
  }
  const n = perOutput.length;
  return {
    top1Accuracy: n ? top1 / n : 0, meanReciprocalRank: n ? rr / n : 0, abstentions, predictions, correct,
    precision: predictions ? correct / predictions : null,
  };
}

/** The attribution section of the evaluation report; merge it as `{ ...evaluationReport, attribution: section }`. */
export function attributionQualityReport(input: AttributionQualityInput): AttributionQualitySection {
  const started = performance.now();
  const { model, sketch, index, split } = input;
  if (!sketch.provenance) throw new InvalidParameterError("The gradient sketch names no provenance: build it with buildGradientSketch.", { field: "sketch" });
  if (split.canaries.length === 0) throw new InvalidParameterError("No canaries: every drawn contribution was too short; lower promptTokens + outputTokens.", { tooShort: split.tooShort.length });
  const mixPpm = input.mixPpm ?? 500_000;
  const threshold = input.threshold ?? 0.5;
  if (!(threshold > 0 && threshold <= 1)) throw new InvalidParameterError(`threshold must be in (0, 1], got ${threshold}.`, { field: "threshold" });
  const candidates = new Set([...sketch.exampleContributionIds, ...index.contributionIds]).size;
  const outputTokens = split.canaries[0].reference.length;

  const unrelatedPrompts = input.unrelatedPrompts ?? [];
  const previous = model.getAdapter();
  model.setAdapter(input.adapter);
  let generated: Int32Array[];
  let unrelatedOutputs: Int32Array[];
  try {
    generated = split.canaries.map((c) => greedyContinuation(model, c.prompt, c.reference.length));
    unrelatedOutputs = unrelatedPrompts.map((prompt) => greedyContinuation(model, prompt, outputTokens));
  } finally {
    model.setAdapter(previous);
  }
  const fromRecord = (weights: readonly { contributionId: string; ppm: number }[]) => weights.map((w) => ({ contributionId: BigInt(w.contributionId), ppm: w.ppm }));
  // Each output attributed as a paid output is: span evidence against the index, its gradients at the sketch's checkpoints, both mixed.
  const weightsOf = (prompt: Int32Array, tokens: Int32Array, requestId: string): Record<AttributionMethod, ContributionWeight[]> => {
    const gradients = outputGradients(model, sketch.provenance!, input.checkpoints, prompt, tokens);
    const common = { requestId, model: { id: 0n, cid: "evaluation" }, datanet: { id: 0n, version: 0 }, outputTokens: tokens, index };
    return {
      span: fromRecord(attribute(common).weights),
      gradient: scoresToPpm(gradientInfluence(sketch, gradients)),
      combined: fromRecord(attribute({ ...common, gradients: { sketch, output: gradients, prompt, backend: input.backend }, parameters: { mixPpm } }).weights),
    };
  };
  const attributeAll = (outputs: readonly Int32Array[]) => {
    const rows: Record<AttributionMethod, { weights: ContributionWeight[]; truth: bigint }[]> = { span: [], gradient: [], combined: [] };
    outputs.forEach((tokens, i) => {
      const canary = split.canaries[i];
      const weights = weightsOf(canary.prompt, tokens, `canary-${i}`);
      for (const m of METHODS) rows[m].push({ weights: weights[m], truth: canary.contributionId });
    });
    return { span: methodQuality(rows.span, threshold), gradient: methodQuality(rows.gradient, threshold), combined: methodQuality(rows.combined, threshold) };
  };
  const calibrated = input.calibratedThresholds;
  if (calibrated) {
    for (const m of METHODS) {
      if (!(calibrated[m] > 0 && calibrated[m] <= 1)) throw new InvalidParameterError(`calibratedThresholds.${m} must be in (0, 1], got ${calibrated[m]}.`, { field: "calibratedThresholds" });
    }
  }
  const thresholds: UnrelatedThresholds = calibrated
    ? { basis: "calibrated", span: calibrated.span, gradient: calibrated.gradient, combined: calibrated.combined }
    : { basis: "fixed", span: threshold, gradient: threshold, combined: threshold };
  const crosses = (share: number, m: AttributionMethod) => (thresholds.basis === "calibrated" ? share > thresholds[m] : share >= thresholds[m]);
  let unrelated: UnrelatedQuality | null = null;
  if (unrelatedOutputs.length > 0) {
    const zero = (): Record<AttributionMethod, number> => ({ span: 0, gradient: 0, combined: 0 });
    const crossing = zero(), abstentions = zero(), falsePositiveRate = zero();
    unrelatedOutputs.forEach((tokens, i) => {
      const weights = weightsOf(unrelatedPrompts[i], tokens, `unrelated-${i}`);
      for (const m of METHODS) {
        if (weights[m].length === 0) abstentions[m]++;
        else if (crosses(Math.max(...weights[m].map((w) => w.ppm)) / PPM, m)) crossing[m]++;
      }
    });
    for (const m of METHODS) falsePositiveRate[m] = crossing[m] / unrelatedOutputs.length;
    unrelated = { probes: unrelatedOutputs.length, thresholds, crossing, abstentions, falsePositiveRate };
  }
  const generatedQuality = attributeAll(generated);
  const referenceQuality = attributeAll(split.canaries.map((c) => c.reference));
  const probes = split.canaries.length;
  const chance = chanceLevels(candidates);
  const assessment = assessAttributionQuality({
    candidates, probes, top1Hits: Math.round(generatedQuality.combined.top1Accuracy * probes), chanceTop1: chance.top1Accuracy,
    threshold: thresholds.combined, thresholdCalibrated: thresholds.basis === "calibrated",
    unrelated: unrelated ? { probes: unrelated.probes, crossing: unrelated.crossing.combined } : null,
    copied: input.referenceIndexed ? { probes, top1Hits: Math.round(referenceQuality.combined.top1Accuracy * probes) } : null,
  });
  return {
    schema: ATTRIBUTION_QUALITY_SCHEMA, measured: true, mode: split.mode, canaries: probes, tooShort: split.tooShort.length, candidates,
    promptTokens: split.canaries[0].prompt.length, outputTokens, threshold, mixPpm, chance,
    generated: generatedQuality,
    reference: referenceQuality,
    reproduced: generated.filter((g, i) => g.every((t, j) => t === split.canaries[i].reference[j])).length,
    unrelated, assessment, seconds: (performance.now() - started) / 1000,
  };
}

const METHODS: readonly AttributionMethod[] = ["span", "gradient", "combined"];
