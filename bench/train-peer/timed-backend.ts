import type { Backend, BackendMemoryStats, LoraSegment, MatmulOptions } from "../../nodes/src/engine/backend/backend.ts";

/** Every matmul of one shape and layout: how often it ran, its time and its multiply-adds. */
export interface MatmulShapeTotal {
  /** "M×K×N" plus the options that were set ("transB", "accumulate"...). */
  shape: string;
  calls: number;
  seconds: number;
  flops: number;
}

/**
 * A backend that forwards to another and times each matmul, so a training step can be split into
 * matmul time (by shape) and everything else. Timing costs two clock reads per call: use it for a
 * breakdown round, not for the throughput that is compared.
 */
export class TimedBackend implements Backend {
  readonly name: string;
  private readonly inner: Backend;
  private readonly totals = new Map<string, MatmulShapeTotal>();

  constructor(inner: Backend) {
    this.inner = inner;
    this.name = `${inner.name} (timed)`;
  }

  alloc(n: number): Float32Array {
    return this.inner.alloc(n);
  }

  free(buffer: Float32Array): void {
    this.inner.free(buffer);
  }

  memoryStats(): BackendMemoryStats {
    return this.inner.memoryStats();
  }

  sgmvShrink(u: Float32Array, x: Float32Array, segments: readonly LoraSegment[], IN: number, uStride: number): void {
    this.inner.sgmvShrink(u, x, segments, IN, uStride);
  }

  sgmvExpand(out: Float32Array, u: Float32Array, segments: readonly LoraSegment[], OUT: number, uStride: number): void {
    this.inner.sgmvExpand(out, u, segments, OUT, uStride);
  }

  matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number, options?: MatmulOptions): void {
    const started = performance.now();
    this.inner.matmul(out, a, b, M, K, N, options);
    const seconds = (performance.now() - started) / 1000;
    const layout = Object.entries(options ?? {}).filter(([, on]) => on).map(([option]) => option).join(",");
    const shape = `${M}×${K}×${N}${layout ? ` ${layout}` : ""}`;
    const total = this.totals.get(shape) ?? { shape, calls: 0, seconds: 0, flops: 0 };
    total.calls++;
    total.seconds += seconds;
    total.flops += 2 * M * K * N;
    this.totals.set(shape, total);
  }

  /** Totals since the last reset, the most time-consuming shape first. */
  matmulTotals(): MatmulShapeTotal[] {
    return [...this.totals.values()].sort((x, y) => y.seconds - x.seconds);
  }

  reset(): void {
    this.totals.clear();
  }

  /** The inner backend is shared: disposing it is its owner's job. */
  async dispose(): Promise<void> {}
}
