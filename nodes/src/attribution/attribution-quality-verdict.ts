/**
 * What a model's attribution-quality figures mean, in one word and a few plain sentences, for contributors
 * reading the evaluation report: is the contributor whose data taught the model the one attribution pays?
 *
 * The verdict is about the adapter's own answers to prompts taken from held-out contributor text
 * ("generated" outputs), attributed by the combined method: the case a paid output is in. It is decided by
 * numbers that need no threshold (how often the true contributor is ranked first, against chance) and a
 * one-sided exact binomial test, so a small sample cannot look good by luck:
 * - not-measurable: too few contributions or probes to tell attribution from chance (with the reason); no
 *   figure is given then, rather than a meaningless 1.0 or 0.0 from two probes;
 * - chance: top-1 is not significantly above chance (p > 0.05);
 * - weak: significantly above chance, but the true contributor is first in fewer than 80 % of probes, or
 *   more than 5 % of unrelated outputs are credited to someone: a top share above the model's calibrated
 *   threshold when it has one (the share serving predicts on), else at least the fixed threshold;
 * - reliable: significantly above chance, first in at least 80 %, and unrelated outputs are not credited.
 */

import { InvalidParameterError } from "./errors.ts";

export type AttributionVerdict = "reliable" | "weak" | "chance" | "not-measurable";
export type NotMeasurableReason = "one-contribution" | "too-few-contributions" | "too-few-probes" | "no-gradient-sketch";

/** Below this many contributions a ranking is barely a ranking (with two, a coin toss is right half the time). */
export const MIN_ATTRIBUTION_CANDIDATES = 3;
/** Below this many probes no top-1 figure separates attribution from luck at the candidate counts a Datanet has. */
export const MIN_ATTRIBUTION_PROBES = 8;
/** One-sided significance level of "above chance". */
export const ATTRIBUTION_SIGNIFICANCE = 0.05;
/** Top-1 accuracy a "reliable" attribution reaches at least. */
export const RELIABLE_TOP1 = 0.8;
/** Share of unrelated outputs credited to someone (top share ≥ threshold) that still counts as reliable (issue 8's goal). */
export const MAX_UNRELATED_FALSE_POSITIVE_RATE = 0.05;

export interface AttributionAssessment {
  verdict: AttributionVerdict;
  /** Why no figure could be given (verdict "not-measurable" only). */
  reason?: NotMeasurableReason;
  /** The method and outputs the verdict is about. */
  method: "combined";
  outputs: "generated";
  probes: number;
  /** Probes whose true contributor was ranked first; null when not measured. */
  top1Hits: number | null;
  /** P(at least top1Hits hits | each probe right with the chance probability): small means not luck. */
  pValue: number | null;
  /** Unrelated outputs whose top share reached the threshold, over the unrelated outputs tried; null when not measured. */
  unrelatedFalsePositiveRate: number | null;
  /** The verdict and its figures in plain words. */
  summary: string;
}

/** Why a Datanet of `candidates` contributions and `probes` held-out probes cannot be measured; null when it can. */
export function attributionNotMeasurable(input: { candidates: number; probes: number }): NotMeasurableReason | null {
  if (input.candidates <= 1) return "one-contribution";
  if (input.candidates < MIN_ATTRIBUTION_CANDIDATES) return "too-few-contributions";
  if (input.probes < MIN_ATTRIBUTION_PROBES) return "too-few-probes";
  return null;
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed exactly from the pmf (n is at most a few hundred probes). */
export function binomialUpperTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // pmf(i + 1) = pmf(i) · (n − i)/(i + 1) · p/(1 − p), from pmf(0) = (1 − p)^n; in logs so large n cannot underflow to 0.
  let logPmf = n * Math.log1p(-p);
  const logRatio = Math.log(p) - Math.log1p(-p);
  let tail = 0;
  for (let i = 0; i <= n; i++) {
    if (i >= k) tail += Math.exp(logPmf);
    logPmf += Math.log(n - i) - Math.log(i + 1) + logRatio;
  }
  return Math.min(1, tail);
}

const percent = (x: number) => `${Math.round(x * 100)} %`;

export interface AssessmentInput {
  candidates: number;
  probes: number;
  /** Minimum tokens a contribution needs to give a probe (for the too-few-probes sentence). */
  probeTokens?: number;
  /** Combined attribution of the generated outputs: probes whose true contributor was ranked first. */
  top1Hits?: number;
  chanceTop1?: number;
  /** Unrelated outputs tried and how many the combined method credited with a top share ≥ threshold; null: none tried. */
  unrelated?: { probes: number; crossing: number } | null;
  threshold?: number;
  /** `threshold` is the model's calibrated combined threshold, crossed by a share strictly above it (default: fixed, reached). */
  thresholdCalibrated?: boolean;
  /** The contributors' own probe passages as outputs (copied Datanet text when the index holds them): hits by combined attribution. */
  copied?: { probes: number; top1Hits: number } | null;
  /** Forces "not-measurable" for a reason found before any figure (e.g. no gradient sketch). */
  notMeasurable?: NotMeasurableReason;
}

function notMeasurableSummary(reason: NotMeasurableReason, input: AssessmentInput): string {
  switch (reason) {
    case "one-contribution":
      return "Not measurable: the Datanet version has a single contribution, so every attributed payout goes to it; there is nothing to rank.";
    case "too-few-contributions":
      return `Not measurable: too few contributions (${input.candidates}) to tell attribution from chance; at least ${MIN_ATTRIBUTION_CANDIDATES} are needed.`;
    case "too-few-probes":
      return `Not measurable: only ${input.probes} contribution${input.probes === 1 ? " was" : "s were"} long enough${input.probeTokens ? ` (${input.probeTokens} tokens or more)` : ""} to hold out a probe; at least ${MIN_ATTRIBUTION_PROBES} probes are needed for a figure that means something.`;
    case "no-gradient-sketch":
      return "Not measured: training kept no TracIn checkpoints, so the model has no gradient sketch to attribute with.";
  }
}

/** The verdict on a model's attribution figures (see the module comment for the rules). */
export function assessAttributionQuality(input: AssessmentInput): AttributionAssessment {
  const base = { method: "combined" as const, outputs: "generated" as const, probes: input.probes };
  const reason = input.notMeasurable ?? attributionNotMeasurable(input);
  if (reason !== null) {
    return { ...base, verdict: "not-measurable", reason, top1Hits: null, pValue: null, unrelatedFalsePositiveRate: null, summary: notMeasurableSummary(reason, input) };
  }
  const hits = input.top1Hits;
  const chance = input.chanceTop1 ?? 1 / input.candidates;
  if (hits === undefined || !Number.isInteger(hits) || hits < 0 || hits > input.probes) {
    throw new InvalidParameterError(`top1Hits must be an integer in [0, ${input.probes}], got ${String(hits)}.`, { field: "top1Hits", value: hits });
  }
  const top1 = hits / input.probes;
  const pValue = binomialUpperTail(input.probes, hits, chance);
  const unrelated = input.unrelated && input.unrelated.probes > 0 ? input.unrelated : null;
  const falsePositiveRate = unrelated ? unrelated.crossing / unrelated.probes : null;
  const threshold = input.threshold ?? 0.5;

  const ranked = `On the adapter's answers to ${input.probes} prompts taken from held-out contributor text, attribution ranks the true contributor first in ${hits} (${percent(top1)}; chance ${percent(chance)} among ${input.candidates} contributions).`;
  const sentences = [ranked];
  if (unrelated) {
    const share = input.thresholdCalibrated ? `above the model's calibrated threshold of ${percent(threshold)}` : `of ${percent(threshold)} or more`;
    sentences.push(`${unrelated.crossing} of ${unrelated.probes} answers to prompts from outside the Datanet were credited to one contribution with a share ${share}${unrelated.crossing > 0 ? " (false positives)" : ""}.`);
  }
  if (input.copied && input.copied.probes > 0) {
    sentences.push(`Text copied from the Datanet is credited to its holder first in ${input.copied.top1Hits} of ${input.copied.probes} probes.`);
  }
  let verdict: AttributionVerdict;
  let headline: string;
  if (pValue > ATTRIBUTION_SIGNIFICANCE) {
    verdict = "chance";
    headline = "No better than chance: for answers that do not copy the Datanet, attribution cannot tell whose data the answer came from; their payouts are spread by similarity, not by who taught the model.";
  } else if (top1 < RELIABLE_TOP1 || (falsePositiveRate !== null && falsePositiveRate > MAX_UNRELATED_FALSE_POSITIVE_RATE)) {
    verdict = "weak";
    headline = top1 < RELIABLE_TOP1
      ? "Weak: better than chance, but many payouts for such answers go to other contributors."
      : "Weak: the right contributor is found, but unrelated answers are credited too.";
  } else {
    verdict = "reliable";
    headline = "Reliable: answers are credited to the contributor whose data they came from.";
  }
  return { ...base, verdict, top1Hits: hits, pValue, unrelatedFalsePositiveRate: falsePositiveRate, summary: `${headline} ${sentences.join(" ")}` };
}
