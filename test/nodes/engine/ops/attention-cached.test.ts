import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { attentionForward } from "../../../../nodes/src/engine/ops/attention.ts";
import { attentionCachedForward, type CachedAttentionShape } from "../../../../nodes/src/engine/ops/attention-cached.ts";
import { BufferSizeError, InvalidShapeError } from "../../../../nodes/src/engine/ops/errors.ts";
import { randomArray } from "./gradcheck.ts";

describe("cached attention (the batched decoder's step) equals the plain attention bit for bit", () => {
  for (const shape of [
    { Tq: 1, Tk: 9, NH: 9, NKV: 3, HS: 64 },  // a decode row of SmolLM2's shape
    { Tq: 1, Tk: 1, NH: 4, NKV: 4, HS: 8 },   // the first token: one key
    { Tq: 5, Tk: 5, NH: 8, NKV: 4, HS: 32 },  // a prefill into an empty cache
    { Tq: 3, Tk: 7, NH: 6, NKV: 2, HS: 6 },   // a chunk after cached tokens; HS not a multiple of four
  ] as CachedAttentionShape[]) {
    it(`Tq=${shape.Tq} Tk=${shape.Tk} NH=${shape.NH} NKV=${shape.NKV} HS=${shape.HS}`, () => {
      const { Tq, Tk, NH, NKV, HS } = shape;
      const row = 2; // the sequence sits at rows [2, 2 + Tq) of a bigger step
      const rows = row + Tq + 1;
      const q = randomArray(rows * NH * HS, 1, 2);
      const capacity = Tk + 3;
      const keys = randomArray(capacity * NKV * HS, 2, 2);
      const values = randomArray(capacity * NKV * HS, 3);
      const expected = new Float32Array(Tq * NH * HS);
      attentionForward(expected, new Float32Array(NH * Tq * Tk), q.subarray(row * NH * HS, (row + Tq) * NH * HS),
        keys.subarray(0, Tk * NKV * HS), values.subarray(0, Tk * NKV * HS), { B: 1, Tq, Tk, NH, NKV, HS });

      const out = new Float32Array(rows * NH * HS).fill(7);
      attentionCachedForward(out, q, row, keys, values, new Float32Array((NH / NKV) * Tk), shape);
      assert.deepEqual(out.subarray(row * NH * HS, (row + Tq) * NH * HS), expected);
      // Other sequences' rows are left alone.
      assert.ok(out.subarray(0, row * NH * HS).every((x) => x === 7));
      assert.ok(out.subarray((row + Tq) * NH * HS).every((x) => x === 7));
    });
  }

  it("names a scores buffer too small for one kv head's query heads", () => {
    const shape = { Tq: 1, Tk: 4, NH: 4, NKV: 2, HS: 4 };
    const q = new Float32Array(16);
    const kv = new Float32Array(32);
    assert.throws(() => attentionCachedForward(new Float32Array(16), q, 0, kv, kv, new Float32Array(7), shape),
      (error: unknown) => error instanceof BufferSizeError && error.details.buffer === "scores" && error.details.required === 8);
  });

  it("refuses query heads that do not group over the kv heads", () => {
    const shape = { Tq: 1, Tk: 1, NH: 3, NKV: 2, HS: 4 };
    assert.throws(() => attentionCachedForward(new Float32Array(12), new Float32Array(12), 0, new Float32Array(8), new Float32Array(8), new Float32Array(8), shape),
      InvalidShapeError);
  });
});
