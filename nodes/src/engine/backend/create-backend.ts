import type { Backend } from "./backend.ts";
import { WasmUnsupportedError } from "./errors.ts";
import { createReferenceBackend } from "./reference.ts";
import { createWasmBackend, type WasmBackendOptions } from "./wasm/wasm-backend.ts";

/**
 * The fastest backend this runtime supports: the WebAssembly SIMD backend on worker threads, or the
 * plain TypeScript reference backend where WebAssembly SIMD or shared memory is unavailable.
 *
 *   const backend = await createBackend();
 *   // Allocate up front from the backend: its own buffers are used in place, others are copied.
 *   const x = backend.alloc(T * C), w = backend.alloc(OC * C), y = backend.alloc(T * OC);
 *   backend.matmul(y, x, w, T, C, OC, { transB: true }); // y = x · wᵀ, nn.Linear's layout
 *   await backend.dispose();
 */
export async function createBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  try {
    return await createWasmBackend(options);
  } catch (error) {
    if (error instanceof WasmUnsupportedError) return createReferenceBackend();
    throw error;
  }
}
