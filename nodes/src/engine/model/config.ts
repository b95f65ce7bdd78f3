/**
 * Shapes of a Llama-architecture decoder, named once (llm.c style) and used everywhere:
 *   B batch, T time (sequence length), C = hiddenSize (channels), V = vocabSize,
 *   NH = numHeads, NKV = numKvHeads, HS = headDim, F = intermediateSize (SwiGLU width), L = numLayers.
 * Parsed from a Hugging Face `config.json` (LlamaForCausalLM) by `formats/llama-config.ts`.
 */
export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenId?: number | number[];
}

/** The projections a LoRA adapter may target, by their Hugging Face / PEFT module names. */
export type LoraTarget = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";

export const LORA_TARGETS: readonly LoraTarget[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** A LoRA adapter's hyper-parameters, as PEFT's adapter_config.json states them. */
export interface LoraConfig {
  rank: number;
  alpha: number;
  targetModules: LoraTarget[];
}
