/**
 * The compute backend the engine runs on. Model code (forward, backward, training, generation) only
 * talks to this interface, so a faster CPU kernel set or a GPU backend (WebGPU through Dawn) can be
 * swapped in without touching the model.
 *
 * Buffers are plain Float32Arrays. A backend may hand out buffers from its own memory through
 * `alloc` (for example views on a shared WebAssembly.Memory) so its kernels use them without a copy;
 * every method must still accept any Float32Array, copying when it has to.
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

export interface Backend {
  readonly name: string;
  /** A zeroed buffer of `n` floats that this backend's kernels can use without copying. */
  alloc(n: number): Float32Array;
  /** out[M, N] (+)= op(a)[M, K] · op(b)[K, N]. */
  matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number, options?: MatmulOptions): void;
  /** Release threads and memory. The backend is unusable afterwards. */
  dispose(): Promise<void>;
}
