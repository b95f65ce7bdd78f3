/**
 * Turns matched spans into a score per contribution (the formula is explained in docs/attribution.md).
 *
 * The unit of evidence is an output k-gram (k = minSpanLength): a window of k output tokens. Each
 * window inside a matched span is credited once, to the longest span that covers it (the most
 * specific explanation; ties go to the earlier span), so overlapping spans do not count the same
 * output tokens twice. A span of length L that overlaps nothing covers L - k + 1 windows.
 *
 * A window is worth the information its span carries about where it came from: a span that occurs
 * n times among N indexed tokens is worth log2(1 + N / n) bits, so a span found once in a 10M-token
 * Datanet is worth ~23 bits and one found everywhere ~1 bit. The span's worth is divided among the
 * contributions in proportion to how many of its occurrences each holds.
 *
 *   score(c) = sum over spans s of windows(s) * rarity(s) * count(s, c) / sum_c' count(s, c')
 *
 * Everything except the logarithm is exact IEEE arithmetic in a fixed order, and the logarithm is
 * rounded to whole micro-bits, so every machine computes the same scores.
 */
export interface SpanEvidence {
  outputStart: number;
  length: number;
  occurrences: number;
  contributions: readonly { contributionId: bigint; count: number }[];
}

/** log2(1 + indexTokens / occurrences) in whole micro-bits. */
export function spanRarityMicroBits(occurrences: number, indexTokens: number): number {
  return Math.round(1e6 * Math.log2(1 + indexTokens / occurrences));
}

/** Number of output k-gram windows credited to each span (same order as `spans`). */
export function creditedWindows(spans: readonly SpanEvidence[], minSpanLength: number): number[] {
  const best = new Map<number, number>(); // window start -> span index
  spans.forEach((span, s) => {
    for (let w = span.outputStart; w + minSpanLength <= span.outputStart + span.length; w++) {
      const current = best.get(w);
      if (current === undefined || span.length > spans[current].length) best.set(w, s);
    }
  });
  const windows = spans.map(() => 0);
  for (const s of best.values()) windows[s]++;
  return windows;
}

/** Score of every contribution that holds a matched span; contributions without evidence are absent. */
export function scoreSpans(spans: readonly SpanEvidence[], minSpanLength: number, indexTokens: number): Map<bigint, number> {
  const windows = creditedWindows(spans, minSpanLength);
  const scores = new Map<bigint, number>();
  spans.forEach((span, s) => {
    if (windows[s] === 0) return;
    const worth = windows[s] * spanRarityMicroBits(span.occurrences, indexTokens);
    let sampled = 0;
    for (const c of span.contributions) sampled += c.count;
    for (const c of span.contributions) {
      scores.set(c.contributionId, (scores.get(c.contributionId) ?? 0) + (worth * c.count) / sampled);
    }
  });
  return scores;
}
