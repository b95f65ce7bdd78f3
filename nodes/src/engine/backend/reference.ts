import type { Backend, LoraSegment, MatmulOptions } from "./backend.ts";

/**
 * Plain TypeScript kernels: the readable reference every fast kernel is tested against, and the
 * fallback where WebAssembly threads are unavailable.
 */
export function matmulReference(
  out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number,
  { transA = false, transB = false, accumulate = false }: MatmulOptions = {},
): void {
  if (!accumulate) out.fill(0, 0, M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const aik = transA ? a[k * M + i] : a[i * K + k];
      if (aik === 0) continue;
      const row = i * N;
      if (transB) {
        for (let j = 0; j < N; j++) out[row + j] += aik * b[j * K + k];
      } else {
        const bRow = k * N;
        for (let j = 0; j < N; j++) out[row + j] += aik * b[bRow + j];
      }
    }
  }
}

/** SGMV shrink, plainly: each row's r dot products of length IN, scaled. */
export function sgmvShrinkReference(u: Float32Array, x: Float32Array, segments: readonly LoraSegment[], IN: number, uStride: number): void {
  for (const { rowStart, rowEnd, factor, rank, scale } of segments) {
    for (let row = rowStart; row < rowEnd; row++) {
      for (let k = 0; k < rank; k++) {
        let sum = 0;
        for (let i = 0; i < IN; i++) sum += x[row * IN + i] * factor[k * IN + i];
        u[row * uStride + k] = Math.fround(sum) * scale;
      }
    }
  }
}

/** SGMV expand, plainly: each output is a dot product of length rank. */
export function sgmvExpandReference(out: Float32Array, u: Float32Array, segments: readonly LoraSegment[], OUT: number, uStride: number): void {
  for (const { rowStart, rowEnd, factor, rank } of segments) {
    for (let row = rowStart; row < rowEnd; row++) {
      for (let o = 0; o < OUT; o++) {
        let sum = 0;
        for (let k = 0; k < rank; k++) sum += u[row * uStride + k] * factor[o * rank + k];
        out[row * OUT + o] += sum;
      }
    }
  }
}

/** Buffers live on the JavaScript heap; `free` only keeps the byte count that memoryStats reports. */
export function createReferenceBackend(): Backend {
  const owned = new WeakSet<Float32Array>();
  let liveBytes = 0;
  let highWaterBytes = 0;
  return {
    name: "reference",
    alloc(n) {
      const buffer = new Float32Array(n);
      owned.add(buffer);
      liveBytes += buffer.byteLength;
      highWaterBytes = Math.max(highWaterBytes, liveBytes);
      return buffer;
    },
    free(buffer) {
      if (!owned.delete(buffer)) return;
      liveBytes -= buffer.byteLength;
    },
    memoryStats: () => ({ liveBytes, highWaterBytes, memoryBytes: liveBytes }),
    matmul: matmulReference,
    sgmvShrink: sgmvShrinkReference,
    sgmvExpand: sgmvExpandReference,
    dispose: async () => {},
  };
}
