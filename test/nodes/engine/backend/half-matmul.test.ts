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

    it("f16 with activations past 2^16 (too large to pre-scale) still equals the float32 product bit for bit", () => {
      const [M, K, N] = [3, 45, 21];
      const a = randomFloats(M * K, 77, backend.alloc(M * K));
      a[K + 5] = 1e5; // row 1 only; rows 0 and 2 stay small
      a[2 * K + 7] = -3e38;
      const values = randomFloats(N * K, 78, new Float32Array(N * K));
      const half = halfOf(backend, values, "f16");
      const converted = backend.alloc(N * K);
      converted.set(halfToFloat32(half));
      for (const rows of [1, M]) {
        const at = rows === 1 ? K : 0;
        const expected = backend.alloc(rows * N);
        const actual = backend.alloc(rows * N);
        backend.matmul(expected, a.subarray(at), converted, rows, K, N, { transB: true });
        backend.matmul(actual, a.subarray(at), half, rows, K, N, { transB: true });
        assert.deepEqual(actual, expected);
      }
    });

    it("f16 infinities, NaNs, zeros of both signs and subnormals widen exactly, on the few-rows and packed paths", () => {
      // Every f16 bit pattern class, K long enough for the vector loops and odd for the scalar tail.
      const K = 37;
      const specials = [0x0000, 0x8000, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x3c00, 0xbc00];
      const bits = new Uint16Array(2 * K);
      for (let i = 0; i < bits.length; i++) bits[i] = specials[i % specials.length];
      const half = backend.allocHalf(bits.length, "f16");
      half.bits.set(bits);
      const converted = backend.alloc(bits.length);
      converted.set(halfToFloat32(half));
      for (const M of [1, 9]) {
        // One-hot rows pick single weights, so every widened value shows up as an output bit for bit.
        const a = backend.alloc(M * K);
        for (let r = 0; r < M; r++) a[r * K + ((r * 5) % K)] = 1;
        const expected = backend.alloc(M * 2);
        const actual = backend.alloc(M * 2);
        backend.matmul(expected, a, converted, M, K, 2, { transB: true });
        backend.matmul(actual, a, half, M, K, 2, { transB: true });
        assert.deepEqual(actual, expected);
      }
    });

    for (const dtype of ["f32", "bf16", "f16"] as const) {
      it(`${dtype}: each row of a few-rows product equals that row computed alone (a sequence's logits do not depend on its batch)`, () => {
        const K = 203, N = 37;
        const values = randomFloats(N * K, 11, new Float32Array(N * K));
        const bOperand = dtype === "f32" ? backend.alloc(N * K) : halfOf(backend, values, dtype);
        if (bOperand instanceof Float32Array) bOperand.set(values);
        for (let M = 1; M <= 8; M++) {
          const a = randomFloats(M * K, 100 + M, backend.alloc(M * K));
          const together = backend.alloc(M * N);
          backend.matmul(together, a, bOperand, M, K, N, { transB: true });
          for (let r = 0; r < M; r++) {
            const alone = backend.alloc(N);
            backend.matmul(alone, a.subarray(r * K, (r + 1) * K), bOperand, 1, K, N, { transB: true });
            assert.deepEqual(together.subarray(r * N, (r + 1) * N), alone, `M=${M} row ${r}`);
          }
        }
      });
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
