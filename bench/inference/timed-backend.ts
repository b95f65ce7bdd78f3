import type { Backend, MatmulOptions } from "../../nodes/src/engine/backend/backend.ts";

/** A backend that forwards to another and adds up the wall-clock time its matmuls take. */
export interface TimedBackend extends Backend {
  /** Milliseconds spent in matmul since the last reset, and how many calls. */
  readonly matmulMs: number;
  readonly matmulCalls: number;
  reset(): void;
}

export function timeMatmuls(inner: Backend): TimedBackend {
  let matmulMs = 0;
  let matmulCalls = 0;
  return {
    name: inner.name,
    get matmulMs() { return matmulMs; },
    get matmulCalls() { return matmulCalls; },
    reset() { matmulMs = 0; matmulCalls = 0; },
    alloc: (n: number) => inner.alloc(n),
    free: (buffer: Float32Array) => inner.free(buffer),
    memoryStats: () => inner.memoryStats(),
    sgmvShrink: (u, x, segments, IN, uStride) => inner.sgmvShrink(u, x, segments, IN, uStride),
    sgmvExpand: (out, u, segments, OUT, uStride) => inner.sgmvExpand(out, u, segments, OUT, uStride),
    matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number, options?: MatmulOptions) {
      const start = performance.now();
      inner.matmul(out, a, b, M, K, N, options);
      matmulMs += performance.now() - start;
      matmulCalls++;
    },
    dispose: () => inner.dispose(),
  };
}
