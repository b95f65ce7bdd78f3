/**
 * The counterfactual check (linear datamodeling score, Park et al. 2023, "TRAK"; EleutherAI's Bergson
 * reports the same): retrain on random subsets S_j of the contributions, and ask whether the
 * attribution predicts how each output's loss moves.
 *
 *   predicted(z, S_j) = Σ_{c ∈ S_j} τ(z)_c                 τ: the method's attribution of output z
 *   actual(z, S_j)    = loss of z under the base model − loss of z under the adapter trained on S_j
 *   LDS(z)            = Spearman over j of (predicted, actual)
 *   LDS               = mean over outputs
 *
 * A method whose attribution is constant for an output (no evidence at all: all zeros) makes no
 * prediction for it; its Spearman correlation is undefined and counts as 0 in the mean (an
 * uninformative method scores 0), and the number of such outputs is reported.
 */
import { Rng } from "../../nodes/src/engine/train/rng.ts";
import { BenchmarkInputError } from "./errors.ts";

/** Ranks 1..n with ties given their average rank (the standard for Spearman's ρ). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank;
    i = j + 1;
  }
  return ranks;
}

export function pearson(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new BenchmarkInputError(`Correlation of ${x.length} against ${y.length} values.`, { x: x.length, y: y.length });
  const n = x.length;
  if (n < 2) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** Spearman's ρ (Pearson of average ranks); null when either side is constant. */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  return pearson(averageRanks(x), averageRanks(y));
}

/** Random halves: each of `subsets` picks ⌊n/2⌋ of the n items, seeded. */
export function randomHalves(n: number, subsets: number, seed: number): number[][] {
  if (!Number.isInteger(n) || n < 2) throw new BenchmarkInputError(`Random halves need at least 2 items, got ${n}.`, { n });
  const rng = new Rng(seed);
  return Array.from({ length: subsets }, () => rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, n >> 1).sort((a, b) => a - b));
}

/** Σ of an output's attribution over the subset's items. */
export function subsetPrediction(attribution: readonly number[], subset: readonly number[]): number {
  return subset.reduce((sum, i) => sum + attribution[i], 0);
}

export interface LinearDatamodelingScore {
  /** Per output, Spearman's ρ over the subsets (null: the method gave this output a constant attribution). */
  perOutput: (number | null)[];
  /** Mean of perOutput with null counted as 0. */
  lds: number;
  undefinedOutputs: number;
}

/**
 * `attributions[z][c]`: the method's attribution of output z to item c (contribution or account);
 * `actual[z][j]`: output z's loss reduction under the model trained on `subsets[j]`.
 */
export function linearDatamodelingScore(attributions: readonly (readonly number[])[], subsets: readonly (readonly number[])[], actual: readonly (readonly number[])[]): LinearDatamodelingScore {
  if (attributions.length !== actual.length) throw new BenchmarkInputError(`${attributions.length} attributions for ${actual.length} outputs' measured losses.`, {});
  if (subsets.length < 3) throw new BenchmarkInputError(`LDS needs at least 3 subsets, got ${subsets.length}.`, { subsets: subsets.length });
  const perOutput = attributions.map((attribution, z) => {
    if (actual[z].length !== subsets.length) throw new BenchmarkInputError(`Output ${z} has ${actual[z].length} measured losses for ${subsets.length} subsets.`, { output: z });
    return spearman(subsets.map((s) => subsetPrediction(attribution, s)), actual[z]);
  });
  const lds = perOutput.length ? perOutput.reduce<number>((a, r) => a + (r ?? 0), 0) / perOutput.length : NaN;
  return { perOutput, lds, undefinedOutputs: perOutput.filter((r) => r === null).length };
}

export interface ConfidenceInterval {
  estimate: number;
  low: number;
  high: number;
  confidence: number;
  resamples: number;
}

/** Percentile bootstrap of the mean: resample the values with replacement `resamples` times (seeded). */
export function bootstrapMeanInterval(values: readonly number[], options: { resamples?: number; confidence?: number; seed?: number } = {}): ConfidenceInterval {
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  if (values.length === 0) throw new BenchmarkInputError("A bootstrap needs at least one value.");
  if (!(confidence > 0 && confidence < 1)) throw new BenchmarkInputError(`confidence must be in (0, 1), got ${confidence}.`, { confidence });
  const rng = new Rng(options.seed ?? 1);
  const n = values.length;
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.nextInt(n)];
    means[b] = sum / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  const alpha = (1 - confidence) / 2;
  return { estimate: values.reduce((a, b) => a + b, 0) / n, low: at(alpha), high: at(1 - alpha), confidence, resamples };
}
