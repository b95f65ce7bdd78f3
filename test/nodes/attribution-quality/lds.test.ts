import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../../nodes/src/engine/train/rng.ts";
import {
  averageRanks, bootstrapMeanInterval, linearDatamodelingScore, pearson, randomHalves, spearman, subsetPrediction,
} from "../../../bench/attribution-quality/lds.ts";
import { rankingMetrics } from "../../../bench/attribution-quality/ranking-metrics.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";

const close = (a: number | null, b: number, eps = 1e-9) => assert.ok(a !== null && Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe("linear datamodeling score", () => {
  it("ranks with ties averaged and computes Spearman's rho by hand-checked cases", () => {
    assert.deepEqual(averageRanks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
    close(spearman([1, 2, 3, 4], [10, 20, 30, 45]), 1);
    close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]: Sxy = 4.5, Sxx = 4.5, Syy = 5.
    close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / Math.sqrt(4.5 * 5));
    assert.equal(spearman([1, 1, 1], [1, 2, 3]), null, "a constant side has no correlation");
    close(pearson([1, 2, 3], [2, 4, 7]), 0.9933992677987828);
    assert.throws(() => pearson([1, 2], [1]), BenchmarkInputError);
  });

  it("draws seeded random halves and sums an attribution over a subset", () => {
    const halves = randomHalves(9, 5, 3);
    assert.equal(halves.length, 5);
    for (const h of halves) {
      assert.equal(h.length, 4);
      assert.equal(new Set(h).size, 4);
      assert.ok(h.every((i) => i >= 0 && i < 9));
    }
    assert.deepEqual(randomHalves(9, 5, 3), halves);
    assert.equal(subsetPrediction([0.1, 0.2, 0.3, 0.4], [0, 3]), 0.5);
  });

  it("scores each output by the Spearman correlation over subsets; an output without evidence counts 0 and is reported", () => {
    const subsets = [[0], [1], [2]];
    const score = linearDatamodelingScore([[0.1, 0.5, 0.9], [0, 0, 0], [0.9, 0.5, 0.1]], subsets, [[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    assert.deepEqual(score.perOutput, [1, null, -1]);
    assert.equal(score.lds, 0);
    assert.equal(score.undefinedOutputs, 1);
    assert.throws(() => linearDatamodelingScore([[1]], [[0], [0]], [[1, 2]]), BenchmarkInputError);
  });

  it("bootstraps a percentile interval of the mean, deterministic by seed", () => {
    const constant = bootstrapMeanInterval([0.3, 0.3, 0.3]);
    assert.equal(constant.low, 0.3);
    assert.equal(constant.high, 0.3);
    const spread = bootstrapMeanInterval([0, 1, 0, 1, 0, 1, 0, 1], { resamples: 4000, seed: 2 });
    assert.equal(spread.estimate, 0.5);
    assert.ok(spread.low > 0.05 && spread.low < 0.5 && spread.high > 0.5 && spread.high < 0.95, JSON.stringify(spread));
    assert.deepEqual(bootstrapMeanInterval([0, 1, 0, 1, 0, 1, 0, 1], { resamples: 4000, seed: 2 }), spread);
    assert.throws(() => bootstrapMeanInterval([]), BenchmarkInputError);
  });

  it("a broken attribution method (random weights) scores at chance and near 0 LDS; the true one scores high", () => {
    // A world where each output's loss reduction really is linear in its contributors' influence.
    const rng = new Rng(7);
    const contributors = 10;
    const outputs = 60;
    const truthOf = Array.from({ length: outputs }, (_, z) => z % contributors);
    const trueInfluence = truthOf.map((t) => Array.from({ length: contributors }, (_, c) => (c === t ? 1 : 0.1 * rng.nextFloat())));
    const subsets = randomHalves(contributors, 24, 11);
    const actual = trueInfluence.map((inf) => subsets.map((s) => subsetPrediction(inf, s) + 0.05 * rng.normal()));
    const random = trueInfluence.map(() => Array.from({ length: contributors }, () => rng.nextFloat()));

    const honest = linearDatamodelingScore(trueInfluence, subsets, actual);
    const broken = linearDatamodelingScore(random, subsets, actual);
    assert.ok(honest.lds > 0.7, `honest LDS ${honest.lds}`);
    const brokenInterval = bootstrapMeanInterval(broken.perOutput.map((r) => r ?? 0), { seed: 1 });
    assert.ok(Math.abs(broken.lds) < 0.15, `broken LDS ${broken.lds}`);
    assert.ok(brokenInterval.low < 0.1 && brokenInterval.high > -0.1, JSON.stringify(brokenInterval));

    const asScores = (rows: number[][]) => rows.map((row, z) => ({ scores: new Map(row.map((s, c) => [String(c), s])), truths: [String(truthOf[z])] }));
    const honestRanking = rankingMetrics(asScores(trueInfluence), contributors);
    const brokenRanking = rankingMetrics(asScores(random), contributors);
    assert.equal(honestRanking.top1Accuracy, 1);
    assert.ok(brokenRanking.top1Accuracy < 0.3, `broken top-1 ${brokenRanking.top1Accuracy}`);
    assert.ok(brokenRanking.meanReciprocalRank < brokenRanking.chance.meanReciprocalRank + 0.15, `broken MRR ${brokenRanking.meanReciprocalRank}`);
  });
});
