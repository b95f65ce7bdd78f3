/**
 * The segmented LoRA kernels (SGMV shrink and expand, nodes/assembly/sgmv.ts) against plain loops,
 * and the batch's LoRA update in one shrink + one expand against the per-adapter-group loop of two
 * matmuls each that it replaces.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Backend, LoraSegment } from "../../../../nodes/src/engine/backend/backend.ts";
import { MatmulShapeError } from "../../../../nodes/src/engine/backend/errors.ts";
import { createReferenceBackend, sgmvExpandReference, sgmvShrinkReference } from "../../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { addLoraDeltas, addLoraDeltasPerGroup, type AdapterRowGroup } from "../../../../nodes/src/engine/inference/lora-batch.ts";
import { createLoraAdapter, loraScale, loraTargetDims } from "../../../../nodes/src/engine/lora/adapter.ts";
import type { LlamaConfig } from "../../../../nodes/src/engine/model/config.ts";
import { randomFloats } from "./matmul-check.ts";

/** |a − b| within a few float32 ulps of the magnitudes involved. */
function assertClose(actual: Float32Array, expected: Float32Array, scale: number, label: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const tolerance = 1e-6 * (scale + Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) assert.fail(`${label}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Segments with ranks 1..16 (odd ones too: SIMD tails), gaps between them, single-row and empty ones. */
function segmentsFor(make: (n: number) => Float32Array, width: number, seed: number): { segments: LoraSegment[]; rows: number; uStride: number } {
  const layout: [number, number, number][] = [[0, 3, 8], [3, 4, 1], [6, 11, 16], [11, 11, 4], [12, 13, 5], [14, 20, 7]];
  const segments = layout.map(([rowStart, rowEnd, rank], s) => ({
    rowStart, rowEnd, rank, scale: 0.5 + s, factor: randomFloats(rank * width, seed + s, make(rank * width)),
  }));
  return { segments, rows: 21, uStride: 16 };
}

for (const fusedMultiplyAdd of [false, true]) {
  describe(`SGMV kernels, wasm${fusedMultiplyAdd ? " with fused multiply-add" : ""}`, () => {
    let backend: WasmBackend;
    before(async () => { backend = await createWasmBackend({ threads: 1, fusedMultiplyAdd }); });
    after(() => backend.dispose());

    for (const inArena of [true, false]) {
      for (const width of [1, 3, 8, 37, 256]) {
        it(`shrink and expand match plain loops (width ${width}, buffers ${inArena ? "in the arena" : "staged"})`, () => {
          const make = (n: number) => (inArena ? backend.alloc(n) : new Float32Array(n));
          const { segments, rows, uStride } = segmentsFor(make, width, width);
          const x = randomFloats(rows * width, 99, make(rows * width));
          const u = make(rows * uStride).fill(7);
          const expectedU = new Float32Array(rows * uStride).fill(7);
          backend.sgmvShrink(u, x, segments, width, uStride);
          sgmvShrinkReference(expectedU, x, segments, width, uStride);
          assertClose(u, expectedU, width, "u");
          assert.equal(u[4 * uStride], 7, "row 4 is in no segment: untouched");

          const out = randomFloats(rows * width, 5, make(rows * width));
          const expectedOut = Float32Array.from(out);
          backend.sgmvExpand(out, u, segments, width, uStride);
          sgmvExpandReference(expectedOut, u, segments, width, uStride);
          assertClose(out, expectedOut, 16 * 8, "out");
        });
      }
    }

    it("refuses a segment that reaches past its buffers", () => {
      const x = backend.alloc(4 * 8);
      const u = backend.alloc(4 * 2);
      const segment: LoraSegment = { rowStart: 2, rowEnd: 5, rank: 2, scale: 1, factor: backend.alloc(16) };
      assert.throws(() => backend.sgmvShrink(u, x, [segment], 8, 2), MatmulShapeError);
      assert.throws(() => backend.sgmvShrink(u, x, [{ ...segment, rowEnd: 3, rank: 3 }], 8, 2), MatmulShapeError);
    });
  });
}

describe("the batch's LoRA update: one shrink and one expand per projection", () => {
  const config: LlamaConfig = {
    vocabSize: 16, hiddenSize: 48, intermediateSize: 80, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 12,
    rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 32, tieWordEmbeddings: true,
  };
  let wasm: WasmBackend;
  before(async () => { wasm = await createWasmBackend({ threads: 1 }); });
  after(() => wasm.dispose());

  for (const name of ["reference", "wasm"] as const) {
    it(`matches the per-adapter-group loop of two matmuls (${name} backend), and calls the backend twice`, () => {
      const inner: Backend = name === "wasm" ? wasm : createReferenceBackend();
      const adapters = [4, 8, 2, 8].map((rank, i) => {
        const adapter = createLoraAdapter(config, { rank, alpha: 2 * rank, targetModules: i === 2 ? ["v_proj"] : ["q_proj", "v_proj"] }, { seed: i, baseModel: "t" });
        for (const { B } of adapter.weights.values()) randomFloats(B.length, 40 + i, B);
        return adapter;
      });
      // 1,000-adapter batches are the same code path: segments are just more numerous.
      const sizes = [1, 5, 2, 9];
      let row = 0;
      const groups: AdapterRowGroup[] = adapters.map((adapter, i) => {
        const group = { adapter, scale: loraScale(adapter.config), rowStart: row + 1, rowEnd: row + 1 + sizes[i] };
        row = group.rowEnd;
        return group;
      });
      const N = row + 2;
      const inp = randomFloats(N * config.hiddenSize, 3);
      let calls = 0;
      const counted: Backend = { ...inner, matmul: (...args) => { calls++; inner.matmul(...args); },
        sgmvShrink: (...args) => { calls++; inner.sgmvShrink(...args); }, sgmvExpand: (...args) => { calls++; inner.sgmvExpand(...args); } };
      for (const target of ["q_proj", "v_proj"] as const) {
        const { IN, OUT } = loraTargetDims(config, target);
        const base = randomFloats(N * OUT, 4);
        const fused = Float32Array.from(base);
        const looped = Float32Array.from(base);
        calls = 0;
        addLoraDeltas(counted, fused, inp, groups, 1, target, IN, OUT, new Float32Array(N * 8));
        assert.equal(calls, 2);
        addLoraDeltasPerGroup(inner, looped, inp, groups, 1, target, IN, OUT, new Float32Array(N * 8));
        assertClose(fused, looped, 4, target);
        assert.notDeepEqual(fused, base, "the adapters changed something");
        for (const r of [0, N - 1]) assert.deepEqual(fused.subarray(r * OUT, (r + 1) * OUT), base.subarray(r * OUT, (r + 1) * OUT), "base-only rows untouched");
      }
    });
  }
});
