import type { Backend } from "../backend/backend.ts";
import { checkAttentionBackwardBuffers, checkAttentionForwardBuffers, type AttentionShape } from "./attention.ts";
import { requireSize } from "./errors.ts";
import { fastExp } from "./exp.ts";

/**
 * The same causal grouped-query attention as attention.ts (same shapes, same results), with its
 * two products per head, q·kᵀ and P·v (and their backward products), done as matmuls through the
 * backend. The plain loops run at ~1 GFLOP/s in JavaScript; a fast backend's matmul is one to two
 * orders faster even at 64×32×64, and attention is the part of the model that grows as T².
 *
 * Heads are interleaved in the projections' outputs ([N, heads, HS]), so each head's q, k, v are
 * first gathered into contiguous [T, HS] blocks (the scratch below); att is already [B, NH, Tq, Tk],
 * so each head's probability block is used in place. Causal masking zeroes the hidden entries of
 * P, so the full-width products stay correct; they only spend work on zeros.
 */
export interface AttentionScratch {
  qh: Float32Array;   // [Tq, HS] one query head
  kh: Float32Array;   // [Tk, HS] one kv head
  vh: Float32Array;   // [Tk, HS]
  oh: Float32Array;   // [Tq, HS] output, or in the backward dout, of one head
  dqh: Float32Array;  // [Tq, HS]
  dkh: Float32Array;  // [Tk, HS] summed over the query heads of one kv head
  dvh: Float32Array;  // [Tk, HS]
  datt: Float32Array; // [Tq, Tk]
}

export function allocateAttentionScratch(shape: AttentionShape, alloc: (n: number) => Float32Array): AttentionScratch {
  const { Tq, Tk, HS } = shape;
  return {
    qh: alloc(Tq * HS), kh: alloc(Tk * HS), vh: alloc(Tk * HS), oh: alloc(Tq * HS),
    dqh: alloc(Tq * HS), dkh: alloc(Tk * HS), dvh: alloc(Tk * HS), datt: alloc(Tq * Tk),
  };
}

function checkScratch(scratch: AttentionScratch, { Tq, Tk, HS }: AttentionShape): void {
  requireSize("scratch.qh", scratch.qh, Tq * HS);
  requireSize("scratch.kh", scratch.kh, Tk * HS);
  requireSize("scratch.vh", scratch.vh, Tk * HS);
  requireSize("scratch.oh", scratch.oh, Tq * HS);
  requireSize("scratch.dqh", scratch.dqh, Tq * HS);
  requireSize("scratch.dkh", scratch.dkh, Tk * HS);
  requireSize("scratch.dvh", scratch.dvh, Tk * HS);
  requireSize("scratch.datt", scratch.datt, Tq * Tk);
}

/** Copies head `head` of rows [row0, row0+T) of a [rows, heads, HS] tensor into a contiguous [T, HS] block. */
// Element loops, not set(subarray(...)): a head is a few dozen floats, and a view per row cost more than the copy.
function gatherHead(dst: Float32Array, src: Float32Array, row0: number, T: number, heads: number, head: number, HS: number): void {
  for (let t = 0; t < T; t++) {
    const from = ((row0 + t) * heads + head) * HS;
    const to = t * HS;
    for (let d = 0; d < HS; d++) dst[to + d] = src[from + d];
  }
}

function scatterHead(dst: Float32Array, src: Float32Array, row0: number, T: number, heads: number, head: number, HS: number): void {
  for (let t = 0; t < T; t++) {
    const from = t * HS;
    const to = ((row0 + t) * heads + head) * HS;
    for (let d = 0; d < HS; d++) dst[to + d] = src[from + d];
  }
}

export function attentionMatmulForward(
  backend: Backend, scratch: AttentionScratch, out: Float32Array, att: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape,
): void {
  checkAttentionForwardBuffers(shape, out, att, q, k, v);
  const { B, Tq, Tk, NH, NKV, HS } = shape;
  checkScratch(scratch, shape);
  const { qh, kh, vh, oh } = scratch;
  const group = NH / NKV;
  const past = Tk - Tq;
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < NKV; g++) {
      gatherHead(kh, k, b * Tk, Tk, NKV, g, HS);
      gatherHead(vh, v, b * Tk, Tk, NKV, g, HS);
      for (let h = g * group; h < (g + 1) * group; h++) {
        gatherHead(qh, q, b * Tq, Tq, NH, h, HS);
        const block = (b * NH + h) * Tq * Tk;
        const scores = att.subarray(block, block + Tq * Tk);
        backend.matmul(scores, qh, kh, Tq, HS, Tk, { transB: true });
        for (let t = 0; t < Tq; t++) {
          const row = t * Tk;
          const visible = t + past + 1;
          let max = -Infinity;
          for (let j = 0; j < visible; j++) {
            const s = scores[row + j] * scale;
            scores[row + j] = s;
            if (s > max) max = s;
          }
          let sum = 0;
          for (let j = 0; j < visible; j++) {
            const e = fastExp(scores[row + j] - max);
            scores[row + j] = e;
            sum += e;
          }
          const inv = 1 / sum;
          for (let j = 0; j < visible; j++) scores[row + j] *= inv;
          scores.fill(0, row + visible, row + Tk);
        }
        backend.matmul(oh, scores, vh, Tq, Tk, HS);
        scatterHead(out, oh, b * Tq, Tq, NH, h, HS);
      }
    }
  }
}

/**
 * Overwrites dq, dk, dv. Per head, with P = att and dP = dout·vᵀ:
 *   dv += Pᵀ·dout,  dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √HS,  dq = dS·k,  dk += dSᵀ·q
 * dk and dv of a kv head sum over its NH/NKV query heads (the backward of repeat_kv).
 */
export function attentionMatmulBackward(
  backend: Backend, scratch: AttentionScratch, dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape,
): void {
  checkAttentionBackwardBuffers(shape, dq, dk, dv, dout, att);
  const { B, Tq, Tk, NH, NKV, HS } = shape;
  checkScratch(scratch, shape);
  const { qh, kh, vh, oh: douth, dqh, dkh, dvh, datt } = scratch;
  const group = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < NKV; g++) {
      gatherHead(kh, k, b * Tk, Tk, NKV, g, HS);
      gatherHead(vh, v, b * Tk, Tk, NKV, g, HS);
      dkh.fill(0);
      dvh.fill(0);
      for (let h = g * group; h < (g + 1) * group; h++) {
        gatherHead(qh, q, b * Tq, Tq, NH, h, HS);
        gatherHead(douth, dout, b * Tq, Tq, NH, h, HS);
        const block = (b * NH + h) * Tq * Tk;
        const probs = att.subarray(block, block + Tq * Tk);
        backend.matmul(datt, douth, vh, Tq, HS, Tk, { transB: true });
        backend.matmul(dvh, probs, douth, Tk, Tq, HS, { transA: true, accumulate: true });
        for (let t = 0; t < Tq; t++) {
          const row = t * Tk;
          let weighted = 0;
          for (let j = 0; j < Tk; j++) weighted += probs[row + j] * datt[row + j];
          for (let j = 0; j < Tk; j++) datt[row + j] = probs[row + j] * (datt[row + j] - weighted) * scale;
        }
        backend.matmul(dqh, datt, kh, Tq, Tk, HS);
        scatterHead(dq, dqh, b * Tq, Tq, NH, h, HS);
        backend.matmul(dkh, datt, qh, Tk, Tq, HS, { transA: true, accumulate: true });
      }
      scatterHead(dk, dkh, b * Tk, Tk, NKV, g, HS);
      scatterHead(dv, dvh, b * Tk, Tk, NKV, g, HS);
    }
  }
}
