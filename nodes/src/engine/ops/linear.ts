import { weightLength, type Backend, type WeightMatrix } from "../backend/backend.ts";
import { requireSize } from "./errors.ts";

/**
 * A bias-free nn.Linear (every Llama projection), weights in HF's [out, in] layout:
 *   out [N, OUT] = inp [N, IN] · weightᵀ
 * The matmul goes through the backend (transB) so the fast kernels do the heavy work. The weight may
 * be half precision as the checkpoint stored it (inference); the kernels compute in float32.
 */
export function linearForward(
  backend: Backend, out: Float32Array, inp: Float32Array, weight: WeightMatrix, N: number, IN: number, OUT: number,
): void {
  requireSize("inp", inp, N * IN);
  requireSize("weight", { length: weightLength(weight) }, OUT * IN);
  requireSize("out", out, N * OUT);
  backend.matmul(out, inp, weight, N, IN, OUT, { transB: true });
}

/**
 *   dinp    (+)= dout [N, OUT] · weight [OUT, IN]
 *   dweight  +=  doutᵀ [OUT, N] · inp [N, IN]      (skipped when dweight is null: frozen base)
 * `accumulateInput` adds into dinp, for inputs feeding several projections (q, k and v share one).
 */
export function linearBackward(
  backend: Backend, dinp: Float32Array | null, dweight: Float32Array | null, dout: Float32Array, inp: Float32Array,
  weight: Float32Array, N: number, IN: number, OUT: number, accumulateInput = false,
): void {
  requireSize("dout", dout, N * OUT);
  if (dinp) {
    requireSize("dinp", dinp, N * IN);
    backend.matmul(dinp, dout, weight, N, OUT, IN, { accumulate: accumulateInput });
  }
  if (dweight) {
    requireSize("dweight", dweight, OUT * IN);
    backend.matmul(dweight, dout, inp, OUT, N, IN, { transA: true, accumulate: true });
  }
}
