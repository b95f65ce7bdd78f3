import type { Backend } from "../backend/backend.ts";
import { requireSize } from "./errors.ts";

/** One LoRA update of a [OUT, IN] linear: A [r, IN], B [OUT, r], as PEFT stores lora_A / lora_B. */
export interface LoraFactors {
  A: Float32Array;
  B: Float32Array;
}

/** Shapes and the PEFT scaling factor alpha / r of one LoRA linear. */
export interface LoraLinearShape {
  N: number;
  IN: number;
  OUT: number;
  rank: number;
  scale: number;
}

/**
 * PEFT's LoRA Linear (dropout 0, no DoRA, no bias on the factors):
 *   out [N, OUT] = inp·Wᵀ + scale · (inp·Aᵀ)·Bᵀ,   scale = alpha / r
 * The base product and the low-rank path are two separate matmuls; W + scale·B·A is never formed,
 * so one base weight serves many adapters (the multi-adapter serving idea) and dW is never needed.
 *
 * hidden [N, r] receives scale·(inp·Aᵀ), kept for the backward. Scaling the small hidden rather
 * than the [N, OUT] output lets the second matmul accumulate straight into `out`.
 */
export function loraLinearForward(
  backend: Backend, out: Float32Array, hidden: Float32Array, inp: Float32Array, weight: Float32Array,
  lora: LoraFactors, shape: LoraLinearShape,
): void {
  const { N, IN, OUT, rank, scale } = shape;
  requireSize("inp", inp, N * IN);
  requireSize("weight", weight, OUT * IN);
  requireSize("out", out, N * OUT);
  requireSize("hidden", hidden, N * rank);
  requireSize("lora_A", lora.A, rank * IN);
  requireSize("lora_B", lora.B, OUT * rank);
  backend.matmul(out, inp, weight, N, IN, OUT, { transB: true });
  backend.matmul(hidden, inp, lora.A, N, IN, rank, { transB: true });
  for (let i = 0; i < N * rank; i++) hidden[i] *= scale;
  backend.matmul(out, hidden, lora.B, N, rank, OUT, { transB: true, accumulate: true });
}

/**
 * With hidden = scale·inp·Aᵀ (from the forward) and dh = dout·B (the gradient w.r.t. hidden):
 *   dB     += doutᵀ·hidden                    [OUT, r]
 *   dA     += (scale·dh)ᵀ·inp                 [r, IN]
 *   dinp  (+)= dout·W + scale·dh·A             [N, IN]
 *   dweight += doutᵀ·inp   only when the base is trained too (null otherwise)
 * dhidden [N, r] is scratch. `accumulateInput` adds into dinp (q, k, v share their input).
 */
export function loraLinearBackward(
  backend: Backend, dinp: Float32Array | null, dweight: Float32Array | null, dlora: LoraFactors, dhidden: Float32Array,
  dout: Float32Array, inp: Float32Array, hidden: Float32Array, weight: Float32Array, lora: LoraFactors,
  shape: LoraLinearShape, accumulateInput = false,
): void {
  const { N, IN, OUT, rank, scale } = shape;
  requireSize("dout", dout, N * OUT);
  requireSize("dhidden", dhidden, N * rank);
  requireSize("dlora.A", dlora.A, rank * IN);
  requireSize("dlora.B", dlora.B, OUT * rank);
  backend.matmul(dlora.B, dout, hidden, OUT, N, rank, { transA: true, accumulate: true });
  backend.matmul(dhidden, dout, lora.B, N, OUT, rank);
  for (let i = 0; i < N * rank; i++) dhidden[i] *= scale;
  backend.matmul(dlora.A, dhidden, inp, rank, N, IN, { transA: true, accumulate: true });
  if (dinp) {
    requireSize("dinp", dinp, N * IN);
    backend.matmul(dinp, dout, weight, N, OUT, IN, { accumulate: accumulateInput });
    backend.matmul(dinp, dhidden, lora.A, N, rank, IN, { accumulate: true });
  }
  if (dweight) {
    requireSize("dweight", dweight, OUT * IN);
    backend.matmul(dweight, dout, inp, OUT, N, IN, { transA: true, accumulate: true });
  }
}
