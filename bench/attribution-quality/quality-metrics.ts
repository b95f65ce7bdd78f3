/**
 * How well attribution finds the planted contributor. Weights are per contribution; payouts go to
 * accounts, so they are summed per contributor first. A prediction is made when the top
 * contributor's share reaches the threshold; below it the output counts as "credits nobody strongly".
 *
 *   precision = correct predictions / predictions         (planted outputs; undefined, null, when none is made)
 *   recall    = correct predictions / planted outputs
 *   strict precision also counts every prediction made on an unrelated output as a false one.
 *
 * An output below the threshold is an abstention, counted as such: abstaining is not being right.
 */
import type { Address } from "viem";
import { PPM, type ContributionWeight } from "../../nodes/src/attribution/weights.ts";
import { BenchmarkInputError } from "./errors.ts";

export interface TopContributor {
  /** null when the output has no weights at all (no evidence: the pool stays unattributed). */
  contributor: Address | null;
  /** The contributor's share of the output, in [0, 1]. */
  share: number;
}

/** The account with the largest summed weight; ties go to the lower address so the result never depends on map order. */
export function topContributor(weights: readonly ContributionWeight[], contributorOf: ReadonlyMap<bigint, Address>): TopContributor {
  const byAccount = new Map<Address, number>();
  for (const { contributionId, ppm } of weights) {
    const account = contributorOf.get(contributionId);
    if (!account) throw new BenchmarkInputError(`Contribution ${contributionId} is not in the Datanet manifest.`, { contributionId: contributionId.toString() });
    byAccount.set(account, (byAccount.get(account) ?? 0) + ppm);
  }
  let best: TopContributor = { contributor: null, share: 0 };
  for (const [account, ppm] of [...byAccount].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (ppm / PPM > best.share) best = { contributor: account, share: ppm / PPM };
  }
  return best;
}

export interface PlantedResult {
  owner: Address;
  top: TopContributor;
}

export interface QualityMetrics {
  threshold: number;
  planted: number;
  predictions: number;
  /** Planted outputs below the threshold (no prediction made). */
  abstentions: number;
  correct: number;
  /** null when no prediction was made: undefined, not perfect. */
  precision: number | null;
  recall: number;
  /** Planted outputs whose top contributor (at any share) is the owner. */
  top1Accuracy: number;
  /** The top contributor's share on planted outputs: how decisively the planted evidence is credited. */
  plantedTopShare: { median: number; mean: number };
  unrelated: number;
  /** Unrelated outputs whose top share reaches the threshold (each one would credit someone strongly). */
  unrelatedPredictions: number;
  /** unrelatedPredictions / unrelated: the false-positive rate on outputs nobody in the Datanet caused. */
  unrelatedCrossingRate: number;
  /** null when no prediction was made at all. */
  strictPrecision: number | null;
  unrelatedTopShare: { max: number; median: number; mean: number };
  /** Unrelated outputs with no evidence at all (their pool would stay unattributed). */
  unrelatedUnattributed: number;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** A prediction: the top share reaches `threshold`; with `strict` (a calibrated threshold, null-calibration.ts) it must exceed it. */
export function qualityMetrics(planted: readonly PlantedResult[], unrelated: readonly TopContributor[], threshold: number, strict = false): QualityMetrics {
  if (!(strict ? threshold >= 0 && threshold <= 1 : threshold > 0 && threshold <= 1)) throw new BenchmarkInputError(`The threshold must be in ${strict ? "[0, 1]" : "(0, 1]"}, got ${threshold}.`, { threshold });
  const crosses = (share: number) => (strict ? share > threshold : share >= threshold);
  const predicted = planted.filter((p) => p.top.contributor !== null && crosses(p.top.share));
  const correct = predicted.filter((p) => p.top.contributor === p.owner).length;
  const unrelatedPredictions = unrelated.filter((u) => u.contributor !== null && crosses(u.share)).length;
  const shares = unrelated.map((u) => u.share);
  const plantedShares = planted.map((p) => p.top.share);
  return {
    threshold,
    planted: planted.length,
    predictions: predicted.length,
    abstentions: planted.length - predicted.length,
    correct,
    precision: predicted.length ? correct / predicted.length : null,
    recall: planted.length ? correct / planted.length : 0,
    top1Accuracy: planted.length ? planted.filter((p) => p.top.contributor === p.owner).length / planted.length : 0,
    plantedTopShare: { median: median(plantedShares), mean: mean(plantedShares) },
    unrelated: unrelated.length,
    unrelatedPredictions,
    unrelatedCrossingRate: unrelated.length ? unrelatedPredictions / unrelated.length : 0,
    strictPrecision: predicted.length + unrelatedPredictions ? correct / (predicted.length + unrelatedPredictions) : null,
    unrelatedTopShare: {
      max: shares.length ? Math.max(...shares) : 0,
      median: median(shares),
      mean: mean(shares),
    },
    unrelatedUnattributed: unrelated.filter((u) => u.contributor === null).length,
  };
}
