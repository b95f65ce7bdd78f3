import type { WeightMatrix } from "../backend/backend.ts";
import { bf16ToF32, f16ToF32 } from "../formats/half-precision.ts";
import { requireSize } from "./errors.ts";

/**
 * Token embedding lookup (HF `model.embed_tokens`). Llama has no learned position embedding:
 * positions enter through RoPE inside attention.
 *
 * out [N, C] = wte[tokens[n], :] for every one of the N = B*T tokens. wte is [V, C].
 */
export function encoderForward(out: Float32Array, tokens: Int32Array, wte: Float32Array, N: number, C: number, V: number): void {
  requireSize("out", out, N * C);
  requireSize("tokens", tokens, N);
  requireSize("wte", wte, V * C);
  for (let n = 0; n < N; n++) {
    const token = tokens[n];
    if (token < 0 || token >= V) throw new RangeError(`Token id ${token} at position ${n} is outside the vocabulary [0, ${V}).`);
    out.set(wte.subarray(token * C, token * C + C), n * C);
  }
}

/** encoderForward over an embedding that may be half precision: each looked-up row is widened to float32 (exactly). */
export function encoderForwardWeights(out: Float32Array, tokens: Int32Array, wte: WeightMatrix, N: number, C: number, V: number): void {
  if (wte instanceof Float32Array) return encoderForward(out, tokens, wte, N, C, V);
  requireSize("out", out, N * C);
  requireSize("tokens", tokens, N);
  requireSize("wte", wte.bits, V * C);
  const widen = wte.dtype === "bf16" ? bf16ToF32 : f16ToF32;
  for (let n = 0; n < N; n++) {
    const token = tokens[n];
    if (token < 0 || token >= V) throw new RangeError(`Token id ${token} at position ${n} is outside the vocabulary [0, ${V}).`);
    widen(wte.bits.subarray(token * C, token * C + C), out.subarray(n * C, n * C + C));
  }
}

/** dwte [V, C] += dout [N, C] scattered back to the rows the forward read; a token seen twice gets both. */
export function encoderBackward(dwte: Float32Array, dout: Float32Array, tokens: Int32Array, N: number, C: number): void {
  requireSize("dout", dout, N * C);
  for (let n = 0; n < N; n++) {
    const row = tokens[n] * C;
    const src = n * C;
    for (let c = 0; c < C; c++) dwte[row + c] += dout[src + c];
  }
}
