import { join } from "node:path";
import type { ScaledLlamaConfig } from "../../nodes/src/engine/formats/llama-config.ts";
import { loadModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import type { LlamaConfig } from "../../nodes/src/engine/model/config.ts";
import type { LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { BenchOptionError } from "./errors.ts";
import { BENCH_MODEL, benchWeights } from "./random-model.ts";

/** The run's workload knobs; each preset sizes them so one full run stays within a few minutes on 2 cores. */
export interface Workload {
  requests: number;
  maxTokens: number;
  prompt: number;
  batch: number;
  repeats: number;
  naiveRequests: number;
  coldLoads: number;
}

/** A base model to serve: its config and weights, allocated through the backend so its kernels read them in place. */
export interface BenchModel {
  config: ScaledLlamaConfig;
  weights: LlamaWeights;
  /** One line for the results: where the weights come from. */
  source: string;
}

export interface ModelPreset {
  workload: Workload;
  load(alloc: (n: number) => Float32Array): Promise<BenchModel>;
}

/**
 * SmolLM2-135M's exact shape (HuggingFaceTB/SmolLM2-135M config.json): a real served model size,
 * 135M parameters, 540 MB of float32. No weights can be had here, so they are random; speed does
 * not depend on their values.
 */
export const SMOLLM2_135M: LlamaConfig = {
  vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64,
  rmsNormEps: 1e-5, ropeTheta: 100000, maxPositionEmbeddings: 8192, tieWordEmbeddings: true,
};

/** The project's own committed base model (scripts/base-model/ trains it). */
export const BASE_MODEL_FOLDER = new URL("../../models/tributary-base-v0/", import.meta.url).pathname;

export const MODEL_PRESETS: Record<string, ModelPreset> = {
  small: {
    workload: { requests: 1000, maxTokens: 16, prompt: 8, batch: 32, repeats: 3, naiveRequests: 48, coldLoads: 25 },
    load: async (alloc) => ({ config: BENCH_MODEL, weights: benchWeights(alloc), source: "random weights" }),
  },
  "smollm2-135m": {
    // A decode step reads 540 MB of weights, so a batch shares that read among 64 rows (serving stacks batch 64 and more);
    // 256 requests × 16 tokens per configuration keep a run near 5 minutes.
    workload: { requests: 256, maxTokens: 16, prompt: 8, batch: 64, repeats: 2, naiveRequests: 6, coldLoads: 10 },
    load: async (alloc) => ({ config: SMOLLM2_135M, weights: benchWeights(alloc, SMOLLM2_135M, 0.02), source: "random weights, SmolLM2-135M's shape" }),
  },
  "tributary-base-v0": {
    workload: { requests: 1000, maxTokens: 16, prompt: 8, batch: 32, repeats: 3, naiveRequests: 48, coldLoads: 25 },
    load: loadBaseModelFolder,
  },
};

export function modelPreset(name: string): ModelPreset {
  const preset = MODEL_PRESETS[name];
  if (preset === undefined) throw new BenchOptionError("model", name, `is not a preset; use one of ${Object.keys(MODEL_PRESETS).join(", ")}`);
  return preset;
}

/** Reads models/tributary-base-v0/ (a Hugging Face model folder) and copies its weights into backend memory. */
async function loadBaseModelFolder(alloc: (n: number) => Float32Array): Promise<BenchModel> {
  let folder;
  try {
    folder = await loadModelFolder(BASE_MODEL_FOLDER);
  } catch (cause) {
    throw new BenchOptionError("model", "tributary-base-v0", `cannot load ${join(BASE_MODEL_FOLDER)} (${(cause as Error).message})`);
  }
  const weights: LlamaWeights = new Map();
  for (const [name, tensor] of folder.tensors) {
    const data = alloc(tensor.data.length);
    data.set(tensor.data);
    weights.set(name, data);
  }
  // Speed is what is measured: without an eos every request runs to its token limit, so every
  // configuration generates the same tokens' worth of work (a trained model samples eos at random points).
  const { eosTokenId: _eos, ...config } = folder.config;
  return { config, weights, source: "trained weights from models/tributary-base-v0/ (eos ignored)" };
}
