import { availableParallelism } from "node:os";
import { isHalfMatrix, weightLength, type Backend, type HalfMatrix, type LoraSegment, type MatmulOptions, type WeightMatrix } from "../backend.ts";
import { BackendDisposedError, BackendOptionError, MatmulShapeError, WasmMemoryExhaustedError } from "../errors.ts";
import { GEMM_FLAGS, MAX_MEMORY_PAGES, PAGE_BYTES, createKernelMemory, instantiateKernels, loadKernelModule, type MatmulKernels } from "./kernel-module.ts";
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
  /**
   * The most one shared memory may grow to, in bytes (a multiple of 64 KiB; default and ceiling
   * 4 GiB, wasm32's limit). Buffers that do not fit go to another memory. Tests lower it to spread a
   * small model over several memories.
   */
  memoryBytes?: number;
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
 * Room every memory keeps free under its maximum when taking a new buffer: the staging copies of a
 * matmul's foreign operands and the SGMV segment table land there, so a memory filled with weights
 * can still run the products over them.
 */
const HEADROOM_BYTES = 64 * 1024 * 1024;

/**
 * One shared memory of the backend and what works on it: its allocator, the calling thread's
 * kernel instance and scratch, the workers' scratch, room for staged operands, the SGMV table.
 */
interface KernelMemory {
  index: number;
  memory: WebAssembly.Memory;
  arena: SharedArena;
  kernels: MatmulKernels;
  callerScratch: number;
  /** One per worker thread. */
  workerScratch: number[];
  staging: StagingArea;
  table: Int32Array;
  tableFloats: Float32Array;
}

/**
 * The fast CPU backend: WebAssembly SIMD matmul kernels (nodes/assembly/matmul.ts) running on the
 * calling thread plus a pool of worker threads, all on shared WebAssembly.Memory. Buffers from
 * `alloc` live in that memory and are used in place; any other Float32Array is copied in and out.
 * Results do not depend on the thread count. Throws WasmUnsupportedError where the runtime lacks
 * WebAssembly SIMD or shared memory (createBackend then falls back to the reference backend).
 *
 * One wasm32 memory holds at most 4 GiB, so the backend keeps several: a buffer goes to the first
 * memory with room for it, and a new memory opens when none has (every thread instantiates the
 * kernels on it). A matmul runs in the memory that holds its weight operand `b`; an activation or
 * output living in another memory is staged there (a few rows at generation time: cheap beside
 * streaming the weights). So the weights of a model are bounded by the machine's RAM, not by 4 GiB.
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
  const memoryBytes = options.memoryBytes ?? MAX_MEMORY_PAGES * PAGE_BYTES;
  if (!Number.isInteger(memoryBytes) || memoryBytes % PAGE_BYTES !== 0 || memoryBytes < 64 * PAGE_BYTES || memoryBytes > MAX_MEMORY_PAGES * PAGE_BYTES) {
    throw new BackendOptionError(`memoryBytes must be a multiple of 64 KiB between 4 MiB and 4 GiB, got ${memoryBytes}.`, { option: "memoryBytes", value: memoryBytes });
  }
  // A small memory (tests) keeps a proportionally small headroom.
  const headroomBytes = Math.min(HEADROOM_BYTES, memoryBytes / 4);
  const { module, fusedMultiplyAdd } = await loadKernelModule({ fusedMultiplyAdd: options.fusedMultiplyAdd });
  const memories: KernelMemory[] = [];
  let pool: KernelThreadPool | undefined;

  /** Opens another shared memory with the calling thread's kernels on it (and the workers', once the pool runs). */
  function openMemory(): KernelMemory {
    const memory = createKernelMemory(16, memoryBytes / PAGE_BYTES);
    const kernels = instantiateKernels(module, memory);
    const arena = new SharedArena(memory, RESERVED_BYTES, memoryBytes);
    const callerScratch = arena.allocBytes(kernels.scratchBytes());
    const workerScratch = Array.from({ length: threads - 1 }, () => arena.allocBytes(kernels.scratchBytes()));
    const opened: KernelMemory = {
      index: memories.length, memory, arena, kernels, callerScratch, workerScratch, staging: new StagingArea(arena),
      table: new Int32Array(0), tableFloats: new Float32Array(0),
    };
    if (pool !== undefined) pool.addMemory(memory, { kernels, scratch: callerScratch }, workerScratch);
    memories.push(opened);
    return opened;
  }

  const first = openMemory();
  if (threads > 1) {
    pool = await KernelThreadPool.start({ module, memory: first.memory, callerKernels: first.kernels, callerScratch: first.callerScratch, workerScratch: first.workerScratch });
  }
  const name = `wasm-simd${fusedMultiplyAdd ? "-fma" : ""}, ${threads} thread${threads === 1 ? "" : "s"}`;
  let disposed = false;

  /** The memory `view` lives in, or undefined for a buffer outside them all. */
  function ownerOf(view: ArrayBufferView): KernelMemory | undefined {
    for (const candidate of memories) if (candidate.arena.addressOf(view) !== undefined) return candidate;
    return undefined;
  }

  /** Reserves `bytes` in the first memory with room for them, opening a memory when none has. */
  function allocBytes(bytes: number): { owner: KernelMemory; address: number } {
    for (const candidate of memories) {
      if (!candidate.arena.canAllocate(bytes, headroomBytes)) continue;
      try {
        return { owner: candidate, address: candidate.arena.allocBytes(bytes) };
      } catch (error) {
        // The system refused to grow this memory: another (or a new one) may still take it.
        if (!(error instanceof WasmMemoryExhaustedError)) throw error;
      }
    }
    if (bytes + headroomBytes + RESERVED_BYTES + threads * first.kernels.scratchBytes() > memoryBytes) {
      throw new WasmMemoryExhaustedError(`A single buffer of ${bytes} bytes does not fit in one wasm memory of ${memoryBytes} bytes (wasm32 caps a memory at 4 GiB).`, {
        requestedBytes: bytes, memoryBytes,
      });
    }
    const opened = openMemory();
    return { owner: opened, address: opened.arena.allocBytes(bytes) };
  }

  function matmul(out: Float32Array, a: Float32Array, bOperand: WeightMatrix, M: number, K: number, N: number, matmulOptions: MatmulOptions = {}): void {
    if (disposed) throw new BackendDisposedError(name);
    checkShape(out, a, bOperand, M, K, N);
    if (M === 0 || N === 0) return;
    const { transA = false, transB = false, accumulate = false } = matmulOptions;
    let flags = (transA ? GEMM_FLAGS.transA : 0) | (transB ? GEMM_FLAGS.transB : 0) | (accumulate ? GEMM_FLAGS.accumulate : 0);
    const half = isHalfMatrix(bOperand);
    // The product runs where the weights are; the other operands come to them if they live elsewhere.
    const owner = ownerOf(half ? bOperand.bits : bOperand) ?? ownerOf(a) ?? ownerOf(out) ?? first;
    const { arena, staging } = owner;
    let halfAddress: number | undefined;
    if (half) {
      if (!transB) throw new MatmulShapeError("A half-precision b is supported with transB only (a weight in nn.Linear's layout).", { M, K, N });
      halfAddress = arena.addressOf(bOperand.bits);
      if (halfAddress === undefined) throw new MatmulShapeError("A half-precision b must live in the backend's memory: allocate it with allocHalf.", {});
      flags |= bOperand.dtype === "bf16" ? GEMM_FLAGS.halfBf16 : GEMM_FLAGS.halfF16;
      if (bOperand.dtype === "f16" && isFiniteF16(owner, bOperand.bits, halfAddress)) flags |= GEMM_FLAGS.halfFinite;
    }
    const b = half ? EMPTY : bOperand;

    // Operands in this memory are used in place (a view's address is its byteOffset); only foreign
    // ones are cut to their used length and copied in.
    const aAt = arena.addressOf(a);
    const bAt = halfAddress ?? arena.addressOf(b);
    const outAt = arena.addressOf(out);
    let aAddress = aAt ?? 0, bAddress = bAt ?? 0, outAddress = outAt ?? 0;
    let outView: Float32Array | undefined;
    if (aAt === undefined || bAt === undefined || outAt === undefined) {
      staging.begin((aAt === undefined ? M * K * 4 : 0) + (bAt === undefined ? K * N * 4 : 0) + (outAt === undefined ? M * N * 4 : 0));
      if (aAt === undefined) aAddress = staging.place(a.subarray(0, M * K), true).byteOffset;
      if (bAt === undefined) bAddress = staging.place(b.subarray(0, K * N), true).byteOffset;
      // A foreign `out` only needs copying in when the kernel adds to it.
      if (outAt === undefined) {
        outView = staging.place(out.subarray(0, M * N), accumulate);
        outAddress = outView.byteOffset;
      }
    }

    const plan = pool !== undefined && M * K * N >= minParallelWork ? planChunks(M, N, threads, owner.kernels.tileRows(), owner.kernels.tileCols()) : undefined;
    if (pool !== undefined && plan !== undefined && plan.count > 1) {
      pool.run({ out: outAddress, a: aAddress, b: bAddress, M, K, N, flags, plan, memory: owner.index });
    } else {
      owner.kernels.gemm(outAddress, aAddress, bAddress, M, K, N, flags, 0, M, 0, N, owner.callerScratch);
    }
    if (outView !== undefined) out.set(outView);
  }

  /**
   * Whether an f16 weight matrix holds no infinity or NaN, checked once per matrix (a pass at memory
   * speed) and remembered: the kernel then widens its values with three operations instead of
   * seven. Weights are written once, before their first product (see HalfMatrix).
   */
  const finiteF16 = new WeakMap<Uint16Array, boolean>();
  function isFiniteF16(owner: KernelMemory, bits: Uint16Array, address: number): boolean {
    let finite = finiteF16.get(bits);
    if (finite === undefined) {
      finite = owner.kernels.f16HasSpecials(address, bits.length) === 0;
      finiteF16.set(bits, finite);
    }
    return finite;
  }

  const segmentWords = first.kernels.segmentWords();

  /**
   * One SGMV call on the calling thread: the LoRA part of a whole batch is small (rank × width per
   * row), so waking the pool would cost more than it saves. It runs in the memory of its target;
   * buffers elsewhere (adapters read from disk, say) are staged like matmul operands; a server keeps
   * its adapters in the backend's memory.
   */
  function sgmv(kind: "shrink" | "expand", target: Float32Array, source: Float32Array, segments: readonly LoraSegment[], width: number, uStride: number): void {
    if (disposed) throw new BackendDisposedError(name);
    if (segments.length === 0) return;
    checkSegments(kind, target, source, segments, width, uStride);
    const owner = ownerOf(target) ?? ownerOf(source) ?? first;
    const { arena, staging } = owner;
    // The segment table of the SGMV kernels (nodes/assembly/sgmv.ts), grown as batches hold more adapters.
    if (owner.table.length < segments.length * segmentWords) {
      if (owner.table.length > 0) arena.freeFloats(owner.tableFloats);
      owner.tableFloats = arena.allocFloats(Math.max(segments.length, 2 * owner.table.length / segmentWords, 16) * segmentWords);
      owner.table = new Int32Array(owner.tableFloats.buffer, owner.tableFloats.byteOffset, owner.tableFloats.length);
    }
    const { table, tableFloats } = owner;
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
    if (kind === "shrink") owner.kernels.sgmvShrink(targetView.byteOffset, sourceAddress, tableFloats.byteOffset, segments.length, width, uStride);
    else owner.kernels.sgmvExpand(targetView.byteOffset, sourceAddress, tableFloats.byteOffset, segments.length, width, uStride);
    if (!targetInArena) target.set(targetView);
  }

  return {
    name,
    threads,
    fusedMultiplyAdd,
    alloc(n: number): Float32Array {
      if (disposed) throw new BackendDisposedError(name);
      if (!Number.isInteger(n) || n < 0) throw new MatmulShapeError(`alloc needs a non-negative integer count of floats, got ${n}.`, { n });
      const { owner, address } = allocBytes(n * Float32Array.BYTES_PER_ELEMENT);
      return owner.arena.floatsAt(address, n);
    },
    allocHalf(n: number, dtype: HalfMatrix["dtype"]): HalfMatrix {
      if (disposed) throw new BackendDisposedError(name);
      if (!Number.isInteger(n) || n < 0) throw new MatmulShapeError(`allocHalf needs a non-negative integer count, got ${n}.`, { n });
      const { owner, address } = allocBytes(2 * n);
      return { dtype, bits: new Uint16Array(owner.memory.buffer, address, n) };
    },
    free(buffer: Float32Array | HalfMatrix): void {
      if (disposed) return;
      const view = isHalfMatrix(buffer) ? buffer.bits : buffer;
      const owner = ownerOf(view);
      if (owner === undefined) return;
      if (isHalfMatrix(buffer)) finiteF16.delete(buffer.bits);
      owner.arena.free(view.byteOffset);
    },
    memoryStats() {
      let liveBytes = 0, highWaterBytes = 0, memoryBytes = 0;
      for (const { arena } of memories) {
        const stats = arena.stats;
        liveBytes += stats.liveBytes;
        highWaterBytes += stats.highWaterBytes;
        memoryBytes += stats.memoryBytes;
      }
      return { liveBytes, highWaterBytes, memoryBytes, memories: memories.length };
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

const EMPTY = new Float32Array(0);

function checkShape(out: Float32Array, a: Float32Array, bOperand: WeightMatrix, M: number, K: number, N: number): void {
  // Called for every matmul (hundreds per decode step), so plain comparisons rather than loops over tuples.
  if (!Number.isInteger(M) || M < 0 || !Number.isInteger(K) || K < 0 || !Number.isInteger(N) || N < 0) {
    const [dimension, value] = !Number.isInteger(M) || M < 0 ? ["M", M] : !Number.isInteger(K) || K < 0 ? ["K", K] : ["N", N];
    throw new MatmulShapeError(`matmul dimension ${dimension} must be a non-negative integer, got ${value}.`, { M, K, N });
  }
  const bLength = weightLength(bOperand);
  if (a.length < M * K || bLength < K * N || out.length < M * N) {
    const [buffer, length, needed] = a.length < M * K ? ["a", a.length, M * K] : bLength < K * N ? ["b", bLength, K * N] : ["out", out.length, M * N];
    throw new MatmulShapeError(`matmul buffer ${buffer} holds ${length} floats but M=${M}, K=${K}, N=${N} needs ${needed}.`, { buffer, length, needed, M, K, N });
  }
}
