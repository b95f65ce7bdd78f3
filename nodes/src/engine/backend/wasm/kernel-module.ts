import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { KernelFileError, WasmUnsupportedError } from "../errors.ts";

/**
 * The compiled matmul kernels (nodes/assembly/matmul.ts, built by scripts/build-wasm.ts). Two builds
 * ship side by side: plain SIMD (separate multiply and add, bit-identical on every host) and relaxed
 * SIMD (fused multiply-add where the host has it: about twice the speed, each product rounded once).
 */
export const KERNEL_FILES = {
  simd: new URL("./matmul-simd.wasm", import.meta.url),
  fusedMultiplyAdd: new URL("./matmul-simd-fma.wasm", import.meta.url),
} as const;

/** Flags of the kernel's `gemm`, as nodes/assembly/matmul.ts defines them. */
export const GEMM_FLAGS = { transA: 1, transB: 2, accumulate: 4, halfBf16: 8, halfF16: 16, halfFinite: 32 } as const;

/** Pages the kernels' shared memory may grow to: wasm32's 4 GiB. */
export const MAX_MEMORY_PAGES = 65536;

/** What an instance of the kernel module exports. Addresses are byte offsets into the shared memory. */
export interface MatmulKernels {
  /** Rows [r0, r1) x columns [c0, c1) of out[M, N] (+)= op(a)·op(b); `scratch` is this thread's own. */
  gemm(out: number, a: number, b: number, M: number, K: number, N: number, flags: number,
    r0: number, r1: number, c0: number, c1: number, scratch: number): void;
  /** Bytes of scratch each thread needs for packed panels. */
  scratchBytes(): number;
  /** Height of the register tile: row splits are multiples of it. */
  tileRows(): number;
  /** Width of the register tile: column splits are multiples of it. */
  tileCols(): number;
  /** SGMV shrink over a segment table (nodes/assembly/sgmv.ts): u[row, 0:r] = scale · x[row] · Aᵀ. */
  sgmvShrink(u: number, x: number, table: number, segments: number, IN: number, uStride: number): void;
  /** SGMV expand over a segment table: out[row] += u[row, 0:r] · Bᵀ. */
  sgmvExpand(out: number, u: number, table: number, segments: number, OUT: number, uStride: number): void;
  /** 32-bit words per segment-table entry: rowStart, rowEnd, factor address, rank, scale (f32). */
  segmentWords(): number;
  /** 1 when any of `n` f16 values at `src` is an infinity or NaN, else 0. */
  f16HasSpecials(src: number, n: number): number;
}

export interface KernelModule {
  module: WebAssembly.Module;
  fusedMultiplyAdd: boolean;
}

/** Bytes in a page of wasm memory. */
export const PAGE_BYTES = 65536;

/** Creates a shared memory every kernel instance (one per thread) imports as env.memory. */
export function createKernelMemory(initialPages = 16, maximumPages = MAX_MEMORY_PAGES): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.min(initialPages, maximumPages), maximum: maximumPages, shared: true });
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): MatmulKernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as MatmulKernels;
}

/**
 * Compiles the kernels. Prefers the fused multiply-add build unless `fusedMultiplyAdd` is false or
 * the runtime lacks relaxed SIMD. Throws WasmUnsupportedError when SIMD or shared memory is missing.
 */
export async function loadKernelModule({ fusedMultiplyAdd = true }: { fusedMultiplyAdd?: boolean } = {}): Promise<KernelModule> {
  if (typeof SharedArrayBuffer === "undefined") {
    throw new WasmUnsupportedError("SharedArrayBuffer is unavailable, so wasm threads cannot share memory.", { feature: "threads" });
  }
  try {
    createKernelMemory(1);
  } catch (cause) {
    throw new WasmUnsupportedError("This runtime cannot create shared WebAssembly memory.", { feature: "threads", cause });
  }
  if (fusedMultiplyAdd) {
    const bytes = await readKernelFile(KERNEL_FILES.fusedMultiplyAdd);
    if (WebAssembly.validate(bytes)) return { module: await WebAssembly.compile(bytes), fusedMultiplyAdd: true };
  }
  const bytes = await readKernelFile(KERNEL_FILES.simd);
  if (!WebAssembly.validate(bytes)) {
    throw new WasmUnsupportedError("This runtime rejects the WebAssembly SIMD + threads kernels.", { feature: "simd", file: fileURLToPath(KERNEL_FILES.simd) });
  }
  return { module: await WebAssembly.compile(bytes), fusedMultiplyAdd: false };
}

async function readKernelFile(file: URL): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new KernelFileError(`Cannot read the wasm matmul kernels at ${fileURLToPath(file)}; rebuild them with \`node scripts/build-wasm.ts\`.`, { file: fileURLToPath(file), cause });
  }
}
