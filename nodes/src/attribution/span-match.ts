/**
 * Finds the spans of an output that occur verbatim in a span index.
 *
 * For each output position the longest match is found by narrowing a suffix-array range one token
 * at a time (infini-gram's scheme): the suffixes in the range all start with the tokens matched so
 * far, and the next token splits the range by two binary searches. Only maximal spans are kept: a
 * match at position i that ends where the match at i - 1 ends is part of that span, not new evidence.
 */
import { InvalidParameterError } from "./errors.ts";
import { checkTokenId, documentAt, type SpanIndex } from "./span-index.ts";

export interface SpanMatchOptions {
  /** Shortest span counted as evidence, in tokens (k). */
  minSpanLength: number;
  /** At most this many occurrences of a span are mapped to documents; beyond it an even sample is used. */
  maxOccurrences: number;
}

export const DEFAULT_SPAN_MATCH_OPTIONS: SpanMatchOptions = { minSpanLength: 8, maxOccurrences: 1000 };

export interface ContributionCount {
  contributionId: bigint;
  /** Occurrences of the span inside this contribution (within the sample when the span was sampled). */
  count: number;
}

export interface MatchedSpan {
  /** Position of the span's first token in the output. */
  outputStart: number;
  length: number;
  /** The matched token ids (public: they are Datanet content). */
  tokens: number[];
  /** Number of occurrences in the whole index. */
  occurrences: number;
  /** Contributions holding the span, by ascending id; counts sum to min(occurrences, maxOccurrences). */
  contributions: ContributionCount[];
}

/** A half-open range [lo, hi) of the suffix array. */
export interface SuffixRange {
  lo: number;
  hi: number;
}

/**
 * Narrows `range`, whose suffixes share their first `depth` tokens, to the suffixes whose next token
 * is `token`. Returns an empty range when none is.
 */
export function narrowRange(index: SpanIndex, range: SuffixRange, depth: number, token: number): SuffixRange {
  const { tokens, suffixArray } = index;
  let lo = range.lo;
  let hi = range.hi;
  // First entry whose token at `depth` is >= token.
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (tokens[suffixArray[mid] + depth] < token) a = mid + 1;
    else b = mid;
  }
  lo = a;
  // First entry whose token at `depth` is > token.
  b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (tokens[suffixArray[mid] + depth] <= token) a = mid + 1;
    else b = mid;
  }
  return { lo, hi: a };
}

/** The suffix-array range of every occurrence of `query` in the index (empty when it does not occur). */
export function findOccurrences(index: SpanIndex, query: ArrayLike<number>): SuffixRange {
  let range: SuffixRange = { lo: 0, hi: index.suffixArray.length };
  for (let d = 0; d < query.length && range.lo < range.hi; d++) {
    checkTokenId(query[d], `query position ${d}`);
    range = narrowRange(index, range, d, query[d]);
  }
  return range;
}

/** Length and suffix-array range of the longest prefix of output[start..] that occurs in the index. */
export function longestMatchAt(index: SpanIndex, output: ArrayLike<number>, start: number): { length: number; range: SuffixRange } {
  let range: SuffixRange = { lo: 0, hi: index.suffixArray.length };
  let length = 0;
  while (start + length < output.length) {
    if (range.hi - range.lo === 1) {
      // One candidate left: compare directly instead of searching.
      const at = index.suffixArray[range.lo];
      while (start + length < output.length && index.tokens[at + length] === output[start + length]) length++;
      break;
    }
    const next = narrowRange(index, range, length, output[start + length]);
    if (next.lo === next.hi) break;
    range = next;
    length++;
  }
  return { length, range };
}

/** Contribution counts of the occurrences in `range`, from an evenly spaced sample when there are too many. */
export function countContributions(index: SpanIndex, range: SuffixRange, maxOccurrences: number): ContributionCount[] {
  const total = range.hi - range.lo;
  const sampled = Math.min(total, maxOccurrences);
  const counts = new Map<bigint, number>();
  for (let j = 0; j < sampled; j++) {
    // Integer arithmetic, so the sample is the same on every machine.
    const entry = range.lo + Math.floor((j * total) / sampled);
    const id = index.contributionIds[documentAt(index, index.suffixArray[entry])];
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return [...counts]
    .map(([contributionId, count]) => ({ contributionId, count }))
    .sort((x, y) => (x.contributionId < y.contributionId ? -1 : x.contributionId > y.contributionId ? 1 : 0));
}

/** Every maximal span of at least `minSpanLength` tokens of `output` that occurs in the index, by output position. */
export function matchSpans(index: SpanIndex, output: ArrayLike<number>, options: SpanMatchOptions = DEFAULT_SPAN_MATCH_OPTIONS): MatchedSpan[] {
  checkSpanMatchOptions(options);
  for (let i = 0; i < output.length; i++) checkTokenId(output[i], `output position ${i}`);
  const spans: MatchedSpan[] = [];
  let previousLength = 0;
  for (let start = 0; start < output.length; start++) {
    // The match at start - 1 minus its first token still matches here, so a shorter one is impossible.
    if (output.length - start < options.minSpanLength) break;
    const { length, range } = longestMatchAt(index, output, start);
    const maximal = start === 0 || length >= previousLength;
    if (maximal && length >= options.minSpanLength) {
      spans.push({
        outputStart: start,
        length,
        tokens: Array.from({ length }, (_, i) => output[start + i]),
        occurrences: range.hi - range.lo,
        contributions: countContributions(index, range, options.maxOccurrences),
      });
    }
    previousLength = length;
  }
  return spans;
}

export function checkSpanMatchOptions(options: SpanMatchOptions): void {
  if (!Number.isSafeInteger(options.minSpanLength) || options.minSpanLength < 1) {
    throw new InvalidParameterError(`minSpanLength must be a positive integer, got ${options.minSpanLength}.`, { minSpanLength: options.minSpanLength });
  }
  if (!Number.isSafeInteger(options.maxOccurrences) || options.maxOccurrences < 1) {
    throw new InvalidParameterError(`maxOccurrences must be a positive integer, got ${options.maxOccurrences}.`, { maxOccurrences: options.maxOccurrences });
  }
}

/**
 * Consecutive output windows (k-grams, k = minSpanLength) whose k-grams have the same occurrence
 * count and the same contributions in the index: the unit span attribution credits.
 */
export interface WindowGroup {
  /** Output position of the group's first window. */
  outputStart: number;
  /** Number of consecutive windows: they start at outputStart, outputStart + 1, ... */
  windows: number;
  /** Occurrences of each window's k-gram in the index. */
  occurrences: number;
  /** Contributions holding those occurrences (sampled beyond maxOccurrences), by ascending id. */
  contributions: ContributionCount[];
}

/**
 * Every output window inside a matched span, looked up in the index on its own: a window of shared
 * text is held by every contribution that holds the shared text, even when one of them also holds
 * a longer span around it. Window tokens come from the spans (so a verifier needs only the record's
 * spans and the index), and runs of windows with the same evidence are grouped.
 */
export function matchWindows(
  index: SpanIndex, spans: readonly { outputStart: number; length: number; tokens: readonly number[] }[], options: SpanMatchOptions,
): WindowGroup[] {
  checkSpanMatchOptions(options);
  const k = options.minSpanLength;
  const windowTokens = new Map<number, readonly number[]>();
  for (const span of spans) {
    for (let offset = 0; offset + k <= span.length; offset++) {
      const start = span.outputStart + offset;
      if (!windowTokens.has(start)) windowTokens.set(start, span.tokens.slice(offset, offset + k));
    }
  }
  const groups: WindowGroup[] = [];
  for (const start of [...windowTokens.keys()].sort((a, b) => a - b)) {
    const range = findOccurrences(index, windowTokens.get(start)!);
    const occurrences = range.hi - range.lo;
    if (occurrences === 0) continue; // only a forged span can hold a window the index lacks; the span checks report it
    const contributions = countContributions(index, range, options.maxOccurrences);
    const last = groups.at(-1);
    if (last && last.outputStart + last.windows === start && last.occurrences === occurrences && sameCounts(last.contributions, contributions)) {
      last.windows++;
    } else {
      groups.push({ outputStart: start, windows: 1, occurrences, contributions });
    }
  }
  return groups;
}

function sameCounts(a: readonly ContributionCount[], b: readonly ContributionCount[]): boolean {
  return a.length === b.length && a.every((c, i) => c.contributionId === b[i].contributionId && c.count === b[i].count);
}
