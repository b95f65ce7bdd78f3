import { availableParallelism } from "node:os";
import type { Backend, LoraSegment, MatmulOptions } from "../backend.ts";
import { BackendDisposedError, BackendOptionError, MatmulShapeError } from "../errors.ts";
import { GEMM_FLAGS, createKernelMemory, instantiateKernels, loadKernelModule } from "./kernel-module.ts";
import { SharedArena } from "./shared-arena.ts";
import { planChunks } from "./split-work.ts";
import { StagingArea } from "./staging-area.ts";
import { KernelThreadPool } from "./thread-pool.ts";

export interface WasmBackendOptions {
  /** Threads computing a matmul, the calling thread included (default: os.availableParallelism()). */
  threads?: number;
  /**
   * Use fused multiply-add (relaxed SIMD) where the runtime offers it (default true): about twice
   * the speed. False selects the plain SIMD build, whose results are bit-identical on every host.
   */
  fusedMultiplyAdd?: boolean;
  /**
   * Below this many multiply-adds (M·K·N) a matmul runs on the calling thread alone, because waking
   * the workers costs more than it saves. Default 262144 (64³); 0 sends every matmul to the pool.
   */
  minParallelWork?: number;
}

/** The wasm backend, with what it chose at creation. */
export interface WasmBackend extends Backend {
  readonly threads: number;
  readonly fusedMultiplyAdd: boolean;
}

const DEFAULT_MIN_PARALLEL_WORK = 64 * 64 * 64;
/** Bytes below the arena left untouched, so address 0 never names a live buffer. */
const RESERVED_BYTES = 65536;

/**
 * The fast CPU backend: WebAssembly SIMD matmul kernels (nodes/assembly/matmul.ts) running on the
 * calling thread plus a pool of worker threads, all on one shared WebAssembly.Memory. Buffers from
 * `alloc` live in that memory and are used in place; any other Float32Array is copied in and out.
 * Results do not depend on the thread count. Throws WasmUnsupportedError where the runtime lacks
 * WebAssembly SIMD or shared memory (createBackend then falls back to the reference backend).
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new BackendOptionError(`threads must be a positive integer, got ${threads}.`, { option: "threads", value: threads });
  }
  const minParallelWork = options.minParallelWork ?? DEFAULT_MIN_PARALLEL_WORK;
  if (!(minParallelWork >= 0)) {
    throw new BackendOptionError(`minParallelWork must be a non-negative number, got ${minParallelWork}.`, { option: "minParallelWork", value: minParallelWork });
  }
  const { module, fusedMultiplyAdd } = await loadKernelModule({ fusedMultiplyAdd: options.fusedMultiplyAdd });
  const memory = createKernelMemory();
  const kernels = instantiateKernels(module, memory);
  const arena = new SharedArena(memory, RESERVED_BYTES);
  const callerScratch = arena.allocBytes(kernels.scratchBytes());
  const workerScratch = Array.from({ length: threads - 1 }, () => arena.allocBytes(kernels.scratchBytes()));
  const pool = threads > 1 ? await KernelThreadPool.start({ module, memory, callerKernels: kernels, callerScratch, workerScratch }) : undefined;
  const staging = new StagingArea(arena);
  const name = `wasm-simd${fusedMultiplyAdd ? "-fma" : ""}, ${threads} thread${threads === 1 ? "" : "s"}`;
  let disposed = false;

  function matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number, matmulOptions: MatmulOptions = {}): void {
    if (disposed) throw new BackendDisposedError(name);
    checkShape(out, a, b, M, K, N);
    if (M === 0 || N === 0) return;
    const { transA = false, transB = false, accumulate = false } = matmulOptions;
    const flags = (transA ? GEMM_FLAGS.transA : 0) | (transB ? GEMM_FLAGS.transB : 0) | (accumulate ? GEMM_FLAGS.accumulate : 0);

    const aUsed = a.subarray(0, M * K);
    const bUsed = b.subarray(0, K * N);
    const outUsed = out.subarray(0, M * N);
    const foreignBytes = [aUsed, bUsed, outUsed].reduce((sum, view) => sum + (arena.addressOf(view) === undefined ? view.byteLength : 0), 0);
    if (foreignBytes > 0) staging.begin(foreignBytes);
    const aAddress = arena.addressOf(aUsed) ?? staging.place(aUsed, true).byteOffset;
    const bAddress = arena.addressOf(bUsed) ?? staging.place(bUsed, true).byteOffset;
    const outInArena = arena.addressOf(outUsed) !== undefined;
    // A foreign `out` only needs copying in when the kernel adds to it.
    const outView = outInArena ? outUsed : staging.place(outUsed, accumulate);
    const outAddress = outView.byteOffset;

    const plan = pool !== undefined && M * K * N >= minParallelWork ? planChunks(M, N, threads, kernels.tileRows(), kernels.tileCols()) : undefined;
    if (pool !== undefined && plan !== undefined && plan.count > 1) {
      pool.run({ out: outAddress, a: aAddress, b: bAddress, M, K, N, flags, plan });
    } else {
      kernels.gemm(outAddress, aAddress, bAddress, M, K, N, flags, 0, M, 0, N, callerScratch);
    }
    if (!outInArena) outUsed.set(outView);
  }

  // The segment table of the SGMV kernels (nodes/assembly/sgmv.ts), grown as batches hold more adapters.
  const segmentWords = kernels.segmentWords();
  let table: Int32Array = new Int32Array(0);
  let tableFloats: Float32Array = new Float32Array(0);

  /**
   * One SGMV call on the calling thread: the LoRA part of a whole batch is small (rank × width per
   * row), so waking the pool would cost more than it saves. Buffers outside the arena (adapters read
   * from disk, say) are staged like matmul operands; a server keeps its adapters in the arena.
   */
  function sgmv(kind: "shrink" | "expand", target: Float32Array, source: Float32Array, segments: readonly LoraSegment[], width: number, uStride: number): void {
    if (disposed) throw new BackendDisposedError(name);
    if (segments.length === 0) return;
    checkSegments(kind, target, source, segments, width, uStride);
    if (table.length < segments.length * segmentWords) {
      if (table.length > 0) arena.freeFloats(tableFloats);
      tableFloats = arena.allocFloats(Math.max(segments.length, 2 * table.length / segmentWords, 16) * segmentWords);
      table = new Int32Array(tableFloats.buffer, tableFloats.byteOffset, tableFloats.length);
    }
    const foreign = [target, source, ...segments.map((segment) => segment.factor)];
    const foreignBytes = foreign.reduce((sum, view) => sum + (arena.addressOf(view) === undefined ? view.byteLength : 0), 0);
    if (foreignBytes > 0) staging.begin(foreignBytes);
    const place = (view: Float32Array) => arena.addressOf(view) ?? staging.place(view, true).byteOffset;
    const targetInArena = arena.addressOf(target) !== undefined;
    const targetView = targetInArena ? target : staging.place(target, true);
    const sourceAddress = place(source);
    segments.forEach(({ rowStart, rowEnd, factor, rank, scale }, s) => {
      const at = s * segmentWords;
      table[at] = rowStart;
      table[at + 1] = rowEnd;
      table[at + 2] = place(factor);
      table[at + 3] = rank;
      tableFloats[at + 4] = scale;
    });
    if (kind === "shrink") kernels.sgmvShrink(targetView.byteOffset, sourceAddress, tableFloats.byteOffset, segments.length, width, uStride);
    else kernels.sgmvExpand(targetView.byteOffset, sourceAddress, tableFloats.byteOffset, segments.length, width, uStride);
    if (!targetInArena) target.set(targetView);
  }

  return {
    name,
    threads,
    fusedMultiplyAdd,
    alloc(n: number): Float32Array {
      if (disposed) throw new BackendDisposedError(name);
      if (!Number.isInteger(n) || n < 0) throw new MatmulShapeError(`alloc needs a non-negative integer count of floats, got ${n}.`, { n });
      return arena.allocFloats(n);
    },
    free(buffer: Float32Array): void {
      if (disposed) return;
      const address = arena.addressOf(buffer);
      if (address === undefined) return;
      arena.free(address);
    },
    memoryStats() {
      const { liveBytes, highWaterBytes, memoryBytes } = arena.stats;
      return { liveBytes, highWaterBytes, memoryBytes };
    },
    matmul,
    sgmvShrink: (u, x, segments, IN, uStride) => sgmv("shrink", u, x, segments, IN, uStride),
    sgmvExpand: (out, u, segments, OUT, uStride) => sgmv("expand", out, u, segments, OUT, uStride),
    async dispose(): Promise<void> {
      disposed = true;
      await pool?.dispose();
    },
  };
}

/** Rows and factors of every segment must lie inside the buffers: the kernel trusts its pointers. */
function checkSegments(kind: "shrink" | "expand", target: Float32Array, source: Float32Array, segments: readonly LoraSegment[], width: number, uStride: number): void {
  // shrink: source x [rows, width], target u [rows, uStride]; expand: source u [rows, uStride], target out [rows, width].
  const [sourceRow, targetRow] = kind === "shrink" ? [width, uStride] : [uStride, width];
  if (!Number.isInteger(width) || width < 0 || !Number.isInteger(uStride) || uStride < 0) {
    throw new MatmulShapeError(`sgmv ${kind} needs non-negative integer width and uStride, got ${width} and ${uStride}.`, { width, uStride });
  }
  for (const { rowStart, rowEnd, factor, rank } of segments) {
    const ok = Number.isInteger(rowStart) && Number.isInteger(rowEnd) && Number.isInteger(rank) && rowStart >= 0 && rowEnd >= rowStart
      && rank >= 0 && rank <= uStride && rowEnd * sourceRow <= source.length && rowEnd * targetRow <= target.length && factor.length >= rank * width;
    if (!ok) {
      throw new MatmulShapeError(`sgmv ${kind} segment rows [${rowStart}, ${rowEnd}) of rank ${rank} do not fit its buffers (width ${width}, uStride ${uStride}).`, {
        rowStart, rowEnd, rank, width, uStride, source: source.length, target: target.length, factor: factor.length,
      });
    }
  }
}

function checkShape(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number): void {
  for (const [dimension, value] of [["M", M], ["K", K], ["N", N]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new MatmulShapeError(`matmul dimension ${dimension} must be a non-negative integer, got ${value}.`, { M, K, N });
    }
  }
  for (const [buffer, view, needed] of [["a", a, M * K], ["b", b, K * N], ["out", out, M * N]] as const) {
    if (view.length < needed) {
      throw new MatmulShapeError(`matmul buffer ${buffer} holds ${view.length} floats but M=${M}, K=${K}, N=${N} needs ${needed}.`, { buffer, length: view.length, needed, M, K, N });
    }
  }
}
