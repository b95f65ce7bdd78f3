/**
 * The compute backend the engine runs on. Model code (forward, backward, training, generation) only
 * talks to this interface, so a faster CPU kernel set or a GPU backend (WebGPU through Dawn) can be
 * swapped in without touching the model.
 *
 * Buffers are plain Float32Arrays. A backend may hand out buffers from its own memory through
 * `alloc` (for example views on a shared WebAssembly.Memory) so its kernels use them without a copy;
 * every method must still accept any Float32Array, copying when it has to. That memory is not
 * garbage collected: whoever allocates a buffer gives it back with `free` when done (a model's
 * `dispose()`, a KV cache pool's `dispose()`), so an engine that runs for weeks stays flat.
 *
 * Shapes are row-major. Calls are synchronous: a multi-threaded backend blocks the calling thread
 * until its workers are done, which keeps the model code as plain as llm.c's.
 */
export interface MatmulOptions {
  /** `a` is stored as [K, M] and used transposed. */
  transA?: boolean;
  /** `b` is stored as [N, K] and used transposed (the layout of nn.Linear weights). */
  transB?: boolean;
  /** Add into `out` instead of overwriting it (used to accumulate gradients). */
  accumulate?: boolean;
}

/**
 * A matrix of half-precision values kept as the checkpoint stores them (bf16 or IEEE f16, 2 bytes
 * each): base weights at half the memory of float32. Only the `b` operand of a matmul with transB
 * (a weight in nn.Linear's [out, in] layout) may be one; kernels convert it to float32 tile by tile
 * and compute in float32, so results equal those of the float32 conversion bit for bit.
 * Write `bits` before the matrix's first matmul and leave them alone afterwards: a backend may
 * remember facts about a weight matrix (the wasm backend: whether an f16 one holds infinities or NaNs).
 */
export interface HalfMatrix {
  readonly dtype: "bf16" | "f16";
  readonly bits: Uint16Array;
}

/** A weight operand: float32, or half precision as stored. */
export type WeightMatrix = Float32Array | HalfMatrix;

export function isHalfMatrix(value: WeightMatrix): value is HalfMatrix {
  return !(value instanceof Float32Array);
}

/** Elements of a weight operand. */
export function weightLength(value: WeightMatrix): number {
  return value instanceof Float32Array ? value.length : value.bits.length;
}

/** What a backend's own memory holds. */
export interface BackendMemoryStats {
  /** Bytes in buffers handed out by `alloc` and not yet given back by `free`. */
  liveBytes: number;
  /** The most the backend's memory has had to span at once: flat while a long-running engine is healthy. */
  highWaterBytes: number;
  /** Bytes of memory the backend holds from the system now (wasm memory never shrinks, so ≥ highWaterBytes). */
  memoryBytes: number;
  /** Separate memories those bytes are in (the wasm backend opens another when a 4 GiB wasm32 memory is full). */
  memories: number;
}

/**
 * One adapter's rows of a batch for the segmented LoRA kernels (Punica's SGMV): rows
 * [rowStart, rowEnd) use `factor`, which is A [rank, IN] for the shrink and B [OUT, rank] for the
 * expand. `scale` (alpha / r) applies in the shrink, where it costs rank multiplies per row.
 */
export interface LoraSegment {
  rowStart: number;
  rowEnd: number;
  factor: Float32Array;
  rank: number;
  scale: number;
}

export interface Backend {
  readonly name: string;
  /** A zeroed buffer of `n` floats that this backend's kernels can use without copying. */
  alloc(n: number): Float32Array;
  /**
   * Gives back a buffer from `alloc` (the whole buffer: pass the view `alloc` returned). Its memory
   * is reused by later allocations, so the buffer must not be used afterwards. A buffer that does
   * not live in the backend's memory (a plain Float32Array) is left to the garbage collector.
   * Throws BufferOwnershipError for a buffer given back twice.
   */
  free(buffer: Float32Array | HalfMatrix): void;
  memoryStats(): BackendMemoryStats;
  /** A zeroed half-precision matrix of `n` values in this backend's memory (bits written by the caller). */
  allocHalf(n: number, dtype: HalfMatrix["dtype"]): HalfMatrix;
  /** out[M, N] (+)= op(a)[M, K] · op(b)[K, N]. A half-precision `b` needs transB. */
  matmul(out: Float32Array, a: Float32Array, b: WeightMatrix, M: number, K: number, N: number, options?: MatmulOptions): void;
  /**
   * SGMV shrink: u[row, 0:rank] = scale · x[row, 0:IN] · factorᵀ for every row of every segment, in
   * one call for the whole batch. u has rows of `uStride` floats (≥ every segment's rank); rows in
   * no segment are left as they are.
   */
  sgmvShrink(u: Float32Array, x: Float32Array, segments: readonly LoraSegment[], IN: number, uStride: number): void;
  /** SGMV expand: out[row, 0:OUT] += u[row, 0:rank] · factorᵀ for every row of every segment (scale unused). */
  sgmvExpand(out: Float32Array, u: Float32Array, segments: readonly LoraSegment[], OUT: number, uStride: number): void;
  /** Release threads and memory. The backend is unusable afterwards. */
  dispose(): Promise<void>;
}
