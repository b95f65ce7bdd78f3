/** Test helpers: a tiny random Llama checkpoint and a byte-level tokenizer trained on a few sentences. */
import type { LlamaConfig } from "../../../../nodes/src/engine/model/config.ts";
import type { SafetensorsTensor } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { expectedLlamaTensors } from "../../../../nodes/src/engine/formats/llama-tensors.ts";
import { trainByteLevelBpe } from "../../../../nodes/src/engine/tokenizer/train-bpe.ts";
import { CHATML_TEMPLATE, toTokenizerConfigJson, toTokenizerJson } from "../../../../nodes/src/engine/tokenizer/bpe-files.ts";

export const TINY_CONFIG: LlamaConfig = {
  vocabSize: 300, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 64, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 0,
};

/** Deterministic pseudo-random values (a linear congruential generator), so failures reproduce. */
export function randomValues(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 32 - 0.5;
  }
  return out;
}

export function tinyTensors(config: LlamaConfig = TINY_CONFIG): Map<string, SafetensorsTensor> {
  const tensors = new Map<string, SafetensorsTensor>();
  let seed = 1;
  for (const [name, shape] of expectedLlamaTensors(config)) {
    tensors.set(name, { dtype: "F32", shape, data: randomValues(shape.reduce((a, b) => a * b, 1), seed++) });
  }
  return tensors;
}

export function tinyTokenizerFiles(vocabSize = 300): { tokenizerJson: Record<string, unknown>; tokenizerConfigJson: Record<string, unknown> } {
  const text = Array.from({ length: 300 }, (_, i) => `The whale ${i} swam under ship ${i * 7}; sailors watched ${i % 13} whales.`).join(" ");
  const trained = trainByteLevelBpe([text], { vocabSize, specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] });
  return { tokenizerJson: toTokenizerJson(trained), tokenizerConfigJson: toTokenizerConfigJson(trained, { chatTemplate: CHATML_TEMPLATE }) };
}
