/**
 * The frozen base model the benchmark's adapter is trained on: a checkpoint folder when one is given
 * (Hugging Face layout, e.g. the project's own base model once it is trained), otherwise a small
 * randomly initialised Llama sized to the project tokenizer's 4096 ids.
 */
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import type { ScaledLlamaConfig } from "../../nodes/src/engine/formats/llama-config.ts";
import { loadModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import { initLlamaWeights, LM_HEAD, weightsOnBackend, type LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { BenchmarkInputError } from "./errors.ts";
import { writeSafetensors } from "../../nodes/src/engine/formats/safetensors.ts";
import { contentDigest } from "../../nodes/src/engine/train/tracin-checkpoint.ts";
import { baseModelDigest } from "../../nodes/src/attribution/recompute-output-gradients.ts";

export interface BaseModel {
  config: ScaledLlamaConfig;
  weights: LlamaWeights;
  /** What the report says the base was. */
  description: string;
  /** sha2-256 of its weights file (model.safetensors; for random weights, of their safetensors encoding). */
  digest: `0x${string}`;
}

/** C=128, L=2, NH=4, NKV=2: about 1.2M parameters, most of them the two 4096×128 embedding tables. */
export const RANDOM_BASE_CONFIG: ScaledLlamaConfig = {
  vocabSize: 4096, hiddenSize: 128, intermediateSize: 344, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 32,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 128, tieWordEmbeddings: false,
};

/**
 * Standard deviation of the random output head. The final RMSNorm makes |h| ≈ √C and a head row of
 * std σ has norm ≈ σ√C, so a logit can reach at most ≈ σ·C. With HF's 0.02 that is 2.6 at C = 128:
 * no adapter could make the frozen model confident of any token among 4096, the loss would stay
 * near ln V and the adapter's gradients would never become specific to what it learned. σ = 0.15
 * lets a logit reach ≈ 19.
 */
export const RANDOM_HEAD_STD = 0.15;

/** Seeded random weights (HF init), allocated with `alloc` so the backend's kernels use them in place; see RANDOM_HEAD_STD. */
export function randomBaseModel(seed: number, alloc: (n: number) => Float32Array): BaseModel {
  const config = RANDOM_BASE_CONFIG;
  const weights = initLlamaWeights(config, seed, 0.02, alloc);
  const head = weights.get(LM_HEAD)!;
  const rng = new Rng(seed + 1);
  for (let i = 0; i < head.length; i++) head[i] = rng.normal() * RANDOM_HEAD_STD;
  const digest = contentDigest(writeSafetensors(new Map([...weights].map(([name, data]) => [name, { shape: [data.length], data }]))));
  return { config, weights, digest, description: `random Llama (C=${config.hiddenSize}, L=${config.numLayers}, NH=${config.numHeads}, NKV=${config.numKvHeads}, V=${config.vocabSize}, seed ${seed})` };
}

/**
 * A Hugging Face model folder, its tensors copied into backend memory. The benchmark feeds it the
 * project tokenizer's ids, so it must be a model trained with that tokenizer (the project's own
 * base model); only that its vocabulary covers those ids can be checked here.
 */
export async function loadBaseModel(dir: string, backend: Backend, tokenizerVocab: number): Promise<BaseModel> {
  const folder = await loadModelFolder(dir);
  if (folder.config.vocabSize < tokenizerVocab) {
    throw new BenchmarkInputError(`The base model in ${dir} has ${folder.config.vocabSize} token ids; the benchmark's tokenizer needs ${tokenizerVocab}.`, {
      dir, modelVocab: folder.config.vocabSize, tokenizerVocab,
    });
  }
  const weights = weightsOnBackend(backend, [...folder.tensors].map(([name, t]) => [name, t.data]));
  return { config: folder.config, weights, digest: await baseModelDigest(dir), description: `checkpoint ${dir}` };
}
