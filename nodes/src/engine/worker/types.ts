/**
 * The engine service's public types: what the node's HTTP server and job runner send to the engine
 * and get back. Everything here is plain data, so it crosses the worker boundary by structured clone.
 */
import type { CanaryMode } from "../../attribution/attribution-quality-report.ts";
import type { GradientSimilarity, GradientSketchProvenance } from "../../attribution/gradient-influence.ts";
import type { BackendMemoryStats } from "../backend/backend.ts";
import type { ScaledLlamaConfig } from "../formats/llama-config.ts";
import type { AdapterCacheStats } from "../inference/adapter-cache.ts";
import type { GenerationRequest } from "../inference/generation-request.ts";
import type { SchedulerStats } from "../inference/scheduler.ts";
import type { LoraConfig } from "../model/config.ts";
import type { EvaluationReport } from "../train/evaluate.ts";
import type { GradientProjectionKind } from "../train/projected-gradients.ts";
import type { TrainingEvent } from "../train/trainer.ts";

export interface EngineOptions {
  /** Compute threads of the engine's backend, its own thread included (default: all cores). */
  threads?: number;
  /** Fused multiply-add kernels (default true; false gives results bit-identical on every host). */
  fusedMultiplyAdd?: boolean;
}

export interface LoadModelOptions {
  /** Positions a sequence may hold, prompt included (default: the config's maxPositionEmbeddings). */
  contextLength?: number;
  /** Sequences decoded together at most (default 16). */
  maxBatchSize?: number;
  /** Prompt + maxTokens reserved by running sequences at most (default maxBatchSize × contextLength). */
  maxTokensInFlight?: number;
  /** Prompt tokens prefilled per step at most (default 512). */
  maxPrefillTokens?: number;
  /** Bytes of adapter weights kept in memory (default 256 MiB); least recently used go first. */
  adapterCacheBytes?: number;
  /** A folder of PEFT adapter folders, `<dir>/<adapterId>/`, tried for ids not registered explicitly. */
  adapterDirectory?: string;
  /**
   * "float32" (default): every weight widened to float32, the model serves, trains and evaluates.
   * "stored": matrices stored as bf16/f16 stay half precision in memory (half the bytes; the kernels
   * compute in float32 and give the same results), the model serves only.
   */
  weightPrecision?: "float32" | "stored";
}

export interface ModelInfo {
  modelId: string;
  config: ScaledLlamaConfig;
  /** Parameters of the base model. */
  parameters: number;
  /** Bytes its weights take in the engine's memory. */
  weightBytes: number;
  /** Whether some matrices are kept in half precision (weightPrecision "stored"): then it serves only. */
  halfPrecisionWeights: boolean;
  contextLength: number;
  /** tokenizer_config.json's chat template and special tokens, to render chat prompts on the caller's side. */
  chatTemplate?: string;
  bosToken?: string;
  eosToken?: string;
  eosTokenIds: number[];
}

/** Where a registered adapter's files come from: a PEFT folder, or the two files' contents. */
export type AdapterSource =
  | { dir: string }
  | { adapterConfig: unknown; safetensors: Uint8Array };

export interface AdapterInfo {
  modelId: string;
  adapterId: string;
  config: LoraConfig;
  /** Bytes of the adapter's weights in memory (float32). */
  bytes: number;
}

/** A generation request as GenerationRequest, for one loaded model; `signal` cancels it. */
export interface EngineGenerationRequest extends GenerationRequest {
  modelId: string;
}

/** A training or evaluation document: text (encoded with the model's tokenizer) or token ids. */
export type Document = string | readonly number[];

export interface TrainingJob {
  modelId: string;
  /** Training documents (one per contribution). */
  train: readonly Document[];
  /** Held-out documents: eval loss during training and the final evaluation report. */
  heldOut?: readonly Document[];
  lora: LoraConfig;
  /** Seeds the adapter's initialisation and the data order. */
  seed: number;
  batchSize: number;
  sequenceLength: number;
  totalSteps: number;
  learningRate: number;
  warmupSteps?: number;
  minLearningRate?: number;
  weightDecay?: number;
  gradientAccumulation?: number;
  maxGradNorm?: number;
  /** Evaluate held-out loss every this many steps (0: only after the last). */
  evalEvery?: number;
  /** The trained adapter is written here as a PEFT folder (adapter_config.json + adapter_model.safetensors). */
  outputDir: string;
  /** Trainer checkpoints (bit-identical resume) go here, every checkpointEvery steps and after the last. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Continue from the checkpoint in checkpointDir when there is one (default true). */
  resume?: boolean;
  /** TracIn checkpoints (adapter snapshots for gradient attribution) after these steps (1..totalSteps), into tracinDir. */
  tracinSteps?: readonly number[];
  tracinDir?: string;
  /** After training, compare the adapter with the bare base model on heldOut (and these) for the report. */
  evaluation?: {
    control?: readonly Document[];
    memorization?: { prefixLength: number; copyLength?: number; maxSamples?: number };
  };
  /** Written as base_model_name_or_path in adapter_config.json (default: the modelId). */
  baseModelName?: string;
  signal?: AbortSignal;
}

/** Progress after each optimizer step: step, loss, eval loss, learning rate, tokens/s, ETA. */
export type TrainingProgress = TrainingEvent;

export interface TrainingResult {
  adapterDir: string;
  steps: number;
  /** Training loss of the last step; null when the job resumed from a checkpoint of its last step (no step ran). */
  finalLoss: number | null;
  /** The evaluation report, when the job had held-out documents. */
  evaluation?: EvaluationReport;
  seconds: number;
}

/** A running training job: progress as it happens, and the result once it is done. */
export interface TrainingRun {
  /** One event per optimizer step; ends when the job ends, throws the job's error if it fails. */
  progress: AsyncIterableIterator<TrainingProgress>;
  /** The trained adapter's folder and report; rejects with TrainingCancelledError or the job's error. */
  result: Promise<TrainingResult>;
  /** Stops the job after its current step (its checkpoint is saved first when it has a checkpointDir). */
  cancel(): void;
}

export interface EvaluationRequest {
  modelId: string;
  /** A registered adapter, compared with the bare base model. */
  adapterId: string;
  heldOut: readonly Document[];
  control?: readonly Document[];
  memorization?: { training: readonly Document[]; prefixLength: number; copyLength?: number; maxSamples?: number };
  batchSize: number;
  sequenceLength: number;
}

export interface EngineStats {
  backend: string;
  memory: BackendMemoryStats;
  models: Record<string, { scheduler: SchedulerStats; adapters: AdapterCacheStats; registeredAdapters: number; trainingJobs: number }>;
}

/** One training example of a gradient sketch: the document trained on and the contribution it came from. */
export interface SketchExample {
  /** uint256 as a decimal string. */
  contributionId: string;
  /** The same document the training job got (text is encoded the same way). */
  document: Document;
  /** The contributing account (the Datanet manifest's), 0x-hex: needed when the sketch leaves shared text out. */
  contributor?: string;
}

/**
 * A gradient sketch of a trained adapter (attribution/build-gradient-sketch.ts): every example's projected
 * LoRA gradient at each TracIn checkpoint the trainer wrote, for a verifier to recompute records against.
 */
export interface GradientSketchRequest {
  /** The loaded base model the checkpoints were trained on (weightPrecision "float32"). */
  modelId: string;
  /** Paths of the TracIn checkpoint files (the trainer's tracinDir); the sketch orders them by step. */
  tracinCheckpoints: readonly string[];
  examples: readonly SketchExample[];
  /** k (a multiple of 32 keeps every hash bit used) and the seed; kind defaults to "kronecker-rademacher". */
  projection: { dimensions: number; seed: number; kind?: GradientProjectionKind };
  /** The training job's sequenceLength: examples are cut into the same windows. */
  sequenceLength: number;
  /** Windows per forward/backward pass (default 8). */
  batchSize?: number;
  /** K: gradients over the LoRA factors of the last K layers only (cheaper, and recorded in the provenance); default every layer. */
  lastLayers?: number;
  /** How outputs will be compared with the examples, recorded in the provenance; default "dot" (TracIn's raw inner product). */
  similarity?: GradientSimilarity;
  /**
   * Leave text held by contributions of at least minAccounts accounts (n-grams of n tokens; defaults 2 and 8) out of
   * every gradient's loss (attribution/shared-text.ts); needs every example's contributor. Recorded in the provenance.
   */
  sharedText?: { n?: number; minAccounts?: number };
  /** The sketch file (attribution/gradient-sketch-file.ts format) is written here. */
  outputPath: string;
}

export interface GradientSketchResult {
  outputPath: string;
  byteSize: number;
  /** sha2-256 of the sketch file, 0x-hex: what attribution records name it by. */
  digest: `0x${string}`;
  examples: number;
  /** Projection, window length, base model digest and each checkpoint's step, learning rate and digest. */
  provenance: GradientSketchProvenance;
  seconds: number;
}

/**
 * A served output's projected gradient at each TracIn checkpoint of its adapter's gradient sketch (TracIn-CP's test
 * side, attribution/output-gradients.ts), for the attribution record of a paid response. Computed on a reproducible
 * backend (the engine's own when it is the reference backend or wasm SIMD without fused multiply-add, else a plain
 * SIMD backend of the worker's), so a verifier recomputes it bit for bit.
 */
export interface OutputGradientsRequest {
  /** The loaded base model (weightPrecision "float32"); its model.safetensors must be the sketch's base model. */
  modelId: string;
  /** The sketch's provenance: checkpoints (step, learning rate, digest), projection, window, layers. */
  provenance: GradientSketchProvenance;
  /** The TracIn checkpoint files' bytes, in the provenance's order (each checked against its digest). */
  checkpoints: readonly Uint8Array[];
  /** Token ids: the prompt conditions the output and is not scored. */
  prompt: readonly number[];
  output: readonly number[];
}

export interface OutputGradientsResult {
  /** The reproducible backend the gradients were computed on, as the record names it. */
  backend: "reference" | "wasm-simd";
  checkpoints: { learningRate: number; gradient: Float32Array }[];
  seconds: number;
}

/**
 * The adapter's null calibration (attribution/null-calibration.ts): its greedy continuations of prompts unrelated to
 * its Datanet, attributed as paid outputs are, and each method's split-conformal threshold.
 */
export interface AttributionCalibrationRequest {
  /** The loaded base model (weightPrecision "float32") and the trained adapter registered on it. */
  modelId: string;
  adapterId: string;
  /** The TracIn checkpoint files the sketch was built at, the sketch file and the span index file. */
  tracinCheckpoints: readonly string[];
  sketchPath: string;
  spanIndexPath: string;
  /** Prompts known to be unrelated to the Datanet (calibrationPrompts of the base model's control text), as token ids. */
  prompts: readonly (readonly number[])[];
  /** Tokens generated per prompt. */
  outputTokens: number;
  mixPpm?: number;
  /** Default 0.05. */
  falsePositiveRate?: number;
}

/**
 * The attribution section of a trained adapter's evaluation report (attribution/attribution-quality-report.ts): the
 * adapter's greedy answers to held-out canary prompts, and to unrelated prompts, attributed with the job's own span
 * index and gradient sketch exactly as a paid output is.
 */
export interface AttributionQualityRequest {
  /** The loaded base model (weightPrecision "float32"). */
  modelId: string;
  /** The trained adapter, registered on that model. */
  adapterId: string;
  /** The TracIn checkpoint files the sketch was built at. */
  tracinCheckpoints: readonly string[];
  /** The gradient sketch file (gradient-sketch-file.ts) and the span index file (span-index-file.ts). */
  sketchPath: string;
  spanIndexPath: string;
  mode: CanaryMode;
  /** Held-out passages with their contribution (uint256 as a decimal string): prompt and reference continuation as token ids. */
  canaries: readonly { contributionId: string; prompt: readonly number[]; reference: readonly number[] }[];
  /** Contributions (decimal ids) drawn for a canary but too short to give one. */
  tooShort?: readonly string[];
  /** Prompts from outside the Datanet, as token ids: answers to them should credit no one. */
  unrelatedPrompts?: readonly (readonly number[])[];
  /** The span index holds the canaries' text (an index of the whole version). */
  referenceIndexed?: boolean;
  /** Span share of the combined weights (ppm) and the prediction threshold; defaults as attribution's. */
  mixPpm?: number;
  threshold?: number;
  /** The model's calibrated thresholds per method: unrelated answers are counted against them (attribution-quality-report.ts). */
  calibratedThresholds?: { span: number; gradient: number; combined: number };
}
