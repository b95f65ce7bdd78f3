import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { swigluBackward, swigluForward } from "../../../../nodes/src/engine/ops/swiglu.ts";
import { randomArray } from "./gradcheck.ts";

describe("swiglu with the kept sigmoid", () => {
  it("gives the same gradients as recomputing it", () => {
    const size = 64;
    const gate = randomArray(size, 31, 4);
    const up = randomArray(size, 32, 2);
    const dout = randomArray(size, 33);
    const out = new Float32Array(size);
    const sigmoid = new Float32Array(size);
    swigluForward(out, gate, up, size, sigmoid);
    const kept = { dgate: new Float32Array(size), dup: new Float32Array(size) };
    const recomputed = { dgate: new Float32Array(size), dup: new Float32Array(size) };
    swigluBackward(kept.dgate, kept.dup, dout, gate, up, size, sigmoid);
    swigluBackward(recomputed.dgate, recomputed.dup, dout, gate, up, size);
    for (let i = 0; i < size; i++) {
      // The kept sigmoid is float32, the recomputed one double: they agree to float32 rounding.
      assert.ok(Math.abs(kept.dgate[i] - recomputed.dgate[i]) <= 1e-6 * (1 + Math.abs(recomputed.dgate[i])), `dgate ${i}`);
      assert.ok(Math.abs(kept.dup[i] - recomputed.dup[i]) <= 1e-6 * (1 + Math.abs(recomputed.dup[i])), `dup ${i}`);
    }
  });
});
