/**
 * Exact integer weights. Attribution weights are integer parts per million so that records, hashes
 * and payouts are identical on every machine; every split of an integer total uses the largest
 * remainder method, so the parts always add up to the total exactly (no dust lost or created).
 */
import { InvalidParameterError } from "./errors.ts";

export const PPM = 1_000_000;

export interface ContributionWeight {
  contributionId: bigint;
  /** Parts per million of the output attributed to this contribution (> 0). */
  ppm: number;
}

/**
 * Splits `total` in proportion to `weights` (non-negative integers, not all zero): each part gets
 * floor(total * w / W), and the units left over go one each to the largest remainders, ties to the
 * earlier entry. Callers order entries by a stable key (contribution id, account) for that reason.
 */
export function splitByLargestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) throw new InvalidParameterError(`Cannot split a negative total ${total}.`, { total: total.toString() });
  let sum = 0n;
  for (const w of weights) {
    if (w < 0n) throw new InvalidParameterError(`Split weights must be non-negative, got ${w}.`, { weight: w.toString() });
    sum += w;
  }
  if (sum === 0n) throw new InvalidParameterError("Cannot split by weights that are all zero.", { count: weights.length });

  const parts = weights.map((w) => (total * w) / sum);
  let left = total - parts.reduce((a, b) => a + b, 0n);
  const byRemainder = weights
    .map((w, i) => ({ i, remainder: (total * w) % sum }))
    .sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : a.i - b.i));
  for (let j = 0; left > 0n; j++, left--) parts[byRemainder[j].i]++;
  return parts;
}

const compareIds = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Normalizes positive scores to parts per million, ordered by contribution id, dropping
 * contributions that end with 0 ppm. Scores are first scaled to integers relative to the largest
 * (53 bits of precision; exact IEEE operations), then split exactly.
 */
export function scoresToPpm(scores: ReadonlyMap<bigint, number>): ContributionWeight[] {
  const entries = [...scores].filter(([, s]) => s > 0 && Number.isFinite(s)).sort(([a], [b]) => compareIds(a, b));
  if (entries.length === 0) return [];
  let max = 0;
  for (const [, s] of entries) if (s > max) max = s;
  const integers = entries.map(([, s]) => BigInt(Math.round((s / max) * 2 ** 52)));
  const ppm = splitByLargestRemainder(BigInt(PPM), integers);
  return entries.map(([contributionId], i) => ({ contributionId, ppm: Number(ppm[i]) })).filter((w) => w.ppm > 0);
}

export interface MixedWeights {
  weights: ContributionWeight[];
  /** The mix actually applied: the requested one, or 1e6 / 0 when only spans / gradients had evidence. */
  effectiveMixPpm: number;
}

/**
 * combined(c) = mix * span(c) + (1 - mix) * gradient(c), with mix in ppm. When one method found no
 * evidence the other gets the whole weight (a missing method is no reason to pay nobody); when
 * neither did, the result is empty and the output's pool stays unattributed.
 */
export function mixWeights(span: readonly ContributionWeight[], gradient: readonly ContributionWeight[], mixPpm: number): MixedWeights {
  if (!Number.isSafeInteger(mixPpm) || mixPpm < 0 || mixPpm > PPM) {
    throw new InvalidParameterError(`mixPpm must be an integer in [0, ${PPM}], got ${mixPpm}.`, { mixPpm });
  }
  const effectiveMixPpm = span.length === 0 ? 0 : gradient.length === 0 ? PPM : mixPpm;
  if (span.length === 0 && gradient.length === 0) return { weights: [], effectiveMixPpm };

  const combined = new Map<bigint, bigint>();
  for (const w of span) combined.set(w.contributionId, (combined.get(w.contributionId) ?? 0n) + BigInt(effectiveMixPpm) * BigInt(w.ppm));
  for (const w of gradient) combined.set(w.contributionId, (combined.get(w.contributionId) ?? 0n) + BigInt(PPM - effectiveMixPpm) * BigInt(w.ppm));
  const ids = [...combined.keys()].sort(compareIds);
  const ppm = splitByLargestRemainder(BigInt(PPM), ids.map((id) => combined.get(id)!));
  return {
    weights: ids.map((contributionId, i) => ({ contributionId, ppm: Number(ppm[i]) })).filter((w) => w.ppm > 0),
    effectiveMixPpm,
  };
}
