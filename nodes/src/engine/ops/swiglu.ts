import { requireSize } from "./errors.ts";
import { fastExp } from "./exp.ts";

/** SiLU (swish), Llama's `hidden_act`: x · sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/**
 * The gated MLP's activation (HF LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x))):
 *   out [N, F] = silu(gate) ⊙ up
 * Training passes `sigmoid` [N, F] to keep sigmoid(gate) for the backward: the exp is most of
 * this op's cost, and memory for one more activation is cheap next to computing it twice.
 */
export function swigluForward(
  out: Float32Array, gate: Float32Array, up: Float32Array, size: number, sigmoid: Float32Array | null = null,
): void {
  requireSize("out", out, size);
  requireSize("gate", gate, size);
  requireSize("up", up, size);
  if (sigmoid) {
    requireSize("sigmoid", sigmoid, size);
    forwardKeepingSigmoid(out, sigmoid, gate, up, size);
    return;
  }
  // The same float operations as forwardKeepingSigmoid, so serving (which keeps nothing) and
  // training compute bit-identical activations.
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const s = 1 / (1 + fastExp(-g));
    out[i] = g * s * up[i];
  }
}

/** swigluForward that also stores sigmoid(gate). Its own function, like backwardFromSigmoid, so V8 optimizes each loop alone. */
function forwardKeepingSigmoid(out: Float32Array, sigmoid: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const s = 1 / (1 + fastExp(-g));
    sigmoid[i] = s;
    out[i] = g * s * up[i];
  }
}

/**
 * silu'(g) = s + g·s·(1 − s) with s = sigmoid(g). dgate and dup are overwritten. `sigmoid` is the
 * forward's kept sigmoid(gate); without it the sigmoid is recomputed.
 */
export function swigluBackward(
  dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number,
  sigmoid: Float32Array | null = null,
): void {
  requireSize("dgate", dgate, size);
  requireSize("dup", dup, size);
  requireSize("dout", dout, size);
  if (sigmoid) {
    requireSize("sigmoid", sigmoid, size);
    backwardFromSigmoid(dgate, dup, dout, gate, up, sigmoid, size);
    return;
  }
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const s = 1 / (1 + fastExp(-g));
    const d = dout[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (1 + g * (1 - s));
  }
}

/** swigluBackward with the kept sigmoid. Its own function: V8 runs this loop 2× slower when it shares one with the recomputing loop. */
function backwardFromSigmoid(
  dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, sigmoid: Float32Array, size: number,
): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const s = sigmoid[i];
    const d = dout[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (1 + g * (1 - s));
  }
}
