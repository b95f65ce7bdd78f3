import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import { accountShares, expectedBestReciprocalRank, pessimisticRank, rankingMetrics } from "../../../bench/attribution-quality/ranking-metrics.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";

const alice = "0x00000000000000000000000000000000000000a1" as Address;
const bob = "0x00000000000000000000000000000000000000b0" as Address;
const carol = "0x00000000000000000000000000000000000000c0" as Address;
const scores = (entries: [string, number][]) => new Map(entries);

describe("ranking metrics (top-1, MRR, abstentions)", () => {
  it("sums contribution weights per account", () => {
    const shares = accountShares([{ contributionId: 1n, ppm: 300_000 }, { contributionId: 2n, ppm: 300_000 }, { contributionId: 3n, ppm: 400_000 }], new Map([[1n, alice], [2n, alice], [3n, bob]]));
    assert.deepEqual([...shares], [[alice, 0.6], [bob, 0.4]]);
    assert.throws(() => accountShares([{ contributionId: 9n, ppm: 1 }], new Map()), BenchmarkInputError);
  });

  it("ranks ties against the true account and gives no rank to an account without weight", () => {
    assert.equal(pessimisticRank(scores([[alice, 0.6], [bob, 0.4]]), alice), 1);
    assert.equal(pessimisticRank(scores([[alice, 0.6], [bob, 0.4]]), bob), 2);
    assert.equal(pessimisticRank(scores([[alice, 0.5], [bob, 0.5]]), alice), 2);
    assert.equal(pessimisticRank(scores([[alice, 1]]), carol), null);
  });

  it("computes top-1, MRR and recall@truths on hand-computed outputs, counting abstentions as misses", () => {
    const m = rankingMetrics([
      { scores: scores([[alice, 0.6], [bob, 0.4]]), truths: [alice] },          // rank 1
      { scores: scores([[alice, 0.6], [bob, 0.4]]), truths: [bob] },            // rank 2
      { scores: scores([[alice, 0.5], [bob, 0.5]]), truths: [alice] },          // tie: rank 2
      { scores: scores([[alice, 0.7], [bob, 0.2], [carol, 0.1]]), truths: [bob, carol] }, // best rank 2; bob in top 2, carol not
      { scores: scores([]), truths: [carol] },                                  // abstention
      { scores: scores([[alice, 1]]), truths: [carol] },                        // no weight on the truth: rr 0
    ], 4);
    assert.equal(m.outputs, 6);
    assert.equal(m.abstentions, 1);
    assert.equal(m.top1Accuracy, 1 / 6);
    assert.ok(Math.abs(m.meanReciprocalRank - (1 + 0.5 + 0.5 + 0.5) / 6) < 1e-12);
    assert.ok(Math.abs(m.recallAtTruths - (1 + 0 + 0 + 0.5) / 6) < 1e-12);
    assert.throws(() => rankingMetrics([{ scores: scores([]), truths: [] }], 4), BenchmarkInputError);
  });

  it("states the chance level: a uniformly random order of n candidates with m true ones", () => {
    assert.ok(Math.abs(expectedBestReciprocalRank(4, 1) - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4) < 1e-12);
    // m = 2 of 4: best rank 1 w.p. 1/2, 2 w.p. 1/3, 3 w.p. 1/6.
    assert.ok(Math.abs(expectedBestReciprocalRank(4, 2) - (1 / 2 + 1 / 6 + 1 / 18)) < 1e-12);
    assert.equal(expectedBestReciprocalRank(3, 3), 1);
    const m = rankingMetrics([{ scores: scores([[alice, 1]]), truths: [alice] }, { scores: scores([[alice, 1]]), truths: [alice, bob] }], 4);
    assert.equal(m.chance.top1Accuracy, (1 / 4 + 2 / 4) / 2);
  });
});
