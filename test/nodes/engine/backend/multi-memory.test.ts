/**
 * Weights past one wasm32 memory: the wasm backend opens another shared memory when buffers no longer
 * fit (4 GiB each by default; lowered here so a small model spans several), runs each matmul where
 * its weights live and stages the other operands there. Results must be those of one memory, bit
 * for bit, on 1 and 2 threads, for float32 and half-precision weights, through a whole decoder.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HalfMatrix, LoraSegment, WeightMatrix } from "../../../../nodes/src/engine/backend/backend.ts";
import { BackendOptionError, WasmMemoryExhaustedError } from "../../../../nodes/src/engine/backend/errors.ts";
import { sgmvExpandReference, sgmvShrinkReference } from "../../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { f32ToF16 } from "../../../../nodes/src/engine/formats/half-precision.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { copyLoraAdapter, createLoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import type { LlamaConfig } from "../../../../nodes/src/engine/model/config.ts";
import { initLlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";
import { assertMatchesReference, randomFloats } from "./matmul-check.ts";

const MIB = 1024 * 1024;
/** 16 MiB memories: a few MiB of scratch per thread and 4 MiB of headroom leave room for a few weights each. */
const SMALL_MEMORY = 16 * MIB;

/** About 38 MiB of float32 weights: at least three 16 MiB memories. */
const CONFIG: LlamaConfig = {
  vocabSize: 2048, hiddenSize: 512, intermediateSize: 1024, numLayers: 3, numHeads: 8, numKvHeads: 4, headDim: 64,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 64, tieWordEmbeddings: false,
};

for (const threads of [1, 2]) {
  describe(`wasm backend over several memories, ${threads} thread(s)`, () => {
    let spread: WasmBackend;
    let single: WasmBackend;
    before(async () => {
      spread = await createWasmBackend({ threads, minParallelWork: 0, memoryBytes: SMALL_MEMORY });
      single = await createWasmBackend({ threads, minParallelWork: 0 });
    });
    after(async () => {
      await spread.dispose();
      await single.dispose();
    });

    it("opens a memory when buffers outgrow one, and multiplies operands that live in different memories", () => {
      const [M, K, N] = [7, 700, 1500];
      const a = randomFloats(M * K, 1, spread.alloc(M * K));
      const weights = Array.from({ length: 6 }, (_, i) => randomFloats(N * K, 10 + i, spread.alloc(N * K)));
      assert.ok(spread.memoryStats().memories >= 3, `${spread.memoryStats().memories} memories`);
      for (const [i, b] of weights.entries()) {
        for (const options of [{ transB: true }, { transB: true, accumulate: true }, {}]) {
          const initial = randomFloats(M * N, 5);
          const out = spread.alloc(M * N);
          out.set(initial);
          spread.matmul(out, a, b, M, K, N, options);
          assertMatchesReference(out, a, b, M, K, N, options, initial, `weight ${i} ${JSON.stringify(options)}`);
          spread.free(out);
        }
      }
      const live = spread.memoryStats().liveBytes;
      for (const b of weights) spread.free(b);
      assert.ok(spread.memoryStats().liveBytes <= live - weights.length * N * K * 4);
    });

    it("runs the SGMV kernels with factors in another memory than the batch", () => {
      const width = 600;
      // Fill the first memory so the factors land in another.
      const filler = spread.alloc((3 * MIB) / 4);
      const before = spread.memoryStats().memories;
      const segments: LoraSegment[] = [[0, 2, 4], [2, 5, 8]].map(([rowStart, rowEnd, rank], s) => ({
        rowStart, rowEnd, rank, scale: 0.5 + s, factor: randomFloats(rank * width, 30 + s, spread.alloc(rank * width)),
      }));
      const big = Array.from({ length: 3 }, () => spread.alloc((2 * MIB) / 4));
      const x = randomFloats(5 * width, 2, spread.alloc(5 * width));
      const u = spread.alloc(5 * 8);
      const expectedU = new Float32Array(5 * 8);
      spread.sgmvShrink(u, x, segments, width, 8);
      sgmvShrinkReference(expectedU, x, segments, width, 8);
      for (let i = 0; i < u.length; i++) assert.ok(Math.abs(u[i] - expectedU[i]) <= 1e-5 * (1 + Math.abs(expectedU[i])), `u[${i}]`);
      const out = randomFloats(5 * width, 3, spread.alloc(5 * width));
      const expectedOut = Float32Array.from(out);
      const expandSegments = segments.map((segment, s) => ({ ...segment, factor: randomFloats(width * segment.rank, 40 + s, spread.alloc(width * segment.rank)) }));
      spread.sgmvExpand(out, u, expandSegments, width, 8);
      sgmvExpandReference(expectedOut, u, expandSegments, width, 8);
      for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - expectedOut[i]) <= 1e-5 * (1 + Math.abs(expectedOut[i])), `out[${i}]`);
      assert.ok(spread.memoryStats().memories >= before);
      for (const buffer of [filler, ...big, x, u, out, ...segments.map((s) => s.factor), ...expandSegments.map((s) => s.factor)]) spread.free(buffer);
    });

    for (const precision of ["f32", "f16"] as const) {
      it(`a ${precision} decoder whose weights span several memories gives the logits of one memory, bit for bit`, () => {
        const logitsOn = (backend: WasmBackend) => {
          const weights = new Map<string, WeightMatrix>();
          for (const [name, values] of initLlamaWeights(CONFIG, 3, 0.05)) {
            if (precision === "f32" || name.endsWith("norm.weight")) {
              const buffer = backend.alloc(values.length);
              buffer.set(values);
              weights.set(name, buffer);
            } else {
              const half: HalfMatrix = backend.allocHalf(values.length, "f16");
              half.bits.set(f32ToF16(values));
              weights.set(name, half);
            }
          }
          const adapter = createLoraAdapter(CONFIG, { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"] }, { seed: 5, baseModel: "test" });
          const rng = new Rng(9);
          for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-0.1, 0.1);
          const placed = copyLoraAdapter(adapter, (n) => backend.alloc(n));
          const decoder = new BatchedDecoder(CONFIG, weights, backend, 32);
          const caches = [createSequenceKvCache(backend, CONFIG, 32), createSequenceKvCache(backend, CONFIG, 32)];
          const steps: Float32Array[] = [];
          // A prefill past the few-rows path (12 rows), then decode steps of two sequences.
          steps.push(Float32Array.from(decoder.forward([
            { cache: caches[0], tokens: [1, 2, 3, 4, 5, 6, 7], adapter: placed },
            { cache: caches[1], tokens: [9, 8, 7, 6, 5], adapter: null },
          ])));
          for (let t = 0; t < 3; t++) {
            steps.push(Float32Array.from(decoder.forward([
              { cache: caches[0], tokens: [100 + t], adapter: placed },
              { cache: caches[1], tokens: [200 + t], adapter: null },
            ])));
          }
          return steps;
        };
        const expected = logitsOn(single);
        const actual = logitsOn(spread);
        assert.equal(single.memoryStats().memories, 1);
        assert.ok(spread.memoryStats().memories >= 2, `${spread.memoryStats().memories} memories`);
        actual.forEach((logits, step) => assert.deepEqual(logits, expected[step], `step ${step}`));
      });
    }

    it("refuses a single buffer larger than one memory with WasmMemoryExhaustedError", () => {
      assert.throws(() => spread.alloc(SMALL_MEMORY / 4), WasmMemoryExhaustedError);
      assert.throws(() => spread.allocHalf(SMALL_MEMORY / 2, "bf16"), WasmMemoryExhaustedError);
    });
  });
}

describe("wasm backend memory option", () => {
  it("rejects a memoryBytes that is not a multiple of 64 KiB between 4 MiB and 4 GiB", async () => {
    for (const memoryBytes of [1000, 65536, 2 * 2 ** 32, 4 * MIB + 1]) {
      await assert.rejects(createWasmBackend({ threads: 1, memoryBytes }), BackendOptionError);
    }
  });
});
