import { InvalidShapeError, requireSize } from "./errors.ts";

/**
 * Rotary position embedding, Hugging Face's `rotate_half` convention (LlamaRotaryEmbedding +
 * apply_rotary_pos_emb). A head vector of size HS is split into halves, and dimension i is rotated
 * together with dimension i + HS/2 (NOT with its neighbour 2i+1 as in the original RoPE paper and
 * Meta's checkpoint layout; HF permutes q/k weights at conversion so this convention is the one
 * that matches HF weights):
 *   out[i]        = x[i]·cos(p·f_i) − x[i+HS/2]·sin(p·f_i)
 *   out[i+HS/2]   = x[i+HS/2]·cos(p·f_i) + x[i]·sin(p·f_i)
 * for i < HS/2, position p and inverse frequency f_i = theta^(−2i/HS).
 */

/** Default inverse frequencies theta^(−2i/HS), i < HS/2. Pass others (llama3 scaling...) to ropeTable. */
export function ropeInverseFrequencies(HS: number, theta: number): Float32Array {
  if (HS % 2 !== 0) throw new InvalidShapeError(`RoPE needs an even head size, got ${HS}.`, { HS });
  const half = HS / 2;
  const invFreq = new Float32Array(half);
  // HF computes this in float32: 1 / base^(arange(0, dim, 2) / dim).
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / HS);
  return invFreq;
}

/** cos and sin of p·f_i for every position p < maxPositions, [maxPositions, HS/2] each. */
export interface RopeTable {
  readonly half: number;
  readonly maxPositions: number;
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

export function ropeTable(invFreq: Float32Array, maxPositions: number): RopeTable {
  const half = invFreq.length;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      // HF forms p·f_i as a float32 product before taking cos/sin; Math.fround keeps the same angle.
      const angle = Math.fround(p * invFreq[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { half, maxPositions, cos, sin };
}

/** Positions 0..T−1 (plus `offset`, the tokens already in a KV cache) for each of B sequences: [B*T]. */
export function sequencePositions(B: number, T: number, offset = 0): Int32Array {
  const positions = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = offset + t;
  return positions;
}

/**
 * out, inp [N, nHeads, HS] (the q or k projection's output as is); positions [N].
 * `out` may be `inp` (in place): each pair is read before it is written.
 */
export function ropeForward(
  out: Float32Array, inp: Float32Array, positions: Int32Array, table: RopeTable, N: number, nHeads: number, HS: number,
): void {
  rotate(out, inp, positions, table, N, nHeads, HS, 1);
}

/**
 * The rotation is orthogonal, so its backward is the rotation by −angle: din = Rᵀ·dout.
 * dinp may be dout (in place). Overwrites dinp.
 */
export function ropeBackward(
  dinp: Float32Array, dout: Float32Array, positions: Int32Array, table: RopeTable, N: number, nHeads: number, HS: number,
): void {
  rotate(dinp, dout, positions, table, N, nHeads, HS, -1);
}

function rotate(
  out: Float32Array, inp: Float32Array, positions: Int32Array, table: RopeTable, N: number, nHeads: number, HS: number,
  direction: 1 | -1,
): void {
  const half = HS / 2;
  if (table.half !== half) throw new InvalidShapeError(`RoPE table is for head size ${table.half * 2}, not ${HS}.`, { tableHS: table.half * 2, HS });
  requireSize("inp", inp, N * nHeads * HS);
  requireSize("out", out, N * nHeads * HS);
  requireSize("positions", positions, N);
  for (let n = 0; n < N; n++) {
    const p = positions[n];
    if (p < 0 || p >= table.maxPositions) throw new RangeError(`Position ${p} is outside the RoPE table [0, ${table.maxPositions}).`);
    const trig = p * half;
    for (let h = 0; h < nHeads; h++) {
      const base = (n * nHeads + h) * HS;
      for (let i = 0; i < half; i++) {
        const c = table.cos[trig + i];
        const s = direction * table.sin[trig + i];
        const x1 = inp[base + i];
        const x2 = inp[base + i + half];
        out[base + i] = x1 * c - x2 * s;
        out[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}
