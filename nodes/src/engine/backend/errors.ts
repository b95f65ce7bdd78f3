/**
 * Errors a backend throws, with the values that explain the failure attached (viem style), so a
 * caller can both read the message and inspect the details.
 */
export class BackendError extends Error {
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** A matmul dimension is not a non-negative integer, or a buffer is shorter than its shape needs. */
export class MatmulShapeError extends BackendError {}

/** An option given to a backend factory is out of range (`details.option` names it). */
export class BackendOptionError extends BackendError {}

/** The backend was used after `dispose()`. */
export class BackendDisposedError extends BackendError {
  constructor(backend: string) {
    super(`The ${backend} backend was used after dispose().`, { backend });
  }
}

/** The wasm backend's shared memory cannot hold what was asked of it (wasm32 caps it at 4 GiB). */
export class WasmMemoryExhaustedError extends BackendError {}

/** This runtime lacks a WebAssembly feature the wasm backend needs (SIMD, threads/shared memory). */
export class WasmUnsupportedError extends BackendError {}

/** The compiled kernels (.wasm) are missing or unreadable: a broken checkout, not a runtime limit. */
export class KernelFileError extends BackendError {}

/** A matmul kernel failed (in a worker or on the calling thread); `details.causes` carries the messages. */
export class KernelWorkerError extends BackendError {}

/** A buffer given to `free` was not allocated by this backend, or was freed already. */
export class BufferOwnershipError extends BackendError {}
