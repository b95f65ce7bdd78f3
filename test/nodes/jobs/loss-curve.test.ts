/** The loss curve a training job's record keeps: thinned evenly to a bounded number of points, the last kept. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LOSS_CURVE_POINTS, thinCurve } from "../../../nodes/src/jobs/phases/engine-phases.ts";

const curve = (n: number): [number, number][] => Array.from({ length: n }, (_, i) => [i + 1, 10 / (i + 1)]);

describe("thinCurve", () => {
  it("keeps a short curve whole", () => {
    assert.deepEqual(thinCurve(curve(16)), curve(16));
  });

  it("thins a long curve to at most the limit, evenly, the last point kept", () => {
    for (const n of [LOSS_CURVE_POINTS + 1, 10_001, 12_345]) {
      const long = curve(n);
      const thinned = thinCurve(long);
      assert.ok(thinned.length <= LOSS_CURVE_POINTS && thinned.length >= LOSS_CURVE_POINTS / 2, `${n} points thinned to ${thinned.length}`);
      assert.deepEqual(thinned.at(-1), long.at(-1));
      const strides = new Set(thinned.slice(1).map((p, i) => p[0] - thinned[i][0]));
      assert.equal(strides.size, 1, "one stride between kept points");
    }
  });

  it("is the identity at the limit", () => {
    assert.deepEqual(thinCurve(curve(LOSS_CURVE_POINTS)), curve(LOSS_CURVE_POINTS));
  });
});
