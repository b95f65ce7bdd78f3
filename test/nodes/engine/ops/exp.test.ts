import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fastExp } from "../../../../nodes/src/engine/ops/exp.ts";

describe("fastExp", () => {
  it("matches Math.exp to 1e-14 relative across the double range", () => {
    let worst = 0;
    // A fixed sweep (no randomness): every table entry and both ends of the normal range.
    for (let x = -707.99; x < 708.99; x += 0.0137) {
      const expected = Math.exp(x);
      worst = Math.max(worst, Math.abs(fastExp(x) - expected) / expected);
    }
    assert.ok(worst < 1e-14, `worst relative error ${worst}`);
  });

  it("rounds to the same float32 as Math.exp over softmax's range", () => {
    let differing = 0;
    for (let x = -40; x <= 0; x += 1e-4) if (Math.fround(fastExp(x)) !== Math.fround(Math.exp(x))) differing++;
    // Only ties within 1e-15 of a float32 rounding boundary may differ.
    assert.ok(differing <= 2, `${differing} float32 results differ`);
  });

  it("hands the edges to Math.exp: underflow, overflow, infinities, NaN", () => {
    for (const x of [-1e9, -Infinity, -745.2, -720, 709.5, 710, 1e9, Infinity, 0, -0]) {
      assert.equal(fastExp(x), Math.exp(x), `x = ${x}`);
    }
    assert.ok(Number.isNaN(fastExp(NaN)));
  });
});
