import type { LlamaConfig, LoraConfig, LoraTarget } from "../../nodes/src/engine/model/config.ts";

/**
 * One training configuration both sides run, in the short names torch_lora.py reads:
 *   C hidden size, L layers, NH query heads, NKV key/value heads, F SwiGLU width, V vocabulary,
 *   T sequence length, B batch, r LoRA rank, alpha LoRA alpha, targets the adapted projections.
 */
export interface PeerConfig {
  name: string;
  C: number;
  L: number;
  NH: number;
  NKV: number;
  F: number;
  V: number;
  T: number;
  B: number;
  r: number;
  alpha: number;
  targets: LoraTarget[];
  tied: boolean;
  /** Timed steps per round unless --steps says otherwise: enough that one step slowed by another process moves the median little. */
  steps: number;
}

/** How each side runs a configuration: the same for both. */
export interface RunSettings {
  /** Timed optimizer steps per round. */
  steps: number;
  /** Untimed steps before them (allocation, page faults, JIT and WASM tier-up). */
  warmup: number;
  threads: number;
  learningRate: number;
}

/** What one side measured in one round: the timed steps' durations and the last step's loss. */
export interface RoundResult {
  stepSeconds: number[];
  loss: number;
}

/** The benchmark's model (bench/inference uses the same shapes) and a tiny one where fixed costs dominate. */
export const PEER_CONFIGS: readonly PeerConfig[] = [
  { name: "small", C: 256, L: 4, NH: 8, NKV: 4, F: 688, V: 4096, T: 128, B: 8, r: 8, alpha: 16, targets: ["q_proj", "k_proj", "v_proj", "o_proj"], tied: false, steps: 6 },
  { name: "tiny", C: 64, L: 2, NH: 4, NKV: 2, F: 172, V: 512, T: 32, B: 4, r: 4, alpha: 8, targets: ["q_proj", "k_proj", "v_proj", "o_proj"], tied: false, steps: 40 },
];

/** The engine's model config for a peer config (RMSNorm eps 1e-5 and RoPE theta 10000, as torch_lora.py uses). */
export function llamaConfigOf(config: PeerConfig): LlamaConfig {
  return {
    vocabSize: config.V, hiddenSize: config.C, intermediateSize: config.F, numLayers: config.L,
    numHeads: config.NH, numKvHeads: config.NKV, headDim: config.C / config.NH,
    rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: config.T, tieWordEmbeddings: config.tied,
  };
}

export function loraConfigOf(config: PeerConfig): LoraConfig {
  return { rank: config.r, alpha: config.alpha, targetModules: [...config.targets] };
}

/** A one-line description for logs and the report. */
export function describeConfig(config: PeerConfig): string {
  const { C, L, NH, NKV, F, V, T, B, r, alpha, targets, tied } = config;
  return `C=${C} L=${L} NH=${NH} NKV=${NKV} F=${F} V=${V}${tied ? " (tied)" : ""}, B=${B} T=${T}, LoRA r=${r} alpha=${alpha} on ${targets.join(",")}`;
}
