/**
 * Numerically stable softmax of x[offset .. offset+n) in place: subtracting the row maximum keeps
 * exp() from overflowing and does not change the result. Sums in float64 (JS numbers).
 */
export function softmaxInPlace(x: Float32Array, offset: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[offset + i] > max) max = x[offset + i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[offset + i] - max);
    x[offset + i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) x[offset + i] *= inv;
}

/** log Σ exp(x[offset .. offset+n)), computed stably; the log-partition a cross-entropy needs. */
export function logSumExp(x: Float32Array, offset: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[offset + i] > max) max = x[offset + i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[offset + i] - max);
  return max + Math.log(sum);
}
