import type { Backend, MatmulOptions } from "./backend.ts";

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
    dispose: async () => {},
  };
}
