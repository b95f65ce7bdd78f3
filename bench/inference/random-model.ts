import type { LlamaConfig, LoraConfig } from "../../nodes/src/engine/model/config.ts";
import { initLlamaWeights, type LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter, type LoraAdapter } from "../../nodes/src/engine/lora/adapter.ts";
import { Rng } from "../../nodes/src/engine/train/rng.ts";

/**
 * The benchmark's small random Llama: C=256, L=4, V=4096, NH=8, NKV=4 (HS=32), F=688. No eos, so
 * every request runs to maxTokens and all configurations generate the same number of tokens.
 */
export const BENCH_MODEL: LlamaConfig = {
  vocabSize: 4096, hiddenSize: 256, intermediateSize: 688, numLayers: 4, numHeads: 8, numKvHeads: 4, headDim: 32,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 256, tieWordEmbeddings: false,
};

export const BENCH_LORA: LoraConfig = { rank: 8, alpha: 16, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj"] };

/** Allocated through the backend (`alloc`) so its kernels read the weights in place instead of copying them every call. */
export function benchWeights(alloc: (n: number) => Float32Array, config: LlamaConfig = BENCH_MODEL, initializerRange = 0.05, seed = 1): LlamaWeights {
  return initLlamaWeights(config, seed, initializerRange, alloc);
}

/** A rank-8 adapter with both factors random (a trained adapter's B is not zero). */
export function benchAdapter(seed: number, config: LlamaConfig = BENCH_MODEL): LoraAdapter {
  const adapter = createLoraAdapter(config, BENCH_LORA, { seed, baseModel: "bench" });
  const rng = new Rng(seed ^ 0x5bd1e995);
  for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-0.02, 0.02);
  return adapter;
}
