import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import { qualityMetrics, topContributor } from "../../../bench/attribution-quality/quality-metrics.ts";
import { copiedPrefixLength } from "../../../bench/attribution-quality/copied-prefix.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";

const alice = "0x00000000000000000000000000000000000000a1" as Address;
const bob = "0x00000000000000000000000000000000000000b0" as Address;
const contributorOf = new Map<bigint, Address>([[1n, alice], [2n, alice], [3n, bob]]);

describe("attribution quality metrics", () => {
  it("sums contribution weights per account before picking the top contributor", () => {
    assert.deepEqual(topContributor([{ contributionId: 1n, ppm: 300_000 }, { contributionId: 2n, ppm: 300_000 }, { contributionId: 3n, ppm: 400_000 }], contributorOf), {
      contributor: alice, share: 0.6,
    });
    assert.deepEqual(topContributor([], contributorOf), { contributor: null, share: 0 });
    // A tie goes to the lower address, whatever order the weights come in.
    assert.equal(topContributor([{ contributionId: 3n, ppm: 500_000 }, { contributionId: 1n, ppm: 500_000 }], contributorOf).contributor, alice);
    assert.throws(() => topContributor([{ contributionId: 9n, ppm: 1 }], contributorOf), BenchmarkInputError);
  });

  it("counts predictions at the threshold, and unrelated outputs above it against strict precision", () => {
    const planted = [
      { owner: alice, top: { contributor: alice, share: 0.9 } },  // correct
      { owner: alice, top: { contributor: bob, share: 0.6 } },    // wrong
      { owner: bob, top: { contributor: bob, share: 0.5 } },      // correct, exactly at the threshold
      { owner: bob, top: { contributor: bob, share: 0.4 } },      // no prediction
    ];
    const unrelated = [{ contributor: alice, share: 0.7 }, { contributor: bob, share: 0.2 }, { contributor: null, share: 0 }];
    const m = qualityMetrics(planted, unrelated, 0.5);
    assert.equal(m.predictions, 3);
    assert.equal(m.correct, 2);
    assert.equal(m.precision, 2 / 3);
    assert.equal(m.recall, 2 / 4);
    assert.equal(m.top1Accuracy, 3 / 4);
    assert.deepEqual(m.plantedTopShare, { median: 0.55, mean: 0.6 });
    assert.equal(m.unrelatedPredictions, 1);
    assert.equal(m.strictPrecision, 2 / 4);
    assert.deepEqual(m.unrelatedTopShare, { max: 0.7, median: 0.2, mean: 0.3 });
    assert.equal(m.unrelatedUnattributed, 1);
    assert.equal(m.abstentions, 1);
    assert.equal(m.unrelatedCrossingRate, 1 / 3);
    assert.throws(() => qualityMetrics(planted, unrelated, 0), BenchmarkInputError);
  });

  it("reports precision as undefined, not perfect, when nothing is predicted", () => {
    const m = qualityMetrics([{ owner: alice, top: { contributor: alice, share: 0.3 } }], [{ contributor: null, share: 0 }], 0.5);
    assert.equal(m.predictions, 0);
    assert.equal(m.abstentions, 1);
    assert.equal(m.precision, null);
    assert.equal(m.strictPrecision, null);
    assert.equal(m.recall, 0);
  });

  it("measures how far a continuation copies its reference", () => {
    assert.equal(copiedPrefixLength([1, 2, 3, 9], [1, 2, 3, 4]), 3);
    assert.equal(copiedPrefixLength([1, 2], [1, 2, 3]), 2);
    assert.equal(copiedPrefixLength([5], [1]), 0);
  });
});
