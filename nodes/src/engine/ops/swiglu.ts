import { requireSize } from "./errors.ts";

/** SiLU (swish), Llama's `hidden_act`: x · sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/**
 * The gated MLP's activation (HF LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x))):
 *   out [N, F] = silu(gate) ⊙ up
 * The backward recomputes the sigmoid from `gate` rather than storing it: one exp per element is
 * cheaper than another [N, F] activation buffer.
 */
export function swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
  requireSize("out", out, size);
  requireSize("gate", gate, size);
  requireSize("up", up, size);
  for (let i = 0; i < size; i++) out[i] = silu(gate[i]) * up[i];
}

/**
 * silu'(g) = s + g·s·(1 − s) with s = sigmoid(g). dgate and dup are overwritten.
 */
export function swigluBackward(
  dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number,
): void {
  requireSize("dgate", dgate, size);
  requireSize("dup", dup, size);
  requireSize("dout", dout, size);
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s));
  }
}
