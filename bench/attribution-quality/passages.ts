/**
 * Cuts fixed-length token passages out of prose documents, each starting at a sentence start and
 * sharing no n-gram with any passage taken before it. The n-gram rule is what makes the planted
 * evidence unambiguous: a span of `distinctNgram` tokens or more (the span matcher's minimum) can
 * then only ever be found in the one passage it came from.
 */
import { BenchmarkInputError } from "./errors.ts";

export interface PassageSource {
  /** Where the text comes from, e.g. a corpus document id; kept for the report. */
  id: string;
  text: string;
}

export interface Passage {
  sourceId: string;
  tokens: Int32Array;
}

export interface PassageTokenizer {
  encode(text: string): number[];
}

export interface PassageOptions {
  /** Tokens per passage. */
  length: number;
  /** n of the n-grams no two passages may share (the span matcher's minSpanLength). */
  distinctNgram: number;
  /** At most this many passages from one source document, so the passages spread over many. */
  perSource: number;
}

/** The n-grams already taken, as strings of token ids; shared by every passage drawn for one Datanet. */
export class NgramRegistry {
  readonly n: number;
  private readonly seen = new Set<string>();

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new BenchmarkInputError(`An n-gram length must be a positive integer, got ${n}.`, { n });
    this.n = n;
  }

  /** True when some n-gram of `tokens` is already registered. */
  overlaps(tokens: ArrayLike<number>): boolean {
    for (const key of this.ngrams(tokens)) if (this.seen.has(key)) return true;
    return false;
  }

  add(tokens: ArrayLike<number>): void {
    for (const key of this.ngrams(tokens)) this.seen.add(key);
  }

  private *ngrams(tokens: ArrayLike<number>): Generator<string> {
    for (let i = 0; i + this.n <= tokens.length; i++) yield Array.prototype.slice.call(tokens, i, i + this.n).join(",");
  }
}

/**
 * Offsets where a sentence starts: after ". ", "! " or "? " (and the text's start) when a capital
 * letter follows. Good enough for 19th- to 21st-century English prose, which is what the corpus holds.
 */
export function sentenceStarts(text: string): number[] {
  const starts: number[] = [];
  if (/^[A-Z]/.test(text)) starts.push(0);
  for (const match of text.matchAll(/[.!?]["')\]]?\s+(?=[A-Z])/g)) starts.push(match.index + match[0].length);
  return starts;
}

/** Prose, not a table or a list: mostly letters and spaces, no line breaks inside the passage. */
function looksLikeProse(text: string): boolean {
  if (text.includes("\n")) return false;
  let letters = 0;
  for (const ch of text) if (/[A-Za-z ]/.test(ch)) letters++;
  return letters / text.length > 0.9;
}

/**
 * Takes passages from `sources` in the order given (callers shuffle them with a seed) until `count`
 * are found. Each passage is the first `length` tokens of the text from a sentence start; the
 * character window is sized generously (tokens average about four bytes in the project tokenizer)
 * and the tokens beyond `length` dropped, so a passage may end inside a word, which the model and
 * the index see only as token ids anyway. Throws when the sources run out first.
 */
export function extractPassages(
  sources: readonly PassageSource[], count: number, tokenizer: PassageTokenizer, registry: NgramRegistry, options: PassageOptions,
): Passage[] {
  if (registry.n !== options.distinctNgram) {
    throw new BenchmarkInputError(`The n-gram registry counts ${registry.n}-grams but distinctNgram is ${options.distinctNgram}.`, { registry: registry.n, distinctNgram: options.distinctNgram });
  }
  const windowChars = options.length * 12;
  const passages: Passage[] = [];
  for (const source of sources) {
    let taken = 0;
    let nextFree = 0;
    for (const start of sentenceStarts(source.text)) {
      if (passages.length === count) return passages;
      if (taken === options.perSource) break;
      // Passages from one document never overlap in text.
      if (start < nextFree) continue;
      const window = source.text.slice(start, start + windowChars);
      const tokens = tokenizer.encode(window);
      if (tokens.length < options.length) continue;
      const passage = Int32Array.from(tokens.slice(0, options.length));
      if (!looksLikeProse(window.slice(0, Math.min(window.length, options.length * 5)))) continue;
      if (registry.overlaps(passage)) continue;
      registry.add(passage);
      passages.push({ sourceId: source.id, tokens: passage });
      taken++;
      nextFree = start + windowChars;
    }
  }
  if (passages.length < count) {
    throw new BenchmarkInputError(`Only ${passages.length} of ${count} distinct ${options.length}-token passages could be cut from ${sources.length} documents.`, {
      found: passages.length, wanted: count, sources: sources.length,
    });
  }
  return passages;
}
