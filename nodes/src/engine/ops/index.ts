/** The engine's layer pairs (forward beside backward), for the model, training and inference. */
export { BufferSizeError, InvalidShapeError, requireSize } from "./errors.ts";
export { encoderForward, encoderBackward } from "./encoder.ts";
export { rmsnormForward, rmsnormBackward } from "./rmsnorm.ts";
export { ropeInverseFrequencies, ropeTable, sequencePositions, ropeForward, ropeBackward, type RopeTable } from "./rope.ts";
export { attentionForward, attentionBackward, checkAttentionShape, type AttentionShape } from "./attention.ts";
export { attentionCachedForward, type CachedAttentionShape } from "./attention-cached.ts";
export { attentionMatmulForward, attentionMatmulBackward, allocateAttentionScratch, type AttentionScratch } from "./attention-matmul.ts";
export { silu, swigluForward, swigluBackward } from "./swiglu.ts";
export { linearForward, linearBackward } from "./linear.ts";
export { loraLinearForward, loraLinearBackward, type LoraFactors, type LoraLinearShape } from "./lora-linear.ts";
export { softmaxInPlace, logSumExp } from "./softmax.ts";
export { IGNORE_INDEX, crossEntropyForward, crossEntropyBackward } from "./cross-entropy.ts";
