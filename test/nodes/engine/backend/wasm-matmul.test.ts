import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { BackendDisposedError, BackendOptionError, MatmulShapeError } from "../../../../nodes/src/engine/backend/errors.ts";
import type { MatmulOptions } from "../../../../nodes/src/engine/backend/backend.ts";
import { assertMatchesReference, randomFloats } from "./matmul-check.ts";

const LAYOUTS: MatmulOptions[] = [
  {}, { transA: true }, { transB: true }, { transA: true, transB: true },
];

// Tile is 6 x 8, KC is 256, MC 96, NC 512, and up to 8 rows take the unpacked few-rows path:
// sizes straddle each of them.
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 13], [13, 7, 1], [1, 300, 515], [515, 300, 1], [6, 8, 8], [7, 9, 9],
  [5, 3, 7], [97, 257, 33], [100, 513, 520], [12, 1, 16], [4, 9, 70], [3, 300, 200], [8, 33, 301],
  // K past what the few-rows path can hold in scratch: falls back to the packed path.
  [2, 40000, 3],
];

interface Prepared { out: Float32Array; a: Float32Array; b: Float32Array; initial: Float32Array }

function prepare(backend: WasmBackend, M: number, K: number, N: number, seed: number, inArena: boolean): Prepared {
  const make = (n: number) => (inArena ? backend.alloc(n) : new Float32Array(n));
  const a = randomFloats(M * K, seed, make(M * K));
  const b = randomFloats(K * N, seed + 1, make(K * N));
  const initial = randomFloats(M * N, seed + 2);
  const out = make(M * N);
  out.set(initial);
  return { out, a, b, initial };
}

for (const threads of [1, 2]) {
  describe(`wasm matmul on ${threads} thread(s)`, () => {
    let backend: WasmBackend;
    // minParallelWork 0: every call goes through the pool, however small.
    before(async () => { backend = await createWasmBackend({ threads, minParallelWork: 0 }); });
    after(() => backend.dispose());

    for (const options of LAYOUTS) {
      for (const accumulate of [false, true]) {
        const layout = JSON.stringify({ ...options, accumulate });
        it(`matches the reference for ${layout} on odd shapes`, () => {
          for (const [index, [M, K, N]] of SHAPES.entries()) {
            const inArena = index % 2 === 0;
            const { out, a, b, initial } = prepare(backend, M, K, N, index * 7 + 1, inArena);
            backend.matmul(out, a, b, M, K, N, { ...options, accumulate });
            assertMatchesReference(out, a, b, M, K, N, { ...options, accumulate }, accumulate ? initial : undefined, `${layout} ${M}x${K}x${N}`);
          }
        });
      }
    }

    it("matches the reference on a large model-shaped product (256x768 · 768ᵀx1024)", () => {
      const [M, K, N] = [256, 768, 1024];
      const { out, a, b } = prepare(backend, M, K, N, 99, true);
      backend.matmul(out, a, b, M, K, N, { transB: true });
      assertMatchesReference(out, a, b, M, K, N, { transB: true });
    });

    it("handles empty products: M or N zero is a no-op, K zero zeroes or keeps out", () => {
      const out = Float32Array.of(1, 2, 3, 4);
      backend.matmul(out, new Float32Array(0), new Float32Array(20), 0, 5, 4);
      backend.matmul(out, new Float32Array(20), new Float32Array(0), 4, 5, 0);
      assert.deepEqual([...out], [1, 2, 3, 4]);
      backend.matmul(out, new Float32Array(0), new Float32Array(0), 2, 0, 2, { accumulate: true });
      assert.deepEqual([...out], [1, 2, 3, 4]);
      backend.matmul(out, new Float32Array(0), new Float32Array(0), 2, 0, 2);
      assert.deepEqual([...out], [0, 0, 0, 0]);
    });

    it("uses longer buffers' leading elements and leaves the rest of out alone", () => {
      const [M, K, N] = [3, 4, 5];
      const a = randomFloats(M * K + 10, 5);
      const b = randomFloats(K * N + 10, 6);
      const out = new Float32Array(M * N + 3).fill(42);
      backend.matmul(out, a, b, M, K, N);
      assertMatchesReference(out.subarray(0, M * N), a, b, M, K, N, {});
      assert.deepEqual([...out.subarray(M * N)], [42, 42, 42]);
    });

    it("works on subarray views of its own memory", () => {
      const [M, K, N] = [9, 10, 11];
      const pool = backend.alloc(1000);
      const a = randomFloats(M * K, 8, pool.subarray(3, 3 + M * K));
      const b = randomFloats(K * N, 9, pool.subarray(200, 200 + K * N));
      const out = pool.subarray(501, 501 + M * N);
      backend.matmul(out, a, b, M, K, N, { transA: true });
      assertMatchesReference(out, a, b, M, K, N, { transA: true });
    });

    it("rejects bad dimensions and short buffers with MatmulShapeError", () => {
      const buffer = new Float32Array(4);
      assert.throws(() => backend.matmul(buffer, buffer, buffer, 2, 3, 2), (error: unknown) =>
        error instanceof MatmulShapeError && error.details.buffer === "a" && error.details.needed === 6);
      assert.throws(() => backend.matmul(buffer, buffer, buffer, 1.5, 1, 1), MatmulShapeError);
      assert.throws(() => backend.matmul(buffer, buffer, buffer, -1, 1, 1), MatmulShapeError);
      assert.throws(() => backend.alloc(-3), MatmulShapeError);
    });
  });
}

describe("wasm matmul determinism", () => {
  it("gives bit-identical results on 1 and 2 threads, for both kernel builds", async () => {
    for (const fusedMultiplyAdd of [true, false]) {
      const single = await createWasmBackend({ threads: 1, fusedMultiplyAdd });
      const double = await createWasmBackend({ threads: 2, fusedMultiplyAdd, minParallelWork: 0 });
      try {
        // [100, 40, 30] ends in a 4-row chunk, [3, 50, 500] takes the few-rows path in column chunks.
        for (const [M, K, N] of [[200, 300, 100], [5, 600, 700], [64, 64, 64], [100, 40, 30], [3, 50, 500]] as const) {
          for (const options of LAYOUTS) {
            const a = randomFloats(M * K, M);
            const b = randomFloats(K * N, N);
            const one = new Float32Array(M * N);
            const two = new Float32Array(M * N);
            single.matmul(one, a, b, M, K, N, options);
            double.matmul(two, a, b, M, K, N, options);
            assert.deepEqual(two, one, `${M}x${K}x${N} ${JSON.stringify(options)} fma=${fusedMultiplyAdd}`);
          }
        }
      } finally {
        await single.dispose();
        await double.dispose();
      }
    }
  });

  it("the plain SIMD build also matches the reference", async () => {
    const backend = await createWasmBackend({ threads: 2, fusedMultiplyAdd: false });
    try {
      assert.equal(backend.fusedMultiplyAdd, false);
      const [M, K, N] = [70, 300, 90];
      const a = randomFloats(M * K, 1);
      const b = randomFloats(K * N, 2);
      for (const options of LAYOUTS) {
        const out = new Float32Array(M * N);
        backend.matmul(out, a, b, M, K, N, options);
        assertMatchesReference(out, a, b, M, K, N, options);
      }
    } finally {
      await backend.dispose();
    }
  });
});

describe("wasm backend lifecycle", () => {
  it("refuses calls after dispose() and disposes twice without error", async () => {
    const backend = await createWasmBackend({ threads: 2 });
    await backend.dispose();
    await backend.dispose();
    const buffer = new Float32Array(1);
    assert.throws(() => backend.matmul(buffer, buffer, buffer, 1, 1, 1), BackendDisposedError);
    assert.throws(() => backend.alloc(1), BackendDisposedError);
  });

  it("rejects out-of-range options with BackendOptionError naming the option", async () => {
    await assert.rejects(createWasmBackend({ threads: 0 }), (error: unknown) => error instanceof BackendOptionError && error.details.option === "threads");
    await assert.rejects(createWasmBackend({ threads: 1.5 }), BackendOptionError);
    await assert.rejects(createWasmBackend({ minParallelWork: -1 }), (error: unknown) => error instanceof BackendOptionError && error.details.option === "minParallelWork");
  });

  it("names itself after its build and thread count", async () => {
    const backend = await createWasmBackend({ threads: 1, fusedMultiplyAdd: false });
    assert.equal(backend.name, "wasm-simd, 1 thread");
    await backend.dispose();
  });
});
