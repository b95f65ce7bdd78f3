import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { compileKernels, type KernelVariant } from "../../../../scripts/build-wasm.ts";
import { KERNEL_FILES } from "../../../../nodes/src/engine/backend/wasm/kernel-module.ts";

describe("committed wasm kernels", () => {
  for (const variant of Object.keys(KERNEL_FILES) as KernelVariant[]) {
    it(`${variant} matches a fresh build of nodes/assembly/ (if not: node scripts/build-wasm.ts)`, async () => {
      const committed = new Uint8Array(await readFile(KERNEL_FILES[variant]));
      const fresh = await compileKernels(variant);
      assert.ok(Buffer.from(committed).equals(Buffer.from(fresh)), `${KERNEL_FILES[variant].pathname} is stale: run node scripts/build-wasm.ts`);
    });
  }
});
