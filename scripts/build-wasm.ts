/**
 * Builds the engine's WebAssembly matmul kernels from nodes/assembly/ (AssemblyScript; matmul.ts is
 * the entry and imports the rest) into the .wasm files the wasm backend loads. The outputs are
 * committed, so a fresh clone works without running this; test/nodes/engine/backend/wasm-build.test.ts
 * checks they match a fresh build.
 *
 *   node scripts/build-wasm.ts          # rebuild both variants
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { KERNEL_FILES, MAX_MEMORY_PAGES } from "../nodes/src/engine/backend/wasm/kernel-module.ts";

const SOURCE = fileURLToPath(new URL("../nodes/assembly/matmul.ts", import.meta.url));

export type KernelVariant = keyof typeof KERNEL_FILES;

export class WasmBuildError extends Error {
  readonly details: { variant: KernelVariant; diagnostics: string };

  constructor(variant: KernelVariant, diagnostics: string) {
    super(`AssemblyScript failed to compile the ${variant} matmul kernels:\n${diagnostics}`);
    this.name = "WasmBuildError";
    this.details = { variant, diagnostics };
  }
}

/** Compiles one variant of the kernels and returns the .wasm bytes. */
export async function compileKernels(variant: KernelVariant): Promise<Uint8Array> {
  const features = ["simd", "threads", ...(variant === "fusedMultiplyAdd" ? ["relaxed-simd"] : [])];
  let binary: Uint8Array | undefined;
  let diagnostics = "";
  const { error } = await asc.main([
    SOURCE,
    "--outFile", "kernels.wasm",
    "--enable", features.join(","),
    // Every thread instantiates the module on one memory the JavaScript side creates and shares.
    "--importMemory", "--noExportMemory", "--sharedMemory",
    "--initialMemory", "1", "--maximumMemory", String(MAX_MEMORY_PAGES),
    // No allocator and no assertions: the kernels only touch memory through the pointers they get.
    "--runtime", "stub", "--noAssert",
    "--optimizeLevel", "3", "--shrinkLevel", "0",
  ], {
    writeFile: (_name, contents) => {
      binary = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
    },
    stdout: { write: (text: string | Uint8Array) => { diagnostics += String(text); return true; } } as never,
    stderr: { write: (text: string | Uint8Array) => { diagnostics += String(text); return true; } } as never,
  });
  if (error || binary === undefined) throw new WasmBuildError(variant, `${error?.message ?? "no output"}\n${diagnostics}`);
  return binary;
}

async function main(): Promise<void> {
  for (const variant of Object.keys(KERNEL_FILES) as KernelVariant[]) {
    const bytes = await compileKernels(variant);
    await writeFile(KERNEL_FILES[variant], bytes);
    console.log(`${fileURLToPath(KERNEL_FILES[variant])}: ${bytes.length} bytes`);
  }
}

if (import.meta.main) await main();
