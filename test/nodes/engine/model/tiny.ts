import type { LlamaConfig, LoraConfig } from "../../../../nodes/src/engine/model/config.ts";

/** The tiny shapes every engine test uses, so a whole-model gradient check runs in well under a second. */
export const TINY: LlamaConfig = {
  vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 64, tieWordEmbeddings: false,
};

export const TINY_LORA: LoraConfig = {
  rank: 2, alpha: 4, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
};
