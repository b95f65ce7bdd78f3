import { requireSize } from "./errors.ts";

/**
 * The residual connection: out [N, C] = inp [N, C] + branch [N, C] (llm.c's residual_forward).
 * Its backward is the identity (the gradient flows to both terms unchanged), so there is none here.
 * A function of its own, not an inline loop over `layer.field[i]`: V8 then keeps the arrays in
 * registers instead of reloading them from their objects on every element.
 */
export function residualForward(out: Float32Array, inp: Float32Array, branch: Float32Array, size: number): void {
  requireSize("out", out, size);
  requireSize("inp", inp, size);
  requireSize("branch", branch, size);
  for (let i = 0; i < size; i++) out[i] = inp[i] + branch[i];
}
