/**
 * The `train`, `sketch` and `evaluate` phases on the worker Engine (nodes/src/engine/worker/), which trains on its
 * own thread while the node keeps serving HTTP.
 *
 * The job's split, the same in every phase (seeded by the hyper-parameters' seed): about one contribution in ten is
 * held out whole (none when there is a single contribution) for the perplexity comparison, and from each trained
 * contribution long enough (at most 32 of them) an attribution canary of 8 + 16 tokens is cut out
 * (attribution/attribution-quality-report.ts, `holdOutAttributionCanaries`): the text around it stays as two
 * examples, so the trainer, the gradient sketch and the memorization probe all see the same examples and none of
 * them sees a canary.
 *
 * `train` fine-tunes a LoRA adapter of the job's base model on those examples with the job's hyper-parameters
 * (progress after every optimizer step goes to the job's SSE stream and gossip; trainer checkpoints under the
 * workDir let a restarted node resume), writes the PEFT folder, and keeps TracIn checkpoints (adapter snapshots at
 * epoch ends, at most two: tracinStepsAtEpochs) for gradient attribution; `upload` publishes them. `sketch` builds the span index of the
 * version's contributions (whole, as serving matches outputs against them) with the base model's tokenizer and, on
 * the worker, the adapter's gradient sketch (every training example's projected gradient at each TracIn
 * checkpoint), naming its provenance for `upload`'s index document. `evaluate` compares the adapter with the bare
 * base model on the held-out documents and the base model's control text (loss, perplexity, memorization of
 * training prefixes), measures the model's attribution quality with that index and sketch (the adapter's answers
 * to the canary prompts and to control-text prompts, attributed as paid outputs are), and writes the report.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import {
  holdOutAttributionCanaries, unmeasuredAttributionQuality, type AttributionQualityOutcome, type CanarySplit,
} from "../../attribution/attribution-quality-report.ts";
import { attributionNotMeasurable, type NotMeasurableReason } from "../../attribution/attribution-quality-verdict.ts";
import type { TaggedTrainingExample } from "../../attribution/build-gradient-sketch.ts";
import { validateAttributionQuality } from "../../attribution/validate-attribution-quality.ts";
import type { GradientSketchProvenance } from "../../attribution/gradient-influence.ts";
import { calibrationPrompts, type NullCalibration } from "../../attribution/null-calibration.ts";
import { buildSpanIndex } from "../../attribution/span-index.ts";
import { encodeSpanIndex } from "../../attribution/span-index-file.ts";
import type { Engine } from "../../engine/worker/index.ts";
import type { LoraTarget } from "../../engine/model/config.ts";
import { contentDigest } from "../../engine/train/tracin-checkpoint.ts";
import type { Hyperparameters } from "../hyperparameters.ts";
import type { EvaluateOutput, PhaseContext, PhaseHandler, SketchOutput, TrainOutput } from "../pipeline.ts";
import { JobDataError, type FetchOutput } from "./fetch-verify.ts";
import { SPAN_INDEX_FILE } from "./upload.ts";

interface SavedContribution {
  contributionId: string;
  contributor: Address;
  text: string;
}

export interface EnginePhaseDeps {
  /** The engine, started on first use (a node that never trains never starts one). */
  engine(): Promise<Engine>;
}

export interface EngineTrainOutput extends TrainOutput {
  modelId: string;
  steps: number;
  finalLoss: number | null;
  heldOutContributionIds: string[];
  /** Canary passages cut out of the trained contributions for the attribution section. */
  attributionCanaries: number;
  seconds: number;
  /** The trainer checkpoint's step this run resumed from (a node restarted mid-training), or 0 for a fresh run. */
  resumedFromStep: number;
  /**
   * The loss curve this run reported, [step, loss] (at most LOSS_CURVE_POINTS, evenly thinned), so a client that
   * opens a finished job still sees how it trained.
   */
  losses: [number, number][];
}

/** The most points of the loss curve a job record keeps. */
export const LOSS_CURVE_POINTS = 500;

/** Every `stride`-th point counted back from the last (always kept): at most `max` points of an ordered curve. */
export function thinCurve(points: readonly [number, number][], max = LOSS_CURVE_POINTS): [number, number][] {
  if (points.length <= max) return [...points];
  const stride = Math.ceil(points.length / max);
  return points.filter((_, i) => (points.length - 1 - i) % stride === 0);
}

/** The step of the trainer checkpoint in `dir` (engine/train/checkpoint.ts), 0 when there is none. */
async function checkpointStep(dir: string): Promise<number> {
  try {
    return (JSON.parse(await readFile(join(dir, "trainer-state.json"), "utf8")) as { step: number }).step;
  } catch {
    return 0;
  }
}

async function readJobData(context: PhaseContext): Promise<{ fetched: FetchOutput; hyperparameters: Hyperparameters; contributions: SavedContribution[] }> {
  const fetched = context.outputs.fetch as FetchOutput | undefined;
  if (!fetched?.trainingSet) throw new JobDataError("the fetch phase left no training set");
  const hyperparameters = JSON.parse(await readFile(join(context.workDir, fetched.hyperparameters), "utf8")) as Hyperparameters;
  const contributions = (await readFile(join(context.workDir, fetched.trainingSet), "utf8")).split("\n").filter((l) => l !== "")
    .map((line, i) => {
      const saved = JSON.parse(line) as SavedContribution;
      // The gradient sketch counts shared text by account (the fetch phase writes each contribution's contributor).
      if (typeof saved.contributor !== "string") throw new JobDataError(`${fetched.trainingSet} line ${i + 1} names no contributor; fetch the job's data again`);
      return saved;
    });
  return { fetched, hyperparameters, contributions };
}

/** A seeded, reproducible choice of held-out contributions: about one in ten, at least one when there are two or more. */
export function heldOutIds(ids: readonly string[], seed: number): Set<string> {
  if (ids.length < 2) return new Set();
  const count = Math.max(1, Math.floor(ids.length / 10));
  let state = (seed >>> 0) || 1;
  const random = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 2 ** 32;
  };
  const order = [...ids].sort();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return new Set(order.slice(0, count));
}

/** The attribution section's canaries: 8 prompt + 16 output tokens (as bench/attribution-quality), one per trained contribution, at most 32. */
export const ATTRIBUTION_CANARIES = { promptTokens: 8, outputTokens: 16, maxCanaries: 32 } as const;
/** At most this many prompts from the base model's control text check that unrelated answers credit no one. */
export const UNRELATED_PROBES = 16;

async function encodeContributions(engine: Engine, modelId: string, contributions: readonly SavedContribution[]): Promise<TaggedTrainingExample[]> {
  const examples: TaggedTrainingExample[] = [];
  for (const c of contributions) examples.push({ contributionId: BigInt(c.contributionId), contributor: c.contributor, tokens: Int32Array.from(await engine.encode(modelId, c.text)) });
  return examples;
}

/** The trained contributions' examples with the attribution canaries cut out: what train, sketch and evaluate all use. */
export function canarySplit(documents: readonly TaggedTrainingExample[], heldOut: ReadonlySet<string>, seed: number): CanarySplit {
  const trained = documents.filter((d) => !heldOut.has(d.contributionId.toString()));
  return holdOutAttributionCanaries(trained, { ...ATTRIBUTION_CANARIES, mode: "held-out", seed });
}

/**
 * At most this many TracIn checkpoints. Every paid output costs a forward and backward per checkpoint (0.46× its
 * generation each on tributary-base-v0, 0.47× on SmolLM2-135M's shape), so two keep attribution under the
 * generation's time for every job (docs/benchmarks.md, "Gradient attribution of one output vs generating it"); the
 * last two of three checkpoints kept the real continuations' top-1 (53 → 52 of 280 in the topical benchmark), cost the
 * adapter's own continuations 8 of 35 and moved LDS by −0.05 to +0.06 ("Fewer TracIn checkpoints"). The sketch
 * also costs one pass over the training windows per checkpoint.
 */
export const MAX_TRACIN_CHECKPOINTS = 2;

/**
 * The TracIn checkpoints a job keeps: one at the end of each epoch (TracIn-CP's usual choice, Pruthi et al. 2020:
 * between two epoch ends every example has been trained on once), evenly spaced epochs when there are more than
 * MAX_TRACIN_CHECKPOINTS, the last step always included. The sketch computes every training window's gradient at each
 * checkpoint, so it makes as many passes over the data as training made epochs, never more: its cost stays at about
 * the training's (one pass of the sketch costs about one epoch; docs/benchmarks.md, "Sketch phase cost").
 */
export function tracinStepsAtEpochs(epochs: number, totalSteps: number): number[] {
  const count = Math.max(1, Math.min(MAX_TRACIN_CHECKPOINTS, Math.floor(epochs)));
  // Checkpoint j of count sits at the end of epoch round(epochs · j / count).
  const steps = Array.from({ length: count }, (_, j) => Math.max(1, Math.round((totalSteps * Math.round((epochs * (j + 1)) / count)) / epochs)));
  return [...new Set(steps.map((s) => Math.min(totalSteps, s)))].sort((a, b) => a - b);
}

async function loadBaseModel(engine: Engine, context: PhaseContext): Promise<string> {
  if (!context.baseModelDir) throw new JobDataError(`base model ${context.job.baseModelId} is not held by this node (set --base-model ${context.job.baseModelId}=<folder>)`);
  const modelId = `base-${context.job.baseModelId}`;
  if (!(await engine.models()).some((m) => m.modelId === modelId)) await engine.loadModel(modelId, context.baseModelDir);
  return modelId;
}

/** A job's optimizer steps: every window of sequenceLength tokens of the training examples seen `epochs` times, batchSize windows a step. */
export function trainingSteps(train: readonly ArrayLike<number>[], hp: Pick<Hyperparameters, "epochs" | "batchSize" | "sequenceLength">): number {
  let windows = 0;
  for (const tokens of train) windows += Math.max(1, Math.ceil(tokens.length / hp.sequenceLength));
  return Math.max(1, hp.epochs * Math.ceil(windows / hp.batchSize));
}

export function trainPhase({ engine: getEngine }: EnginePhaseDeps): PhaseHandler {
  return async (context) => {
    const { job, workDir, signal, progress, logger } = context;
    const { hyperparameters: hp, contributions } = await readJobData(context);
    const engine = await getEngine();
    const modelId = await loadBaseModel(engine, context);
    const heldOut = heldOutIds(contributions.map((c) => c.contributionId), hp.seed);
    const split = canarySplit(await encodeContributions(engine, modelId, contributions.filter((c) => !heldOut.has(c.contributionId))), heldOut, hp.seed);
    const train = split.training.map((e) => Array.from(e.tokens));
    const totalSteps = trainingSteps(train, hp);
    const adapterDir = join(workDir, "adapter");
    await mkdir(adapterDir, { recursive: true });
    logger.info({ modelId, train: train.length, heldOut: heldOut.size, attributionCanaries: split.canaries.length, totalSteps }, "training started");
    // TracIn snapshots at epoch ends (tracinStepsAtEpochs); the cosine stops at a tenth of the peak so every snapshot
    // has a learning rate to weigh it by.
    const tracinSteps = tracinStepsAtEpochs(hp.epochs, totalSteps);
    const tracinDir = join(workDir, "tracin");
    const checkpointDir = join(workDir, "trainer-checkpoints");
    const resumedFromStep = await checkpointStep(checkpointDir);
    if (resumedFromStep > 0) logger.info({ step: resumedFromStep }, "resuming training from the trainer checkpoint");
    const run = engine.train({
      modelId, train, lora: { rank: hp.rank, alpha: hp.alpha, targetModules: hp.targetModules as LoraTarget[] }, seed: hp.seed,
      batchSize: hp.batchSize, sequenceLength: hp.sequenceLength, totalSteps, learningRate: hp.learningRate, minLearningRate: hp.learningRate / 10,
      tracinSteps, tracinDir,
      outputDir: adapterDir, checkpointDir, checkpointEvery: Math.max(1, Math.ceil(totalSteps / 10)),
      resume: true, baseModelName: `tributary-base-model-${job.baseModelId}`, signal,
    });
    const losses: [number, number][] = [];
    for await (const step of run.progress) {
      progress({ step: step.step, totalSteps: step.totalSteps, loss: step.loss, tokensPerSecond: step.tokensPerSecond, etaSeconds: step.etaSeconds });
      if (Number.isFinite(step.loss)) losses.push([step.step, step.loss]);
    }
    const result = await run.result;
    const checkpointFiles = Object.fromEntries((await readdir(tracinDir)).filter((f) => f.endsWith(".safetensors")).sort().map((f) => [f, join("tracin", f)]));
    return {
      adapterDir: "adapter", checkpointFiles, modelId, steps: result.steps, finalLoss: result.finalLoss, heldOutContributionIds: [...heldOut],
      attributionCanaries: split.canaries.length, seconds: result.seconds, resumedFromStep, losses: thinCurve(losses),
    } satisfies EngineTrainOutput;
  };
}

/**
 * The base model's control text: general text it publishes beside its weights (`control.jsonl`, one JSON object with
 * a `text` per line) that no Datanet trains on, so the report shows whether an adapter forgot general language
 * while it specialized. A base model without the file is evaluated on held-out text only.
 */
async function readControlText(baseModelDir: string): Promise<string[]> {
  const lines = await readFile(join(baseModelDir, "control.jsonl"), "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  return lines.split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    const { text } = JSON.parse(line) as { text?: unknown };
    if (typeof text !== "string") throw new JobDataError(`${join(baseModelDir, "control.jsonl")} line ${i + 1} has no "text" string`);
    return text;
  });
}

/** The evaluate phase's output: the report, and what measuring attribution cost (the node logs it with the phase). */
export interface EngineEvaluateOutput extends EvaluateOutput {
  attribution: { verdict: string; measured: boolean; seconds: number };
  /** The model's null calibration (per-method thresholds); null without a gradient sketch or control text. */
  calibration?: NullCalibration | null;
}

/**
 * Null prompts the thresholds are calibrated on: 39 is the fewest for which a 5 % false-positive rate has a
 * conformal quantile (k = ⌈40 · 0.95⌉ = 38 ≤ n), the second largest null share.
 */
export const CALIBRATION_PROMPTS = 39;

/** The evaluation report's document format; /2 added `attribution` (attribution/attribution-quality-report.ts). */
export const EVALUATION_REPORT_FORMAT = "tributary.evaluation/2";

export function evaluatePhase({ engine: getEngine }: EnginePhaseDeps): PhaseHandler {
  return async (context) => {
    const { job, workDir } = context;
    const { hyperparameters: hp, contributions } = await readJobData(context);
    const trained = context.outputs.train as EngineTrainOutput | undefined;
    if (!trained?.adapterDir) throw new JobDataError("the train phase left no adapter to evaluate");
    const sketched = context.outputs.sketch as EngineSketchOutput | undefined;
    if (!sketched?.files?.[SPAN_INDEX_FILE]) throw new JobDataError("the sketch phase left no span index to measure attribution with");
    const engine = await getEngine();
    const modelId = await loadBaseModel(engine, context);
    const heldOutSet = new Set(trained.heldOutContributionIds ?? []);
    const heldOut = contributions.filter((c) => heldOutSet.has(c.contributionId)).map((c) => c.text);
    const split = canarySplit(await encodeContributions(engine, modelId, contributions.filter((c) => !heldOutSet.has(c.contributionId))), heldOutSet, hp.seed);
    const training = split.training.map((e) => Array.from(e.tokens));
    const adapterId = `job-${job.jobId}`;
    await engine.registerAdapter(modelId, adapterId, { dir: join(workDir, trained.adapterDir) });
    try {
      // With a single contribution nothing is held out: the report then says so, and measures the training text.
      const control = await readControlText(context.baseModelDir!);
      const report = await engine.evaluate({
        modelId, adapterId, heldOut: heldOut.length > 0 ? heldOut : training, batchSize: hp.batchSize, sequenceLength: hp.sequenceLength,
        memorization: { training, prefixLength: Math.max(1, Math.floor(hp.sequenceLength / 4)), maxSamples: 16 },
        ...(control.length > 0 ? { control } : {}),
      });
      context.logger.info({ lossDelta: report.lossDelta }, "adapter evaluated");
      // Calibrated first: the report counts unrelated answers against the thresholds serving will predict with.
      const calibration = await calibrateThresholds(context, engine, { modelId, adapterId, sketched, control, seed: hp.seed });
      const attribution = await measureAttributionQuality(context, engine, { modelId, adapterId, split, candidates: contributions.length, sketched, control, calibration });
      await writeFile(join(workDir, "evaluation.json"), JSON.stringify({
        format: EVALUATION_REPORT_FORMAT, jobId: job.jobId.toString(), baseModelId: job.baseModelId.toString(),
        heldOutContributions: heldOut.length, heldOutIsTrainingData: heldOut.length === 0, report, attribution, calibration,
      }, null, 2));
      return {
        reportPath: "evaluation.json", attribution: { verdict: attribution.assessment.verdict, measured: attribution.measured, seconds: attribution.seconds },
        calibration,
      } satisfies EngineEvaluateOutput;
    } finally {
      await engine.unregisterAdapter(modelId, adapterId).catch(() => undefined);
    }
  };
}

/**
 * The report's attribution section: the adapter's answers to the canary prompts and to prompts from the base model's
 * control text, attributed on the worker with this job's span index (the whole version, so each canary's own text is
 * in it) and gradient sketch. A Datanet too small to tell attribution from chance, or a job without a sketch, gets
 * the section's unmeasured form and costs nothing.
 */
async function measureAttributionQuality(
  context: PhaseContext, engine: Engine,
  input: {
    modelId: string; adapterId: string; split: CanarySplit; candidates: number; sketched: EngineSketchOutput; control: readonly string[];
    calibration: NullCalibration | null;
  },
): Promise<AttributionQualityOutcome> {
  const started = performance.now();
  const { split, sketched } = input;
  const trained = context.outputs.train as EngineTrainOutput;
  const checkpointPaths = Object.values(trained.checkpointFiles ?? {}).map((path) => join(context.workDir, path));
  const reason: NotMeasurableReason | null = sketched.gradientSketch && checkpointPaths.length > 0
    ? attributionNotMeasurable({ candidates: input.candidates, probes: split.canaries.length })
    : "no-gradient-sketch";
  let section: AttributionQualityOutcome;
  if (reason !== null) {
    section = unmeasuredAttributionQuality({
      mode: split.mode, canaries: split.canaries.length, tooShort: split.tooShort.length, candidates: input.candidates, ...ATTRIBUTION_CANARIES, reason,
    });
  } else {
    const unrelatedPrompts: number[][] = [];
    for (const text of input.control) {
      if (unrelatedPrompts.length === UNRELATED_PROBES) break;
      const tokens = await engine.encode(input.modelId, text);
      if (tokens.length > ATTRIBUTION_CANARIES.promptTokens) unrelatedPrompts.push(tokens.slice(0, ATTRIBUTION_CANARIES.promptTokens));
    }
    section = await engine.attributionQuality({
      modelId: input.modelId, adapterId: input.adapterId, tracinCheckpoints: checkpointPaths,
      sketchPath: join(context.workDir, sketched.files[sketched.gradientSketch!.file]), spanIndexPath: join(context.workDir, sketched.files[SPAN_INDEX_FILE]),
      mode: split.mode, tooShort: split.tooShort.map(String), referenceIndexed: true, unrelatedPrompts,
      ...(input.calibration ? { calibratedThresholds: calibratedThresholds(input.calibration) } : {}),
      canaries: split.canaries.map((c) => ({ contributionId: c.contributionId.toString(), prompt: Array.from(c.prompt), reference: Array.from(c.reference) })),
    });
  }
  section.seconds = (performance.now() - started) / 1000;
  // What is published must follow the section's schema (attribution-quality.schema.json); a failure here is a bug, not bad input.
  validateAttributionQuality(section);
  context.logger.info({
    verdict: section.assessment.verdict, reason: section.assessment.reason, canaries: section.canaries, candidates: section.candidates, seconds: section.seconds,
  }, "attribution quality measured");
  return section;
}

/** Each method's prediction threshold of a calibration. */
function calibratedThresholds(calibration: NullCalibration): { span: number; gradient: number; combined: number } {
  const { span, gradient, combined } = calibration.methods;
  return { span: span.threshold, gradient: gradient.threshold, combined: combined.threshold };
}

/**
 * The model's attribution thresholds (docs/attribution.md §7.6): the adapter's continuations of prompts drawn from the
 * base model's control text (no Datanet trains on it), attributed on the worker exactly as paid outputs are, give
 * each method's split-conformal threshold at a 5 % false-positive rate. Published with the evaluation report and in
 * the attribution index document, where serving reads it. Null without a gradient sketch or control text.
 */
async function calibrateThresholds(
  context: PhaseContext, engine: Engine, input: { modelId: string; adapterId: string; sketched: EngineSketchOutput; control: readonly string[]; seed: number },
): Promise<NullCalibration | null> {
  const trained = context.outputs.train as EngineTrainOutput;
  const checkpointPaths = Object.values(trained.checkpointFiles ?? {}).map((path) => join(context.workDir, path));
  if (!input.sketched.gradientSketch || checkpointPaths.length === 0 || input.control.length === 0) return null;
  const started = performance.now();
  const texts = await Promise.all(input.control.map(async (text) => Int32Array.from(await engine.encode(input.modelId, text))));
  if (!texts.some((t) => t.length >= ATTRIBUTION_CANARIES.promptTokens)) return null;
  const prompts = calibrationPrompts(texts, { promptTokens: ATTRIBUTION_CANARIES.promptTokens, count: CALIBRATION_PROMPTS, seed: input.seed });
  const calibration = await engine.calibrateAttribution({
    modelId: input.modelId, adapterId: input.adapterId, tracinCheckpoints: checkpointPaths,
    sketchPath: join(context.workDir, input.sketched.files[input.sketched.gradientSketch.file]), spanIndexPath: join(context.workDir, input.sketched.files[SPAN_INDEX_FILE]),
    prompts: prompts.map((p) => Array.from(p)), outputTokens: ATTRIBUTION_CANARIES.outputTokens,
  });
  context.logger.info({
    combined: calibration.methods.combined.threshold, gradient: calibration.methods.gradient.threshold, span: calibration.methods.span.threshold,
    prompts: calibration.prompts, seconds: (performance.now() - started) / 1000,
  }, "attribution thresholds calibrated");
  return calibration;
}

/** The sketch phase's output: its files, and what the gradient sketch was computed from (for the index document). */
export interface EngineSketchOutput extends SketchOutput {
  spanIndexDigest: Hex;
  /** Absent when training kept no TracIn checkpoints (then the model has span attribution only). */
  gradientSketch?: GradientSketchSummary;
}

export interface GradientSketchSummary {
  /** The name of the sketch file in `files`. */
  file: string;
  digest: Hex;
  byteSize: number;
  examples: number;
  provenance: GradientSketchProvenance;
  seconds: number;
}

/** Projected gradient size of the sketches jobs build: the attribution benchmarks' k (bench/gradient-sketch). */
export const GRADIENT_SKETCH_DIMS = 256;
export const GRADIENT_SKETCH_FILE_NAME = "gradient-sketch";
/**
 * Sketches compare outputs by cosine (each gradient normalized per checkpoint): on the quality benchmark's
 * non-memorizing adapter it ranks better than the raw dot product at the same LDS (docs/benchmarks.md,
 * "Gradient attribution variants"). Every layer's factors: restricting to the last layers cost LDS there.
 */
export const GRADIENT_SKETCH_SIMILARITY = "cosine" as const;
/**
 * Text that contributions of two accounts or more share (8-grams: the span minimum) is left out of every gradient's
 * loss: a template or boilerplate every contributor carries otherwise swamps what is distinctive (docs/benchmarks.md,
 * "Shared text left out of the gradient's loss").
 */
export const GRADIENT_SKETCH_SHARED_TEXT = { n: 8, minAccounts: 2 } as const;

export function sketchPhase({ engine: getEngine }: EnginePhaseDeps): PhaseHandler {
  return async (context) => {
    const { fetched, hyperparameters: hp, contributions } = await readJobData(context);
    const engine = await getEngine();
    const modelId = await loadBaseModel(engine, context);
    const documents = await encodeContributions(engine, modelId, contributions);
    const spanIndexBytes = encodeSpanIndex(buildSpanIndex(fetched.root as Hex, documents));
    await writeFile(join(context.workDir, "span-index.bin"), spanIndexBytes);
    const output: EngineSketchOutput = { files: { [SPAN_INDEX_FILE]: "span-index.bin" }, spanIndexDigest: contentDigest(spanIndexBytes) };

    // The gradient half: every training example (held-out contributions and canaries were not trained on) at each
    // TracIn checkpoint.
    const trained = context.outputs.train as EngineTrainOutput | undefined;
    const checkpointPaths = Object.values(trained?.checkpointFiles ?? {}).map((path) => join(context.workDir, path));
    if (checkpointPaths.length === 0) {
      context.logger.warn("training kept no TracIn checkpoints: the model gets span attribution only, no gradient sketch");
      return output;
    }
    // The examples the adapter was trained on: the same split as the train phase's, canaries cut out.
    const split = canarySplit(documents, new Set(trained?.heldOutContributionIds ?? []), hp.seed);
    const examples = split.training.map((e) => ({ contributionId: e.contributionId.toString(), contributor: e.contributor, document: Array.from(e.tokens) }));
    context.logger.info({ examples: examples.length, checkpoints: checkpointPaths.length }, "building the gradient sketch");
    const sketch = await engine.buildGradientSketch({
      modelId, tracinCheckpoints: checkpointPaths, examples, sequenceLength: hp.sequenceLength, batchSize: hp.batchSize,
      projection: { dimensions: GRADIENT_SKETCH_DIMS, seed: hp.seed, kind: "kronecker-rademacher" }, similarity: GRADIENT_SKETCH_SIMILARITY,
      sharedText: GRADIENT_SKETCH_SHARED_TEXT, outputPath: join(context.workDir, "gradient-sketch.bin"),
    });
    context.logger.info({ examples: sketch.examples, checkpoints: sketch.provenance.checkpoints.length, bytes: sketch.byteSize, seconds: sketch.seconds }, "gradient sketch built");
    output.files[GRADIENT_SKETCH_FILE_NAME] = "gradient-sketch.bin";
    output.gradientSketch = {
      file: GRADIENT_SKETCH_FILE_NAME, digest: sketch.digest, byteSize: sketch.byteSize, examples: sketch.examples, provenance: sketch.provenance, seconds: sketch.seconds,
    };
    return output;
  };
}
