import assert from "node:assert/strict";

/**
 * Test helpers: central finite differences for the engine's hand-written backwards.
 * A scalar loss is formed as Σ output·probe in float64 with a fixed random probe, so every output
 * element's gradient is exercised; each input element is nudged by ±eps in float32.
 */

/** A small deterministic generator for test data (mulberry32), uniform in [-scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function dot64(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Numerical gradient of `loss` w.r.t. every element of `param` (or the listed indices). */
export function numericalGradient(param: Float32Array, loss: () => number, eps = 1e-2, indices?: number[]): Float64Array {
  const grad = new Float64Array(param.length);
  for (const i of indices ?? param.keys()) {
    const original = param[i];
    param[i] = original + eps;
    const up = param[i];
    const lossUp = loss();
    param[i] = original - eps;
    const down = param[i];
    const lossDown = loss();
    param[i] = original;
    grad[i] = (lossUp - lossDown) / (up - down);
  }
  return grad;
}

/**
 * Asserts ‖analytic − numerical‖ / max(‖analytic‖, ‖numerical‖) < tolerance over the checked
 * elements: a vector-wide relative error, robust to individual near-zero entries.
 */
export function assertGradientClose(name: string, analytic: Float32Array, numerical: Float64Array, tolerance = 1e-2, indices?: number[]): void {
  let diff = 0;
  let normA = 0;
  let normN = 0;
  for (const i of indices ?? analytic.keys()) {
    diff += (analytic[i] - numerical[i]) ** 2;
    normA += analytic[i] ** 2;
    normN += numerical[i] ** 2;
  }
  const scale = Math.sqrt(Math.max(normA, normN));
  assert.ok(scale > 0, `${name}: gradient is identically zero, the check would prove nothing`);
  const relative = Math.sqrt(diff) / scale;
  assert.ok(relative < tolerance, `${name}: relative gradient error ${relative.toExponential(3)} ≥ ${tolerance}`);
}

/** A spread of indices (every k-th), to keep checks of big tensors fast. */
export function sampleIndices(length: number, count: number): number[] {
  const step = Math.max(1, Math.floor(length / count));
  const out: number[] = [];
  for (let i = 0; i < length; i += step) out.push(i);
  return out;
}
