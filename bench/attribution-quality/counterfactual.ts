/**
 * Who caused an output, estimated from the LDS retrainings: an account's effect on an output is the mean loss
 * reduction of the adapters whose random half held it minus the mean of those whose half did not. The account with
 * the largest effect is the output's counterfactual top: the data that, trained on, most helps the model produce it.
 */
import { BenchmarkInputError } from "./errors.ts";

/** effects[c]: account c's estimated effect on one output; null where every half (or none) held it. */
export function counterfactualEffects(accounts: number, subsets: readonly (readonly number[])[], actual: readonly number[]): (number | null)[] {
  if (actual.length !== subsets.length) throw new BenchmarkInputError(`${actual.length} loss reductions for ${subsets.length} subsets.`, {});
  return Array.from({ length: accounts }, (_, c) => {
    let inSum = 0, inCount = 0, outSum = 0, outCount = 0;
    subsets.forEach((subset, j) => {
      if (subset.includes(c)) { inSum += actual[j]; inCount++; } else { outSum += actual[j]; outCount++; }
    });
    return inCount && outCount ? inSum / inCount - outSum / outCount : null;
  });
}

/** Index of the account with the largest effect (the first on a tie); null when no account has one. */
export function counterfactualTop(effects: readonly (number | null)[]): number | null {
  let best: number | null = null;
  effects.forEach((e, c) => {
    if (e !== null && (best === null || e > effects[best]!)) best = c;
  });
  return best;
}

/** 1-based rank of account `c` by effect, ties counted against it; null when it has no effect estimate. */
export function counterfactualRank(effects: readonly (number | null)[], c: number): number | null {
  const own = effects[c];
  if (own === null || own === undefined) return null;
  return 1 + effects.filter((e, i) => i !== c && e !== null && e >= own).length;
}

/**
 * Output-specific effects: each account's effect minus its mean effect over all the outputs given. Some accounts' data
 * lowers every output's loss (general language, a common genre); what is specific to an output is the excess over that.
 */
export function specificEffects(effects: readonly (readonly (number | null)[])[]): (number | null)[][] {
  const accounts = effects[0]?.length ?? 0;
  const means = Array.from({ length: accounts }, (_, c) => {
    const known = effects.map((e) => e[c]).filter((x): x is number => x !== null);
    return known.length ? known.reduce((a, b) => a + b, 0) / known.length : null;
  });
  return effects.map((e) => e.map((x, c) => (x === null || means[c] === null ? null : x - means[c]!)));
}
