import type { LlamaConfig, LoraTarget } from "./config.ts";
import { allocateAttentionScratch, type AttentionScratch } from "../ops/attention-matmul.ts";

/**
 * Everything the forward keeps for the backward, and the backward's scratch, allocated once per
 * (B, T) and reused by every step with that shape (llm.c's ActivationTensors). N = B*T tokens,
 * QD = NH*HS (query width), KVD = NKV*HS (key/value width).
 *
 * When the backward stops above layer 0 (a gradient of the last `keptLayers` layers only), the
 * layers below it keep nothing: they all run in one shared set of buffers, each layer overwriting
 * the one before. The forward's arithmetic is the same; only where it writes changes.
 */
export interface LayerActivations {
  residual: Float32Array;   // [N, C] the layer's input (the residual stream)
  ln1: Float32Array;        // [N, C] input_layernorm output, the input of q/k/v
  rstd1: Float32Array;      // [N]
  q: Float32Array;          // [N, QD] after RoPE (the backward of RoPE needs no input)
  k: Float32Array;          // [N, KVD] after RoPE
  v: Float32Array;          // [N, KVD]
  att: Float32Array;        // [B, NH, T, T] softmax probabilities
  attnOut: Float32Array;    // [N, QD] the input of o_proj
  residual2: Float32Array;  // [N, C] residual stream after the attention block
  ln2: Float32Array;        // [N, C] post_attention_layernorm output, the input of gate/up
  rstd2: Float32Array;      // [N]
  gate: Float32Array;       // [N, F]
  up: Float32Array;         // [N, F]
  gateSigmoid: Float32Array; // [N, F] sigmoid(gate), so the backward does not recompute its exp
  act: Float32Array;        // [N, F] silu(gate)·up, the input of down_proj
  loraHidden: Map<LoraTarget, Float32Array>; // [N, r] scale·x·Aᵀ per adapted projection
}

export interface Activations {
  B: number;
  T: number;
  N: number;
  loraRank: number;
  loraTargets: readonly LoraTarget[];
  /** The last keptLayers layers have buffers of their own (the backward runs through them); the rest share one set. */
  keptLayers: number;
  layers: LayerActivations[];
  output: Float32Array;     // [N, C] residual stream after the last layer
  lnf: Float32Array;        // [N, C] final norm output, the input of lm_head
  rstdf: Float32Array;      // [N]
  logits: Float32Array;     // [N, V]
  probs: Float32Array;      // [N, V] softmax; the backward turns it into dlogits in place
  losses: Float32Array;     // [N] per-token loss, 0 where the target is ignored
  positions: Int32Array;    // [N]
  proj: Float32Array;       // [N, C] scratch: o_proj and down_proj outputs before the residual add
  attention: AttentionScratch; // per-head blocks for attention's matmuls
  // Backward scratch.
  dres: Float32Array;       // [N, C] gradient of the residual stream
  dln: Float32Array;        // [N, C] gradient of a norm's output
  dq: Float32Array;         // [N, QD]
  dk: Float32Array;         // [N, KVD]
  dv: Float32Array;         // [N, KVD]
  dattnOut: Float32Array;   // [N, QD]
  dgate: Float32Array;      // [N, F]
  dup: Float32Array;        // [N, F]
  dact: Float32Array;       // [N, F]
  dhidden: Float32Array;    // [N, r]
}

export function allocateActivations(
  config: LlamaConfig, B: number, T: number, lora: { rank: number; targets: readonly LoraTarget[] } | null,
  alloc: (n: number) => Float32Array, keptLayers = config.numLayers,
): Activations {
  const { hiddenSize: C, intermediateSize: F, vocabSize: V, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  const N = B * T;
  const QD = NH * HS;
  const KVD = NKV * HS;
  const rank = lora?.rank ?? 0;
  const layerBuffers = (): LayerActivations => {
    const loraHidden = new Map<LoraTarget, Float32Array>();
    for (const target of lora?.targets ?? []) loraHidden.set(target, alloc(N * rank));
    return {
      residual: alloc(N * C), ln1: alloc(N * C), rstd1: alloc(N),
      q: alloc(N * QD), k: alloc(N * KVD), v: alloc(N * KVD), att: alloc(B * NH * T * T), attnOut: alloc(N * QD),
      residual2: alloc(N * C), ln2: alloc(N * C), rstd2: alloc(N),
      gate: alloc(N * F), up: alloc(N * F), gateSigmoid: alloc(N * F), act: alloc(N * F), loraHidden,
    };
  };
  const firstKept = config.numLayers - keptLayers;
  const shared = firstKept > 0 ? layerBuffers() : null;
  const layers: LayerActivations[] = [];
  for (let l = 0; l < config.numLayers; l++) layers.push(l < firstKept ? shared! : layerBuffers());
  const positions = new Int32Array(N);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = t;
  return {
    B, T, N, loraRank: rank, loraTargets: [...(lora?.targets ?? [])], keptLayers, layers,
    output: alloc(N * C), lnf: alloc(N * C), rstdf: alloc(N), logits: alloc(N * V), probs: alloc(N * V), losses: alloc(N),
    positions, proj: alloc(N * C),
    attention: allocateAttentionScratch({ B, Tq: T, Tk: T, NH, NKV, HS }, alloc),
    dres: alloc(N * C), dln: alloc(N * C), dq: alloc(N * QD), dk: alloc(N * KVD), dv: alloc(N * KVD), dattnOut: alloc(N * QD),
    dgate: alloc(N * F), dup: alloc(N * F), dact: alloc(N * F), dhidden: alloc(N * Math.max(rank, 1)),
  };
}

/** Every Float32Array of a set of activations, once each (positions is a plain Int32Array), so they can all be given back. */
export function activationBuffers(acts: Activations): Float32Array[] {
  const buffers: Float32Array[] = [];
  const collect = (record: object) => {
    for (const value of Object.values(record)) if (value instanceof Float32Array) buffers.push(value);
  };
  for (const layer of new Set(acts.layers)) {
    collect(layer);
    buffers.push(...layer.loraHidden.values());
  }
  collect(acts);
  collect(acts.attention);
  return buffers;
}
