import type { LlamaConfig, LoraConfig } from "../../../../nodes/src/engine/model/config.ts";
import { initLlamaWeights, type LlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter, type LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";
import type { GenerationTokenizer } from "../../../../nodes/src/engine/inference/generation-tokenizer.ts";

/** Tiny shapes with grouped-query attention (NH=4, NKV=2) so every test runs in milliseconds. */
export const CONFIG: LlamaConfig = {
  vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 64, tieWordEmbeddings: false, eosTokenId: 39,
};

export const LORA: LoraConfig = { rank: 2, alpha: 4, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] };

/** Weights large enough (std 0.3) that logits differ visibly between tokens, adapters and positions. */
export function tinyWeights(seed = 1): LlamaWeights {
  return initLlamaWeights(CONFIG, seed, 0.3);
}

/** An adapter whose B is random too (PEFT starts B at zero, which would make every adapter the base model). */
export function randomAdapter(seed: number, config: LoraConfig = LORA): LoraAdapter {
  const adapter = createLoraAdapter(CONFIG, config, { seed, baseModel: "tiny" });
  const rng = new Rng(seed + 1000);
  for (const { A, B } of adapter.weights.values()) {
    for (let i = 0; i < A.length; i++) A[i] *= 3;
    for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-0.5, 0.5);
  }
  return adapter;
}

/**
 * A character-level tokenizer over a 40-symbol alphabet: id i is ALPHABET[i]. The last id (39, the
 * eos) decodes to nothing, as special tokens do.
 */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz .,!?0123456789";
export const charTokenizer: GenerationTokenizer = {
  encode: (text) => [...text].map((ch) => {
    const id = ALPHABET.indexOf(ch);
    if (id === -1 || id >= 39) throw new Error(`No token for ${JSON.stringify(ch)}`);
    return id;
  }),
  decode: (ids) => ids.map((id) => (id === 39 ? "" : ALPHABET[id])).join(""),
};
