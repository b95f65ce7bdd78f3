/**
 * One training regime on the templated Datanet: fine-tune an adapter of the base model with TracIn
 * checkpoints, run the training job's evaluation report on it (is it specialized or memorized?),
 * generate from every probe, and attribute both the model's continuations and the texts' own
 * continuations by span, gradient and combined. Metrics are threshold-free rankings (top-1, MRR) per
 * kind of output, plus the threshold view with abstentions and unrelated outputs as false positives.
 */
import type { Address } from "viem";
import { contributorsById } from "../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex, type SpanIndex } from "../../nodes/src/attribution/span-index.ts";
import type { SharedTextOptions } from "../../nodes/src/attribution/shared-text.ts";
import type { GradientSimilarity, GradientSketch } from "../../nodes/src/attribution/gradient-influence.ts";
import { calibrateMethod, type MethodCalibration } from "../../nodes/src/attribution/null-calibration.ts";
import { outputGradients } from "../../nodes/src/attribution/output-gradients.ts";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import { BatchedDecoder } from "../../nodes/src/engine/inference/batched-decoder.ts";
import { LORA_TARGETS, type LoraConfig } from "../../nodes/src/engine/model/config.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { evaluateAdapter, type EvaluationReport } from "../../nodes/src/engine/train/evaluate.ts";
import { windowSequences } from "../../nodes/src/engine/train/data.ts";
import type { TracInCheckpoint } from "../../nodes/src/engine/train/tracin-checkpoint.ts";
import type { LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attributeOutput, METHODS, type Method } from "./attribute-output.ts";
import type { BaseModel } from "./base-model.ts";
import { copiedPrefixLength } from "./copied-prefix.ts";
import { greedyContinuations } from "./greedy-continuations.ts";
import { qualityMetrics, type QualityMetrics } from "./quality-metrics.ts";
import { accountShares, rankingMetrics, type RankingMetrics } from "./ranking-metrics.ts";
import type { ProbeOutput, TemplatedDatanet } from "./templated-datanet.ts";
import { tracinGradients } from "./tracin-gradients.ts";
import { trainAdapter } from "./train-adapter.ts";

export interface RegimeOptions {
  name: string;
  steps: number;
  learningRate: number;
  batchSize: number;
  sequenceLength: number;
  rank: number;
  dims: number;
  mixPpm: number;
  threshold: number;
  seed: number;
  /** How outputs are compared with the sketch's examples (recorded in the sketch's provenance). */
  similarity: GradientSimilarity;
  /** Leave text several accounts share out of the gradients' losses (the node's default, shared-text.ts); undefined: score every token. */
  sharedText?: SharedTextOptions;
  /** Prompts of general text from outside the Datanet and the benchmark's unrelated outputs: the null the thresholds are calibrated on. */
  calibrationPrompts: readonly Int32Array[];
  /** Tokens generated per calibration prompt. */
  calibrationOutputTokens: number;
  /** The false-positive rate the calibrated thresholds aim at (split-conformal, null-calibration.ts). */
  falsePositiveRate: number;
  log: (line: string) => void;
}

export type { MethodCalibration };

export type OutputKind = ProbeOutput["kind"];
export const KINDS: readonly OutputKind[] = ["unique", "near-duplicate", "mixed", "unrelated"];

/** What the evaluation report says about the adapter (evaluate.ts gives the numbers; this reads them). */
export type Verdict = "memorized" | "specialized" | "not specialized";
export function verdictOf(report: EvaluationReport): Verdict {
  if ((report.memorization?.rate ?? 0) >= 0.5) return "memorized";
  return report.lossDelta < 0 ? "specialized" : "not specialized";
}

/** One attributed output: per method, the share of each account. */
export interface AttributedOutput {
  kind: OutputKind;
  source: "generated" | "text";
  truths: Address[];
  prompt: Int32Array;
  tokens: Int32Array;
  shares: Record<Method, Map<Address, number>>;
  /** Generated outputs: tokens agreeing with the reference before the first difference. */
  copied: number;
  longestSpan: number;
  /** The output contains an n-gram (n = the span minimum, 8) of some contribution's content, not of the shared templates: it copies Datanet text. */
  copiesContent: boolean;
}

/** The 8-grams lying wholly inside a contribution's content (none touching its header or the footer). */
export function contentNgrams(datanet: TemplatedDatanet, n = 8): (tokens: Int32Array) => boolean {
  const key = (t: Int32Array, i: number) => Array.prototype.join.call(t.subarray(i, i + n), ",");
  const content = new Set<string>();
  for (const c of datanet.contributions) {
    const start = datanet.header[datanet.contributors.indexOf(c.contributor) % datanet.header.length].length;
    const end = c.tokens.length - datanet.footer.length;
    for (let i = start; i + n <= end; i++) content.add(key(c.tokens, i));
  }
  return (tokens) => {
    for (let i = 0; i + n <= tokens.length; i++) if (content.has(key(tokens, i))) return true;
    return false;
  };
}

export interface RegimeResult {
  name: string;
  /** Accounts that could be credited (the ranking's candidates). */
  contributors: number;
  steps: number;
  epochs: number;
  training: { firstLoss: number; finalLoss: number; seconds: number; tokensPerSecond: number };
  evaluation: EvaluationReport;
  verdict: Verdict;
  outputs: AttributedOutput[];
  /** The full model's pieces, reused by the LDS experiment. */
  model: LlamaModel;
  adapter: LoraAdapter;
  checkpoints: TracInCheckpoint[];
  sketch: GradientSketch;
  index: SpanIndex;
  /** Per method, the threshold calibrated on the adapter's continuations of the null prompts. */
  calibration: Record<Method, MethodCalibration>;
  seconds: { training: number; evaluation: number; generation: number; gradients: number; attribution: number; calibration: number };
}

export function loraConfig(rank: number): LoraConfig {
  return { rank, alpha: 2 * rank, targetModules: [...LORA_TARGETS] };
}

/** The steps after which the TracIn checkpoints are saved: a third, two thirds and the end of training. */
export function tracinCheckpointSteps(steps: number): number[] {
  return [...new Set([Math.round(steps / 3), Math.round((2 * steps) / 3), steps])].filter((s) => s >= 1);
}

/** How a regime's adapter is scheduled: 5 % warm-up, decay to a tenth of the rate, TracIn checkpoints at thirds. */
export function adapterSchedule(steps: number, learningRate: number): { warmupSteps: number; minLearningRate: number; checkpointSteps: number[] } {
  return { warmupSteps: Math.max(1, Math.round(steps / 20)), minLearningRate: learningRate / 10, checkpointSteps: tracinCheckpointSteps(steps) };
}

export async function runRegime(backend: Backend, base: BaseModel, datanet: TemplatedDatanet, o: RegimeOptions): Promise<RegimeResult> {
  const since = (t: number) => (performance.now() - t) / 1000;
  const T = o.sequenceLength;
  const index = buildSpanIndex(datanet.root, datanet.indexDocuments);
  const contributorOf = contributorsById(datanet.manifest);
  const model = new LlamaModel(base.config, base.weights, backend);
  const examples = datanet.contributions.map((c) => ({ contributionId: c.contributionId, contributor: contributorOf.get(c.contributionId)!, tokens: c.tokens }));
  const training = await trainAdapter(model, examples.map((e) => e.tokens), {
    lora: loraConfig(o.rank), batchSize: o.batchSize, sequenceLength: T, steps: o.steps, learningRate: o.learningRate,
    ...adapterSchedule(o.steps, o.learningRate),
    seed: o.seed, checkpointDir: await mkdtemp(join(tmpdir(), `attribution-regime-${o.name}-`)),
    onStep: (e) => { if (e.step % 50 === 0 || e.step === o.steps) o.log(`${o.name}: step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(3)}`); },
  });
  const evaluationStart = performance.now();
  const promptLength = Math.min(...datanet.probes.map((p) => p.prompt.length));
  const evaluation = evaluateAdapter(model, training.adapter, datanet.heldOut, o.batchSize, T, {
    control: datanet.control,
    memorization: { trainingSequences: examples.map((e) => e.tokens), prefixLength: promptLength, copyLength: 16 },
  });
  const verdict = verdictOf(evaluation);
  const evaluationSeconds = since(evaluationStart);
  o.log(`${o.name}: held-out loss ${evaluation.base.loss.toFixed(3)} → ${evaluation.adapter.loss.toFixed(3)}, memorization ${evaluation.memorization!.memorized}/${evaluation.memorization!.sampled}: ${verdict}`);

  const generationStart = performance.now();
  const decoder = new BatchedDecoder(base.config, base.weights, backend, T + 64);
  const promptable = datanet.probes.filter((p) => p.kind !== "mixed");
  const generatedTokens = greedyContinuations(decoder, training.adapter, promptable.map((p) => p.prompt), Math.max(...promptable.map((p) => p.reference.length)));
  const generationSeconds = since(generationStart);
  const outputs = [
    ...promptable.map((p, i) => ({ probe: p, source: "generated" as const, tokens: generatedTokens[i].subarray(0, p.reference.length) })),
    ...datanet.probes.map((p) => ({ probe: p, source: "text" as const, tokens: p.reference })),
  ];
  const gradients = tracinGradients(model, training.checkpoints, examples, outputs.map((x) => ({ prompt: x.probe.prompt, output: x.tokens })), T,
    { dimensions: o.dims, seed: o.seed, kind: "kronecker-rademacher" }, base.digest, o.similarity, o.sharedText);
  o.log(`${o.name}: gradients of ${examples.length} examples + ${outputs.length} outputs in ${gradients.seconds.toFixed(1)} s`);
  const copiesContent = contentNgrams(datanet);
  const attributionStart = performance.now();
  const attributed: AttributedOutput[] = outputs.map((x, i) => {
    const a = attributeOutput(index, gradients.sketch, { requestId: `${o.name}-${i}`, prompt: x.probe.prompt, tokens: x.tokens, gradients: gradients.outputs[i] }, o.mixPpm, "wasm-simd");
    return {
      kind: x.probe.kind, source: x.source, truths: x.probe.truths, prompt: x.probe.prompt, tokens: x.tokens,
      shares: Object.fromEntries(METHODS.map((m) => [m, accountShares(a.weights[m], contributorOf)])) as Record<Method, Map<Address, number>>,
      copied: copiedPrefixLength(x.tokens, x.probe.reference), longestSpan: a.longestSpan, copiesContent: copiesContent(x.tokens),
    };
  });
  // The null: the adapter's continuations of prompts unrelated to the Datanet, attributed like every other output.
  const calibrationStart = performance.now();
  const nullTokens = greedyContinuations(decoder, training.adapter, o.calibrationPrompts, o.calibrationOutputTokens);
  const nullShares: Record<Method, number[]> = { span: [], gradient: [], combined: [] };
  o.calibrationPrompts.forEach((prompt, i) => {
    const output = outputGradients(model, gradients.sketch.provenance!, training.checkpoints, prompt, nullTokens[i]);
    const a = attributeOutput(index, gradients.sketch, { requestId: `${o.name}-null-${i}`, prompt, tokens: nullTokens[i], gradients: output }, o.mixPpm, "wasm-simd");
    for (const m of METHODS) nullShares[m].push(Math.max(0, ...accountShares(a.weights[m], contributorOf).values()));
  });
  const calibration = Object.fromEntries(METHODS.map((m) => [m, calibrateMethod(nullShares[m], o.falsePositiveRate)])) as Record<Method, MethodCalibration>;
  const calibrationSeconds = since(calibrationStart);
  o.log(`${o.name}: thresholds calibrated on ${o.calibrationPrompts.length} null outputs: ${METHODS.map((m) => `${m} ${calibration[m].threshold.toFixed(3)}`).join(", ")}`);
  model.setAdapter(training.adapter);
  const last = training.losses.slice(-5);
  const windows = windowSequences(examples.map((e) => e.tokens), T).length;
  return {
    name: o.name, contributors: datanet.contributors.length, steps: o.steps, epochs: (o.steps * o.batchSize) / windows,
    training: { firstLoss: training.losses[0], finalLoss: last.reduce((a, b) => a + b, 0) / last.length, seconds: training.seconds, tokensPerSecond: training.tokensPerSecond },
    evaluation, verdict, outputs: attributed, model, adapter: training.adapter, checkpoints: training.checkpoints, sketch: gradients.sketch, index, calibration,
    seconds: { training: training.seconds, evaluation: evaluationSeconds, generation: generationSeconds, gradients: gradients.seconds, attribution: since(attributionStart) - calibrationSeconds, calibration: calibrationSeconds },
  };
}

/** Ranking metrics of the outputs of one kind and source, per method. */
export function rankingByMethod(outputs: readonly AttributedOutput[], candidates: number): Record<Method, RankingMetrics> {
  return Object.fromEntries(METHODS.map((m) => [m, rankingMetrics(outputs.map((x) => ({ scores: x.shares[m], truths: x.truths })), candidates)])) as Record<Method, RankingMetrics>;
}

/** The threshold view: an output whose top account is one of its truths is a correct prediction; unrelated outputs over the threshold are false positives. */
export function thresholdByMethod(
  outputs: readonly AttributedOutput[], unrelated: readonly AttributedOutput[], threshold: number | Record<Method, number>, strict = false,
): Record<Method, QualityMetrics> {
  const top = (shares: Map<Address, number>) => {
    let best: { contributor: Address | null; share: number } = { contributor: null, share: 0 };
    for (const [account, share] of [...shares].sort(([a], [b]) => (a < b ? -1 : 1))) if (share > best.share) best = { contributor: account, share };
    return best;
  };
  return Object.fromEntries(METHODS.map((m) => [m, qualityMetrics(
    outputs.map((x) => {
      const t = top(x.shares[m]);
      return { owner: t.contributor !== null && x.truths.includes(t.contributor) ? t.contributor : x.truths[0], top: t };
    }),
    unrelated.map((x) => top(x.shares[m])),
    typeof threshold === "number" ? threshold : threshold[m],
    strict,
  )])) as Record<Method, QualityMetrics>;
}
