import { InvalidShapeError, requireSize } from "./errors.ts";
import { softmaxInPlace } from "./softmax.ts";

/**
 * Causal grouped-query attention as HF's LlamaAttention (eager path) computes it:
 *   scores = q·kᵀ / sqrt(HS), causal mask, softmax in float32, out = probs·v
 * with NKV ≤ NH key/value heads. repeat_kv repeats each kv head NH/NKV times consecutively, so query
 * head h reads kv head floor(h / (NH/NKV)); no K/V copy is made here, the index does the repeat.
 *
 * Shapes (row-major, the projections' outputs as they come out of the matmuls, no transposes):
 *   q   [B, Tq, NH,  HS]     k, v [B, Tk, NKV, HS]     out [B, Tq, NH, HS]
 *   att [B, NH, Tq, Tk]      softmax probabilities, kept for the backward
 * Tq ≤ Tk: the queries are the LAST Tq positions of the Tk keys (Tq = Tk when training; with a KV
 * cache, Tk − Tq tokens were already cached), so query t sees keys j ≤ t + (Tk − Tq).
 * Masked entries of att stay 0, which lets the backward treat every row as a full row.
 */
export interface AttentionShape {
  B: number;
  Tq: number;
  Tk: number;
  NH: number;
  NKV: number;
  HS: number;
}

/** Throws InvalidShapeError for head counts that cannot be grouped, more queries than keys, or empty shapes. */
export function checkAttentionShape({ B, Tq, Tk, NH, NKV, HS }: AttentionShape): void {
  if (NKV <= 0 || NH % NKV !== 0) {
    throw new InvalidShapeError(`Query heads (${NH}) must be a multiple of key/value heads (${NKV}).`, { NH, NKV });
  }
  if (Tq > Tk) throw new InvalidShapeError(`More queries (${Tq}) than keys (${Tk}).`, { Tq, Tk });
  if (B <= 0 || Tq <= 0 || HS <= 0) throw new InvalidShapeError("Attention shapes must be positive.", { B, Tq, HS });
}

/** Checks the shape and the forward's buffers; shared by the plain and the matmul-based kernels. */
export function checkAttentionForwardBuffers(
  shape: AttentionShape, out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
): void {
  checkAttentionShape(shape);
  const { B, Tq, Tk, NH, NKV, HS } = shape;
  requireSize("q", q, B * Tq * NH * HS);
  requireSize("k", k, B * Tk * NKV * HS);
  requireSize("v", v, B * Tk * NKV * HS);
  requireSize("out", out, B * Tq * NH * HS);
  requireSize("att", att, B * NH * Tq * Tk);
}

/** Checks the shape and the backward's buffers; shared by the plain and the matmul-based kernels. */
export function checkAttentionBackwardBuffers(
  shape: AttentionShape, dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, att: Float32Array,
): void {
  checkAttentionShape(shape);
  const { B, Tq, Tk, NH, NKV, HS } = shape;
  requireSize("dq", dq, B * Tq * NH * HS);
  requireSize("dk", dk, B * Tk * NKV * HS);
  requireSize("dv", dv, B * Tk * NKV * HS);
  requireSize("dout", dout, B * Tq * NH * HS);
  requireSize("att", att, B * NH * Tq * Tk);
}

export function attentionForward(
  out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape,
): void {
  checkAttentionForwardBuffers(shape, out, att, q, k, v);
  const { B, Tq, Tk, NH, NKV, HS } = shape;
  const group = NH / NKV;
  const past = Tk - Tq;
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const qOff = ((b * Tq + t) * NH + h) * HS;
        const row = ((b * NH + h) * Tq + t) * Tk;
        const visible = t + past + 1;
        for (let j = 0; j < visible; j++) {
          const kOff = ((b * Tk + j) * NKV + kvh) * HS;
          let dot = 0;
          for (let i = 0; i < HS; i++) dot += q[qOff + i] * k[kOff + i];
          att[row + j] = dot * scale;
        }
        softmaxInPlace(att, row, visible);
        att.fill(0, row + visible, row + Tk);
        out.fill(0, qOff, qOff + HS);
        for (let j = 0; j < visible; j++) {
          const p = att[row + j];
          const vOff = ((b * Tk + j) * NKV + kvh) * HS;
          for (let i = 0; i < HS; i++) out[qOff + i] += p * v[vOff + i];
        }
      }
    }
  }
}

/**
 * Overwrites dq [B,Tq,NH,HS], dk and dv [B,Tk,NKV,HS]. A kv head's gradient sums over the NH/NKV
 * query heads that share it (the backward of repeat_kv). Per row, with P = att and dP = dout·vᵀ,
 * the softmax backward is dS = P ⊙ (dP − Σ_j P·dP); then dq = dS·k/√HS and dk = dSᵀ·q/√HS.
 */
export function attentionBackward(
  dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape,
): void {
  checkAttentionBackwardBuffers(shape, dq, dk, dv, dout, att);
  const { B, Tq, Tk, NH, NKV, HS } = shape;
  dq.fill(0, 0, B * Tq * NH * HS);
  dk.fill(0, 0, B * Tk * NKV * HS);
  dv.fill(0, 0, B * Tk * NKV * HS);
  const group = NH / NKV;
  const past = Tk - Tq;
  const scale = 1 / Math.sqrt(HS);
  const dScores = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const qOff = ((b * Tq + t) * NH + h) * HS;
        const row = ((b * NH + h) * Tq + t) * Tk;
        const visible = t + past + 1;
        let weighted = 0;
        for (let j = 0; j < visible; j++) {
          const vOff = ((b * Tk + j) * NKV + kvh) * HS;
          const p = att[row + j];
          let dp = 0;
          for (let i = 0; i < HS; i++) {
            dp += dout[qOff + i] * v[vOff + i];
            dv[vOff + i] += p * dout[qOff + i];
          }
          dScores[j] = dp;
          weighted += p * dp;
        }
        for (let j = 0; j < visible; j++) {
          const ds = att[row + j] * (dScores[j] - weighted) * scale;
          if (ds === 0) continue;
          const kOff = ((b * Tk + j) * NKV + kvh) * HS;
          for (let i = 0; i < HS; i++) {
            dq[qOff + i] += ds * k[kOff + i];
            dk[kOff + i] += ds * q[qOff + i];
          }
        }
      }
    }
  }
}
