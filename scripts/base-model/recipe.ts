/**
 * The base model's recipe: architecture and optimisation hyper-parameters, and the run plan that fixes
 * them (with the step count) for the whole run, so a resumed run continues the same schedule exactly.
 */
import { readFile, writeFile, mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import type { LlamaConfig } from "../../nodes/src/engine/model/config.ts";
import { BaseModelRunError } from "./errors.ts";

/** The document separator (and BOS/EOS/PAD) of the committed tokenizer. */
export const END_OF_TEXT_ID = 0;

/**
 * ~4M parameters, a quarter of them the tied embedding. Measured on the 2-core machine with the WASM SIMD
 * backend on 2 threads: ~2,000-2,400 training tokens/s when the machine is quiet (~1,700 averaged over the
 * committed run on a shared one); 6 layers ran at ~1,400, and a narrower C=192 model was no faster (the
 * per-token work outside matmuls does not shrink with C), so this one sees the most text per parameter in a
 * 35-40 minute budget. A peak learning rate of 2e-3 beat 1e-3 and 4e-3 over 250-step probes.
 */
export const BASE_MODEL_CONFIG: LlamaConfig = {
  vocabSize: 4096,
  hiddenSize: 256,
  intermediateSize: 688,
  numLayers: 4,
  numHeads: 8,
  numKvHeads: 4,
  headDim: 32,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  maxPositionEmbeddings: 128,
  tieWordEmbeddings: true,
  bosTokenId: END_OF_TEXT_ID,
  eosTokenId: END_OF_TEXT_ID,
};

export interface BaseModelRecipe {
  model: LlamaConfig;
  batchSize: number;
  /** Training context; the model's maxPositionEmbeddings, since RoPE does not extrapolate past what it saw. */
  sequenceLength: number;
  learningRate: number;
  minLearningRate: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  maxGradNorm: number;
  /** Seeds the data order. */
  dataSeed: number;
  /** Seeds the initial weights. */
  initSeed: number;
  initializerRange: number;
}

export function defaultRecipe(overrides: Partial<Pick<BaseModelRecipe, "learningRate" | "warmupSteps" | "batchSize">> = {}): BaseModelRecipe {
  const learningRate = overrides.learningRate ?? 2e-3;
  return {
    model: BASE_MODEL_CONFIG,
    batchSize: overrides.batchSize ?? 8,
    sequenceLength: BASE_MODEL_CONFIG.maxPositionEmbeddings,
    learningRate,
    minLearningRate: learningRate / 10,
    warmupSteps: overrides.warmupSteps ?? 200,
    weightDecay: 0.1,
    beta1: 0.9,
    // 0.95 rather than 0.999: with small, noisy batches the second moment must follow the gradient scale quickly.
    beta2: 0.95,
    maxGradNorm: 1,
    dataSeed: 1,
    initSeed: 1234,
    initializerRange: 0.02,
  };
}

export const RUN_PLAN_FORMAT = "tributary-base-model-plan/1";
const PLAN_FILE = "run-plan.json";

/** Everything that decides a run's numbers; written once when the run starts, read back on --resume. */
export interface RunPlan {
  format: typeof RUN_PLAN_FORMAT;
  recipe: BaseModelRecipe;
  totalSteps: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Evenly spaced held-out windows evaluated every evalEvery steps (the full split is evaluated at the end). */
  evalWindows: number;
  /** SHA-256 of the files the run depends on, so a resume on different data or tokenizer is refused. */
  inputs: { trainSha256: string; heldoutSha256: string; tokenizerSha256: string };
  /** How totalSteps was chosen: a fixed --steps, or a wall-clock budget and the throughput measured for it. */
  planning: { steps: number } | { maxMinutes: number; secondsPerStep: number; evalSeconds: number };
}

export async function readRunPlan(checkpointDir: string): Promise<RunPlan | undefined> {
  let text: string;
  try {
    text = await readFile(join(checkpointDir, PLAN_FILE), "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw cause;
  }
  const plan = JSON.parse(text) as RunPlan;
  if (plan.format !== RUN_PLAN_FORMAT) {
    throw new BaseModelRunError(`${join(checkpointDir, PLAN_FILE)} has format "${String(plan.format)}", expected "${RUN_PLAN_FORMAT}".`, { checkpointDir });
  }
  return plan;
}

export async function writeRunPlan(checkpointDir: string, plan: RunPlan): Promise<void> {
  await mkdir(checkpointDir, { recursive: true });
  const path = join(checkpointDir, PLAN_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(plan, null, 2) + "\n");
  await rename(`${path}.tmp`, path);
}

/** Parameter count of a Llama config (tied embeddings counted once). */
export function parameterCount(config: LlamaConfig): number {
  const { vocabSize: V, hiddenSize: C, intermediateSize: F, numHeads: NH, numKvHeads: NKV, headDim: HS, numLayers: L } = config;
  const perLayer = 2 * C + C * NH * HS + 2 * C * NKV * HS + NH * HS * C + 3 * C * F;
  return V * C + L * perLayer + C + (config.tieWordEmbeddings ? 0 : V * C);
}
