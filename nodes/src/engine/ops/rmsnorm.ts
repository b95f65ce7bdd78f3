import { requireSize } from "./errors.ts";

/**
 * RMSNorm as Hugging Face's LlamaRMSNorm computes it, in float32:
 *   y = weight * (x * rsqrt(mean(x²) + eps))
 * No mean subtraction and no bias, unlike LayerNorm.
 *
 * inp, out [N, C]; weight [C]; rstd [N] keeps 1/rms per row because the backward needs it.
 */
export function rmsnormForward(
  out: Float32Array, rstd: Float32Array | null, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number,
): void {
  requireSize("out", out, N * C);
  requireSize("inp", inp, N * C);
  requireSize("weight", weight, C);
  for (let n = 0; n < N; n++) {
    const base = n * C;
    let sumSq = 0;
    for (let c = 0; c < C; c++) sumSq += inp[base + c] * inp[base + c];
    const r = 1 / Math.sqrt(sumSq / C + eps);
    if (rstd) rstd[n] = r;
    for (let c = 0; c < C; c++) out[base + c] = weight[c] * (inp[base + c] * r);
  }
}

/**
 * With g = weight ⊙ dout and r = rstd:
 *   dx = r·g − x · r³ · (Σ g·x) / C      (the second term is the gradient through r)
 *   dweight += dout ⊙ x · r
 * dinp is accumulated (+=) because it joins the residual stream's gradient. dweight is null when
 * the norm's weight is frozen (LoRA training).
 */
export function rmsnormBackward(
  dinp: Float32Array, dweight: Float32Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array,
  rstd: Float32Array, N: number, C: number,
): void {
  requireSize("dinp", dinp, N * C);
  requireSize("dout", dout, N * C);
  for (let n = 0; n < N; n++) {
    const base = n * C;
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += weight[c] * dout[base + c] * inp[base + c];
    const k = (r * r * r * dot) / C;
    for (let c = 0; c < C; c++) {
      dinp[base + c] += r * weight[c] * dout[base + c] - k * inp[base + c];
    }
    if (dweight) for (let c = 0; c < C; c++) dweight[c] += dout[base + c] * inp[base + c] * r;
  }
}
