import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidParameterError, mixWeights, PPM, scoresToPpm, splitByLargestRemainder } from "../../../nodes/src/attribution/index.ts";
import { seededRandom } from "./fixtures.ts";

describe("exact weights", () => {
  it("splits any total exactly by largest remainder, leftovers to the largest remainders", () => {
    assert.deepEqual(splitByLargestRemainder(10n, [1n, 1n, 1n]), [4n, 3n, 3n]);
    assert.deepEqual(splitByLargestRemainder(100n, [1n, 2n, 3n]), [17n, 33n, 50n]);
    const random = seededRandom(9);
    for (let trial = 0; trial < 200; trial++) {
      const total = BigInt(Math.floor(random() * 1e9));
      const weights = Array.from({ length: 1 + Math.floor(random() * 20) }, () => BigInt(Math.floor(random() * 1e6)) + 1n);
      const parts = splitByLargestRemainder(total, weights);
      assert.equal(parts.reduce((a, b) => a + b, 0n), total);
    }
    assert.throws(() => splitByLargestRemainder(5n, [0n]), InvalidParameterError);
  });

  it("normalizes scores to ppm summing to exactly one million, ordered by id", () => {
    const weights = scoresToPpm(new Map([[3n, 1], [1n, 1], [2n, 1], [4n, 0], [5n, -2]]));
    assert.deepEqual(weights.map((w) => w.contributionId), [1n, 2n, 3n]);
    assert.equal(weights.reduce((s, w) => s + w.ppm, 0), PPM);
    assert.deepEqual(scoresToPpm(new Map()), []);
  });

  it("mixes span and gradient weights, falling back to the method that has evidence", () => {
    const span = [{ contributionId: 1n, ppm: PPM }];
    const gradient = [
      { contributionId: 1n, ppm: 200_000 },
      { contributionId: 2n, ppm: 800_000 },
    ];
    assert.deepEqual(mixWeights(span, gradient, 250_000), {
      weights: [
        { contributionId: 1n, ppm: 400_000 },
        { contributionId: 2n, ppm: 600_000 },
      ],
      effectiveMixPpm: 250_000,
    });
    assert.deepEqual(mixWeights([], gradient, 250_000), { weights: gradient, effectiveMixPpm: 0 });
    assert.deepEqual(mixWeights(span, [], 250_000), { weights: span, effectiveMixPpm: PPM });
    assert.deepEqual(mixWeights([], [], 250_000), { weights: [], effectiveMixPpm: 0 });
    assert.throws(() => mixWeights(span, gradient, 1.5), /mixPpm must be an integer/);
  });
});
