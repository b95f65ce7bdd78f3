import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBackend } from "../../../../nodes/src/engine/backend/create-backend.ts";
import { GEMM_FLAGS, createKernelMemory, loadKernelModule } from "../../../../nodes/src/engine/backend/wasm/kernel-module.ts";
import { assertMatchesReference, randomFloats } from "./matmul-check.ts";

describe("createBackend", () => {
  it("picks the wasm backend on this runtime and it computes a matmul", async () => {
    const backend = await createBackend({ threads: 2 });
    try {
      assert.match(backend.name, /^wasm-simd/);
      const [M, K, N] = [33, 65, 17];
      const a = randomFloats(M * K, 1, backend.alloc(M * K));
      const b = randomFloats(K * N, 2, backend.alloc(K * N));
      const out = backend.alloc(M * N);
      backend.matmul(out, a, b, M, K, N, { transA: false, transB: false });
      assertMatchesReference(out, a, b, M, K, N, {});
    } finally {
      await backend.dispose();
    }
  });

  it("falls back to the reference backend where shared WebAssembly memory is missing", async () => {
    const original = globalThis.SharedArrayBuffer;
    Reflect.deleteProperty(globalThis, "SharedArrayBuffer");
    try {
      const backend = await createBackend();
      assert.equal(backend.name, "reference");
      await backend.dispose();
    } finally {
      globalThis.SharedArrayBuffer = original;
    }
  });

  it("agrees with the kernel module on gemm's flag values", async () => {
    const { module } = await loadKernelModule();
    const exports = new WebAssembly.Instance(module, { env: { memory: createKernelMemory(1) } }).exports;
    assert.equal((exports.TRANS_A as WebAssembly.Global).value, GEMM_FLAGS.transA);
    assert.equal((exports.TRANS_B as WebAssembly.Global).value, GEMM_FLAGS.transB);
    assert.equal((exports.ACCUMULATE as WebAssembly.Global).value, GEMM_FLAGS.accumulate);
  });
});
