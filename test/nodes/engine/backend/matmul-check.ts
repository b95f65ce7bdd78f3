import assert from "node:assert/strict";
import { matmulReference } from "../../../../nodes/src/engine/backend/reference.ts";
import type { MatmulOptions } from "../../../../nodes/src/engine/backend/backend.ts";

/** Deterministic values in [-1, 1) (xorshift), so a failing case reproduces. */
export function randomFloats(n: number, seed: number, into: Float32Array = new Float32Array(n)): Float32Array {
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    into[i] = state / 2147483648 - 1;
  }
  return into;
}

/**
 * Asserts `actual` equals the reference matmul up to float32 rounding: each element may differ by a
 * few ulps of the sum of |products| (the order of additions differs between kernels).
 */
export function assertMatchesReference(
  actual: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number,
  options: MatmulOptions, initialOut?: Float32Array, label = "",
): void {
  const expected = initialOut ? Float32Array.from(initialOut) : new Float32Array(M * N);
  matmulReference(expected, a, b, M, K, N, options);
  const magnitude = initialOut ? initialOut.map(Math.abs) : new Float32Array(M * N);
  matmulReference(magnitude, a.map(Math.abs), b.map(Math.abs), M, K, N, { ...options, accumulate: true });
  for (let i = 0; i < M * N; i++) {
    // Worst-case float32 summation error grows with K; 2^-23 is twice the unit roundoff.
    const tolerance = 2 ** -23 * (K + 2) * magnitude[i] + 1e-30;
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      assert.fail(`${label} element ${i} (row ${Math.floor(i / N)}, col ${i % N}): got ${actual[i]}, expected ${expected[i]} ± ${tolerance}`);
    }
  }
}
