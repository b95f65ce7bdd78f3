import type { Backend, WeightMatrix } from "../backend/backend.ts";
import type { LlamaConfig, LoraTarget } from "./config.ts";
import { layerWeightName } from "./weights.ts";
import { linearForward } from "../ops/linear.ts";
import { rmsnormForward } from "../ops/rmsnorm.ts";
import { ropeForward, type RopeTable } from "../ops/rope.ts";
import { residualForward } from "../ops/residual.ts";
import { swigluForward } from "../ops/swiglu.ts";

/**
 * One decoder layer's forward (HF LlamaDecoderLayer), the one implementation that training and
 * evaluation (LlamaModel) and serving (BatchedDecoder) both run:
 *   n = input_layernorm(x);  q, k, v = q/k/v_proj(n);  q, k = rope(q), rope(k)
 *   x2 = x + o_proj(attention(q, k, v))
 *   n = post_attention_layernorm(x2);  out = x2 + down_proj(silu(gate_proj(n)) · up_proj(n))
 * The two differ only where they must, and pass those parts in (LayerSteps):
 *   - projections: training runs one adapter's LoRA linear and keeps its low-rank hidden for the
 *     backward; serving runs the base projection once for the batch, then every adapter's update as
 *     one SGMV shrink and expand over rows gathered by adapter;
 *   - attention: training attends over the whole [B, T] block and keeps the probabilities for the
 *     backward; serving appends k and v to each sequence's (paged) KV cache and attends over it.
 * And in where they write (LayerBuffers): training keeps every intermediate for the backward;
 * serving updates one residual stream in place and reuses its scratch for every layer.
 */

/** One decoder layer's weights, nn.Linear layout [out, in]; M is float32 for training, or half precision when serving. */
export interface DecoderLayerWeights<M extends WeightMatrix = WeightMatrix> {
  inputNorm: Float32Array;         // [C]
  q: M;                            // [NH*HS, C]
  k: M;                            // [NKV*HS, C]
  v: M;                            // [NKV*HS, C]
  o: M;                            // [C, NH*HS]
  postAttentionNorm: Float32Array; // [C]
  gate: M;                         // [F, C]
  up: M;                           // [F, C]
  down: M;                         // [C, F]
}

/** Picks layer `layer`'s tensors by their Hugging Face names (checked by the caller), so a forward never builds a name. */
export function decoderLayerWeights<M extends WeightMatrix>(weights: ReadonlyMap<string, M | Float32Array>, layer: number): DecoderLayerWeights<M> {
  const get = (name: Parameters<typeof layerWeightName>[1]) => weights.get(layerWeightName(layer, name)) as M;
  const vector = (name: Parameters<typeof layerWeightName>[1]) => weights.get(layerWeightName(layer, name)) as Float32Array;
  return {
    inputNorm: vector("input_layernorm"),
    q: get("self_attn.q_proj"), k: get("self_attn.k_proj"), v: get("self_attn.v_proj"), o: get("self_attn.o_proj"),
    postAttentionNorm: vector("post_attention_layernorm"),
    gate: get("mlp.gate_proj"), up: get("mlp.up_proj"), down: get("mlp.down_proj"),
  };
}

/**
 * Where the layer reads and writes, for its N rows (QD = NH*HS, KVD = NKV*HS). Buffers may alias
 * where a caller keeps nothing: `residual2` and `out` may be `residual` (the stream updated in
 * place), `ln2` may be `ln1`; a null rstd or gateSigmoid is not kept.
 */
export interface LayerBuffers {
  residual: Float32Array;           // [N, C] the layer's input
  ln1: Float32Array;                // [N, C]
  rstd1: Float32Array | null;       // [N]
  q: Float32Array;                  // [N, QD] after RoPE
  k: Float32Array;                  // [N, KVD] after RoPE
  v: Float32Array;                  // [N, KVD]
  attnOut: Float32Array;            // [N, QD]
  proj: Float32Array;               // [N, C] o_proj, then down_proj, output before its residual add
  residual2: Float32Array;          // [N, C] after the attention block
  ln2: Float32Array;                // [N, C]
  rstd2: Float32Array | null;       // [N]
  gate: Float32Array;               // [N, F]
  up: Float32Array;                 // [N, F]
  gateSigmoid: Float32Array | null; // [N, F]
  act: Float32Array;                // [N, F] silu(gate)·up
  out: Float32Array;                // [N, C] the layer's output
}

/** The parts of a layer that training and serving compute differently (see above). */
export interface LayerSteps<M extends WeightMatrix = WeightMatrix> {
  /** out [N, OUT] = inp [N, IN] · weightᵀ plus the LoRA update of whichever adapter these rows use. */
  project(layer: number, target: LoraTarget, out: Float32Array, inp: Float32Array, weight: M, IN: number, OUT: number): void;
  /** attnOut [N, QD] = causal grouped-query attention of q over k, v (after RoPE). */
  attention(layer: number, attnOut: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array): void;
}

export function decoderLayerForward<M extends WeightMatrix>(
  config: LlamaConfig, layer: number, w: DecoderLayerWeights<M>, b: LayerBuffers, steps: LayerSteps<M>,
  positions: Int32Array, rope: RopeTable, N: number,
): void {
  const { hiddenSize: C, intermediateSize: F, numHeads: NH, numKvHeads: NKV, headDim: HS, rmsNormEps: eps } = config;
  const QD = NH * HS;
  const KVD = NKV * HS;
  rmsnormForward(b.ln1, b.rstd1, b.residual, w.inputNorm, N, C, eps);
  steps.project(layer, "q_proj", b.q, b.ln1, w.q, C, QD);
  steps.project(layer, "k_proj", b.k, b.ln1, w.k, C, KVD);
  steps.project(layer, "v_proj", b.v, b.ln1, w.v, C, KVD);
  ropeForward(b.q, b.q, positions, rope, N, NH, HS);
  ropeForward(b.k, b.k, positions, rope, N, NKV, HS);
  steps.attention(layer, b.attnOut, b.q, b.k, b.v);
  steps.project(layer, "o_proj", b.proj, b.attnOut, w.o, QD, C);
  residualForward(b.residual2, b.residual, b.proj, N * C);

  rmsnormForward(b.ln2, b.rstd2, b.residual2, w.postAttentionNorm, N, C, eps);
  steps.project(layer, "gate_proj", b.gate, b.ln2, w.gate, C, F);
  steps.project(layer, "up_proj", b.up, b.ln2, w.up, C, F);
  swigluForward(b.act, b.gate, b.up, N * F, b.gateSigmoid);
  steps.project(layer, "down_proj", b.proj, b.act, w.down, F, C);
  residualForward(b.out, b.residual2, b.proj, N * C);
}

/**
 * After the last layer: logits [R, V] = lm_head(norm(hidden)) for the R rows of `hidden` [R, C].
 * `normed` [R, C] receives norm(hidden) (it may be `hidden` itself when nothing is kept), `rstd` [R]
 * its 1/rms when the backward needs it. lmHead is the embedding itself when tieWordEmbeddings.
 */
export function outputHeadForward<M extends WeightMatrix>(
  backend: Backend, config: LlamaConfig, logits: Float32Array, normed: Float32Array, rstd: Float32Array | null,
  hidden: Float32Array, finalNorm: Float32Array, lmHead: M, R: number,
): void {
  const { hiddenSize: C, vocabSize: V, rmsNormEps: eps } = config;
  rmsnormForward(normed, rstd, hidden, finalNorm, R, C, eps);
  linearForward(backend, logits, normed, lmHead, R, C, V);
}
