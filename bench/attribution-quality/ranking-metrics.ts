/**
 * Threshold-free ranking metrics: where does the true contributor rank among the accounts an output's
 * attribution credits? Weights are per contribution and payouts go to accounts, so they are summed
 * per account first.
 *
 *   top-1 accuracy = outputs whose first-ranked account is a true one / outputs
 *   MRR            = mean over outputs of 1 / rank of the best-ranked true account
 *
 * Ties rank pessimistically (a true account tied with k others ranks after all of them), so a method
 * that spreads its weight evenly cannot score by luck of ordering. An account with no weight has no
 * rank (reciprocal rank 0); an output with no weights at all is an **abstention** (its pool stays
 * unattributed) and scores 0 in both, counted separately.
 */
import type { Address } from "viem";
import { PPM, type ContributionWeight } from "../../nodes/src/attribution/weights.ts";
import { BenchmarkInputError } from "./errors.ts";

/** Summed share per account, in [0, 1]. */
export function accountShares(weights: readonly ContributionWeight[], contributorOf: ReadonlyMap<bigint, Address>): Map<Address, number> {
  const shares = new Map<Address, number>();
  for (const { contributionId, ppm } of weights) {
    const account = contributorOf.get(contributionId);
    if (!account) throw new BenchmarkInputError(`Contribution ${contributionId} is not in the Datanet manifest.`, { contributionId: contributionId.toString() });
    shares.set(account, (shares.get(account) ?? 0) + ppm / PPM);
  }
  return shares;
}

/** 1-based rank of `account` among the scored accounts, ties counted against it; null when it has no score above 0. */
export function pessimisticRank(scores: ReadonlyMap<string, number>, account: string): number | null {
  const own = scores.get(account) ?? 0;
  if (!(own > 0)) return null;
  let rank = 1;
  for (const [other, score] of scores) if (other !== account && score >= own) rank++;
  return rank;
}

export interface RankedOutput {
  /** Score per account (or per any key: contribution ids as strings work the same). */
  scores: ReadonlyMap<string, number>;
  /** The accounts the output truly comes from (one, or two for an output mixing two sources). */
  truths: readonly string[];
}

export interface RankingMetrics {
  outputs: number;
  /** Outputs with no score at all: nothing credited. */
  abstentions: number;
  top1Accuracy: number;
  meanReciprocalRank: number;
  /** Mean fraction of an output's true accounts ranked within the first |truths| places (recall@|truths|). */
  recallAtTruths: number;
  /** What a method that ranks the candidates uniformly at random scores. */
  chance: { top1Accuracy: number; meanReciprocalRank: number };
}

/**
 * `candidates`: how many accounts could be credited (for the chance level). With m true accounts
 * among n candidates, a random order puts one first with probability m/n, and the best-ranked one's
 * expected reciprocal rank is Σ_r P(best rank = r)/r.
 */
export function rankingMetrics(outputs: readonly RankedOutput[], candidates: number): RankingMetrics {
  if (!Number.isInteger(candidates) || candidates < 1) throw new BenchmarkInputError(`candidates must be a positive integer, got ${candidates}.`, { candidates });
  let top1 = 0;
  let rr = 0;
  let recall = 0;
  let abstentions = 0;
  let chanceTop1 = 0;
  let chanceRr = 0;
  for (const { scores, truths } of outputs) {
    if (truths.length === 0 || truths.length > candidates) throw new BenchmarkInputError(`An output needs 1..${candidates} true accounts, got ${truths.length}.`, { truths: truths.length });
    chanceTop1 += truths.length / candidates;
    chanceRr += expectedBestReciprocalRank(candidates, truths.length);
    const any = [...scores.values()].some((s) => s > 0);
    if (!any) {
      abstentions++;
      continue;
    }
    const ranks = truths.map((t) => pessimisticRank(scores, t)).filter((r): r is number => r !== null);
    const best = ranks.length ? Math.min(...ranks) : null;
    if (best === 1) top1++;
    if (best !== null) rr += 1 / best;
    recall += ranks.filter((r) => r <= truths.length).length / truths.length;
  }
  const n = outputs.length;
  const mean = (x: number) => (n ? x / n : NaN);
  return {
    outputs: n, abstentions, top1Accuracy: mean(top1), meanReciprocalRank: mean(rr), recallAtTruths: mean(recall),
    chance: { top1Accuracy: mean(chanceTop1), meanReciprocalRank: mean(chanceRr) },
  };
}

/** E[1 / best rank of m marked items in a uniformly random order of n]: P(best ≥ r) = C(n−r+1, m) / C(n, m). */
export function expectedBestReciprocalRank(n: number, m: number): number {
  let expected = 0;
  let atLeast = 1; // P(best rank ≥ r), starting at r = 1
  for (let r = 1; r <= n - m + 1; r++) {
    // P(best ≥ r+1) = P(best ≥ r) · (n−r+1−m)/(n−r+1)
    const next = atLeast * (n - r + 1 - m) / (n - r + 1);
    expected += (atLeast - next) / r;
    atLeast = next;
  }
  return expected;
}
