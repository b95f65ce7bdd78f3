/**
 * Exact binomial figures for a top-1 accuracy of k hits in n outputs: the Clopper-Pearson interval
 * (never narrower than it should be, even at k = 0 or n) and the one-sided p-value against chance
 * (the exact upper tail, the same test the evaluation report's verdict uses).
 */
import { binomialUpperTail } from "../../nodes/src/attribution/attribution-quality-verdict.ts";
import { BenchmarkInputError } from "./errors.ts";

export { binomialUpperTail };

/** P(X ≤ k) for X ~ Binomial(n, p). */
function binomialLowerTail(n: number, k: number, p: number): number {
  return 1 - binomialUpperTail(n, k + 1, p);
}

/** The p in [0, 1] where a monotone tail function crosses `target`, by bisection (60 halvings: well below float precision of a report). */
function solve(f: (p: number) => number, target: number, increasing: boolean): number {
  let low = 0, high = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if ((f(mid) < target) === increasing) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * Clopper-Pearson interval for k successes in n trials: low is the p at which P(X ≥ k) = α/2 (0 when k = 0),
 * high the p at which P(X ≤ k) = α/2 (1 when k = n).
 */
export function clopperPearson(k: number, n: number, confidence = 0.95): { low: number; high: number } {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(k) && k >= 0 && k <= n)) throw new BenchmarkInputError(`Need integers 0 ≤ k ≤ n, n ≥ 1; got k = ${k}, n = ${n}.`, { k, n });
  if (!(confidence > 0 && confidence < 1)) throw new BenchmarkInputError(`confidence must be in (0, 1), got ${confidence}.`, { confidence });
  const alpha = (1 - confidence) / 2;
  return {
    low: k === 0 ? 0 : solve((p) => binomialUpperTail(n, k, p), alpha, true),
    high: k === n ? 1 : solve((p) => binomialLowerTail(n, k, p), alpha, false),
  };
}
