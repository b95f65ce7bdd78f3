/**
 * Half-precision weights in memory: a matmul whose b is bf16 or f16 (converted to float32 a tile at
 * a time inside the kernel) gives bit for bit what the same matmul gives with b converted to float32
 * up front, on every path of the kernel (few rows and packed, ragged edges, K past one panel, the
 * thread pool) and on the reference backend.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HalfMatrix } from "../../../../nodes/src/engine/backend/backend.ts";
import { MatmulShapeError } from "../../../../nodes/src/engine/backend/errors.ts";
import { createReferenceBackend, halfToFloat32 } from "../../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { f32ToBf16, f32ToF16 } from "../../../../nodes/src/engine/formats/half-precision.ts";
import { randomFloats } from "./matmul-check.ts";

// [M, K, N]: few-rows (M ≤ 8) and packed paths; K past KC (256) and odd; N past NC (512) and ragged.
const SHAPES: [number, number, number][] = [[1, 7, 5], [3, 64, 33], [8, 300, 130], [9, 257, 520], [40, 33, 17], [1, 4096, 3], [13, 520, 9]];

function halfOf(backend: { allocHalf(n: number, dtype: HalfMatrix["dtype"]): HalfMatrix }, values: Float32Array, dtype: HalfMatrix["dtype"]): HalfMatrix {
  const matrix = backend.allocHalf(values.length, dtype);
  matrix.bits.set(dtype === "bf16" ? f32ToBf16(values) : f32ToF16(values));
  return matrix;
}

for (const threads of [1, 2]) {
  describe(`half-precision b on the wasm backend, ${threads} thread(s)`, () => {
    let backend: WasmBackend;
    before(async () => { backend = await createWasmBackend({ threads, minParallelWork: 0 }); });
    after(() => backend.dispose());

    for (const dtype of ["bf16", "f16"] as const) {
      for (const [M, K, N] of SHAPES) {
        it(`${dtype} ${M}×${K}×${N} equals the float32 product of the converted weights, bit for bit`, () => {
          const a = randomFloats(M * K, M + K, backend.alloc(M * K));
          const values = randomFloats(N * K, N, new Float32Array(N * K));
          // Tiny values too: f16 subnormals must convert exactly.
          for (let i = 0; i < values.length; i += 7) values[i] *= 1e-6;
          const half = halfOf(backend, values, dtype);
          const converted = backend.alloc(N * K);
          converted.set(halfToFloat32(half));
          for (const accumulate of [false, true]) {
            const expected = randomFloats(M * N, 3, backend.alloc(M * N));
            const actual = backend.alloc(M * N);
            actual.set(expected);
            backend.matmul(expected, a, converted, M, K, N, { transB: true, accumulate });
            backend.matmul(actual, a, half, M, K, N, { transB: true, accumulate });
            assert.deepEqual(actual, expected);
          }
        });
      }
    }

    it("refuses a half-precision b without transB, or outside the backend's memory", () => {
      const half = halfOf(backend, randomFloats(12, 1), "bf16");
      assert.throws(() => backend.matmul(backend.alloc(12), backend.alloc(9), half, 3, 3, 4), MatmulShapeError);
      assert.throws(() => backend.matmul(backend.alloc(12), backend.alloc(9), { dtype: "bf16", bits: new Uint16Array(12) }, 3, 3, 4, { transB: true }), MatmulShapeError);
    });
  });
}

describe("half-precision b on the reference backend", () => {
  it("equals the product of the converted weights", () => {
    const backend = createReferenceBackend();
    const a = randomFloats(5 * 9, 1);
    const half = halfOf(backend, randomFloats(7 * 9, 2), "f16");
    const expected = new Float32Array(5 * 7);
    const actual = new Float32Array(5 * 7);
    backend.matmul(expected, a, halfToFloat32(half), 5, 9, 7, { transB: true });
    backend.matmul(actual, a, half, 5, 9, 7, { transB: true });
    assert.deepEqual(actual, expected);
    backend.free(half);
    assert.equal(backend.memoryStats().liveBytes, 0);
  });
});
