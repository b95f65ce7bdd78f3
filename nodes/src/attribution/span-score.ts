/**
 * Turns the output's matched windows into a score per contribution (the formula is explained in
 * docs/attribution.md).
 *
 * The unit of evidence is an output k-gram window (k = minSpanLength) that occurs in the index.
 * Each window is credited to every contribution that holds its k-gram, in proportion to how many of
 * the k-gram's occurrences each holds: text that every contributor holds splits among them, and only
 * distinctive text points at one contributor. (Crediting a window to the longest span covering it
 * instead would give a sentence everyone holds to whoever also holds the few tokens after it.)
 *
 * A window is worth the information its k-gram carries about where it came from: a k-gram that
 * occurs n times among N indexed tokens is worth log2(1 + N / n) bits, so one found once in a
 * 10M-token Datanet is worth ~23 bits and one found everywhere ~1 bit.
 *
 *   score(c) = sum over windows w of rarity(w) * count(w, c) / sum_c' count(w, c')
 *
 * Everything except the logarithm is exact IEEE arithmetic in a fixed order, and the logarithm is
 * rounded to whole micro-bits, so every machine computes the same scores.
 */
export interface WindowEvidence {
  /** Consecutive windows with this evidence. */
  windows: number;
  occurrences: number;
  contributions: readonly { contributionId: bigint; count: number }[];
}

/** log2(1 + indexTokens / occurrences) in whole micro-bits. */
export function spanRarityMicroBits(occurrences: number, indexTokens: number): number {
  return Math.round(1e6 * Math.log2(1 + indexTokens / occurrences));
}

/** Score of every contribution that holds a matched window; contributions without evidence are absent. */
export function scoreWindows(groups: readonly WindowEvidence[], indexTokens: number): Map<bigint, number> {
  const scores = new Map<bigint, number>();
  for (const group of groups) {
    const worth = group.windows * spanRarityMicroBits(group.occurrences, indexTokens);
    let sampled = 0;
    for (const c of group.contributions) sampled += c.count;
    for (const c of group.contributions) {
      scores.set(c.contributionId, (scores.get(c.contributionId) ?? 0) + (worth * c.count) / sampled);
    }
  }
  return scores;
}
