/**
 * A byte-level BPE trainer (GPT-2 / Hugging Face `BpeTrainer` semantics): text is split with the GPT-2 pattern,
 * each piece becomes its UTF-8 bytes, and the most frequent adjacent pair is merged repeatedly until the
 * vocabulary is full. Pair counts are kept up to date incrementally: a merge only revisits the words that
 * contain the merged pair, found through a pair -> words index, and a lazy max-heap picks the next pair.
 */
import { BYTE_TO_CHAR, splitPieces } from "./byte-level.ts";
import { BpeTrainingError } from "./errors.ts";

export interface BpeTrainingOptions {
  /** Final vocabulary size, special tokens and the 256 byte tokens included. */
  vocabSize: number;
  /** Added first, at ids 0..n-1, and never produced by merges (e.g. "<|endoftext|>"). */
  specialTokens?: readonly string[];
  /** A pair seen fewer times than this is never merged; 2 unless given. */
  minFrequency?: number;
}

export interface TrainedBpe {
  /** Token (in byte-level characters, or a special token's text) -> id. */
  vocab: Map<string, number>;
  /** Merges in priority order, each as its two byte-level-character tokens. */
  merges: [string, string][];
  specialTokens: string[];
}

/** Largest vocabulary whose pair of ids packs into one exact integer key (a * 2^16 + b). */
const MAX_VOCAB = 65536;

export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainingOptions): TrainedBpe {
  const specialTokens = [...(options.specialTokens ?? [])];
  const minFrequency = options.minFrequency ?? 2;
  const base = specialTokens.length + 256;
  if (!Number.isSafeInteger(options.vocabSize) || options.vocabSize < base || options.vocabSize > MAX_VOCAB) {
    throw new BpeTrainingError(`vocabSize must be an integer from ${base} (special tokens + 256 bytes) to ${MAX_VOCAB}`, { vocabSize: options.vocabSize });
  }
  if (new Set(specialTokens).size !== specialTokens.length || specialTokens.some((t) => t.length === 0)) {
    throw new BpeTrainingError("special tokens must be distinct non-empty strings", { specialTokens });
  }
  if (!Number.isSafeInteger(minFrequency) || minFrequency < 1) {
    throw new BpeTrainingError("minFrequency must be a positive integer", { minFrequency });
  }

  // Symbols are numbered 0..255 for bytes, then 256, 257... for merged tokens; ids shift by the specials at the end.
  const symbolText: string[] = [...BYTE_TO_CHAR];
  const words = countWords(texts);
  const pairs = new PairIndex();
  words.forEach((word, index) => pairs.addWord(word, index));

  const merges: [string, string][] = [];
  while (symbolText.length < options.vocabSize - specialTokens.length) {
    const best = pairs.popBest(minFrequency);
    if (best === undefined) break;
    const left = best >>> 16;
    const right = best & 0xffff;
    const merged = symbolText.length;
    symbolText.push(symbolText[left] + symbolText[right]);
    merges.push([symbolText[left], symbolText[right]]);
    for (const index of pairs.wordsWith(best)) {
      const word = words[index];
      if (!containsPair(word.symbols, left, right)) continue; // stale index entry: an earlier merge consumed it
      pairs.removeWord(word);
      word.symbols = mergePair(word.symbols, left, right, merged);
      pairs.addWord(word, index);
    }
    pairs.forget(best);
  }

  const vocab = new Map<string, number>();
  specialTokens.forEach((token, id) => vocab.set(token, id));
  symbolText.forEach((text, symbol) => vocab.set(text, specialTokens.length + symbol));
  return { vocab, merges, specialTokens };
}

interface Word {
  symbols: number[];
  count: number;
}

function countWords(texts: Iterable<string>): Word[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (typeof text !== "string") throw new BpeTrainingError(`training texts must be strings, got ${typeof text}`);
    for (const piece of splitPieces(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  const encoder = new TextEncoder();
  // sorted so that training is deterministic whatever order the map was filled in
  return [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([piece, count]) => ({ symbols: [...encoder.encode(piece)], count }));
}

function containsPair(symbols: number[], left: number, right: number): boolean {
  for (let i = 0; i + 1 < symbols.length; i++) if (symbols[i] === left && symbols[i + 1] === right) return true;
  return false;
}

function mergePair(symbols: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(merged);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}

/** Pair counts weighted by word frequency, which words hold each pair, and a lazy max-heap over the counts. */
class PairIndex {
  readonly #counts = new Map<number, number>();
  readonly #where = new Map<number, Set<number>>();
  readonly #heap = new PairHeap();

  addWord(word: Word, index: number): void {
    const { symbols, count } = word;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = symbols[i] * MAX_VOCAB + symbols[i + 1];
      const total = (this.#counts.get(key) ?? 0) + count;
      this.#counts.set(key, total);
      this.#heap.push(total, key);
      let holders = this.#where.get(key);
      if (holders === undefined) this.#where.set(key, (holders = new Set()));
      holders.add(index);
    }
  }

  /** Takes a word's pairs out of the counts; its index entries stay and are skipped when stale. */
  removeWord(word: Word): void {
    const { symbols, count } = word;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = symbols[i] * MAX_VOCAB + symbols[i + 1];
      const total = (this.#counts.get(key) ?? 0) - count;
      if (total > 0) {
        this.#counts.set(key, total);
        this.#heap.push(total, key);
      } else {
        this.#counts.delete(key);
      }
    }
  }

  wordsWith(key: number): number[] {
    return [...(this.#where.get(key) ?? [])];
  }

  forget(key: number): void {
    this.#counts.delete(key);
    this.#where.delete(key);
  }

  /** The pair with the highest current count (ties: lowest ids), or undefined when none reaches minFrequency. */
  popBest(minFrequency: number): number | undefined {
    for (;;) {
      const top = this.#heap.pop();
      if (top === undefined || top.count < minFrequency) return undefined;
      // entries are never updated in place; one whose count is out of date is dropped
      if (this.#counts.get(top.key) === top.count) return top.key;
    }
  }
}

/** Binary max-heap of (count, key), ordered by count then by smaller key. */
class PairHeap {
  readonly #counts: number[] = [];
  readonly #keys: number[] = [];

  push(count: number, key: number): void {
    let i = this.#counts.length;
    this.#counts.push(count);
    this.#keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#above(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } | undefined {
    if (this.#counts.length === 0) return undefined;
    const top = { count: this.#counts[0], key: this.#keys[0] };
    const lastCount = this.#counts.pop() as number;
    const lastKey = this.#keys.pop() as number;
    if (this.#counts.length > 0) {
      this.#counts[0] = lastCount;
      this.#keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.#counts.length && this.#above(l, best)) best = l;
        if (r < this.#counts.length && this.#above(r, best)) best = r;
        if (best === i) break;
        this.#swap(i, best);
        i = best;
      }
    }
    return top;
  }

  #above(a: number, b: number): boolean {
    return this.#counts[a] > this.#counts[b] || (this.#counts[a] === this.#counts[b] && this.#keys[a] < this.#keys[b]);
  }

  #swap(a: number, b: number): void {
    [this.#counts[a], this.#counts[b]] = [this.#counts[b], this.#counts[a]];
    [this.#keys[a], this.#keys[b]] = [this.#keys[b], this.#keys[a]];
  }
}
