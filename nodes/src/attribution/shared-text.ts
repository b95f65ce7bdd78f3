/**
 * Shared text: token n-grams that contributions of at least `minAccounts` different accounts hold (a template's
 * header and footer, boilerplate, a passage two contributors both submitted). A gradient sketch built with
 * `sharedText` leaves every token inside such an n-gram out of the loss whose gradient it takes, on both sides:
 * each training example's row and each output's gradient. Otherwise the gradient of text every contributor
 * shares is added to every contributor's rows and to every output that carries it, and swamps what is
 * distinctive (docs/benchmarks.md, "topical non-memorizing regime"). Span attribution already splits shared text
 * among its holders; the gradient then compares only what is not shared.
 *
 * What is shared is part of the sketch's provenance as "runs" (maximal stretches of a contribution covered by
 * shared n-grams, deduplicated), so a serving node and a verifier derive the same mask from the sketch alone:
 * the n-grams of the runs are exactly the shared n-grams (compared token by token: see NgramTable).
 */
import type { Address } from "viem";
import { InvalidGradientSketchError } from "./errors.ts";

/** What a sketch leaves out of its gradients' losses: see the module comment. */
export interface SharedTextProvenance {
  /** n: the n-gram length (the span minimum, 8, by default). */
  n: number;
  /** An n-gram is shared when contributions of at least this many accounts hold it (≥ 2). */
  minAccounts: number;
  /** Token runs whose n-grams are the shared ones, each at least n tokens, in first-seen order. */
  runs: number[][];
}

export interface SharedTextOptions {
  n?: number;
  minAccounts?: number;
}

export const DEFAULT_SHARED_TEXT: Required<SharedTextOptions> = { n: 8, minAccounts: 2 };

/**
 * A hash table of n-grams, exact: an n-gram's 53-bit key (two 32-bit multiplicative hashes of its token ids) finds
 * its bucket, and the tokens themselves are compared, so two different n-grams never count as one. A number key
 * costs a Map a fraction of a string's (finding the shared text of a 1M-token Datanet: 1–3 s and 0.3 GB instead of
 * 10 s and 0.6 GB with string keys), and comparing tokens keeps a contributor from crafting an n-gram whose key
 * equals a rival's distinctive one (the hashes are invertible, so a collision can be searched for).
 */
class NgramTable<V> {
  readonly #buckets = new Map<number, { tokens: ArrayLike<number>; at: number; value: V }[]>();

  readonly n: number;

  constructor(n: number) {
    this.n = n;
  }

  static key(tokens: ArrayLike<number>, start: number, n: number): number {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ n;
    for (let i = start; i < start + n; i++) {
      const t = tokens[i] >>> 0;
      h1 = Math.imul(h1 ^ t, 0x9e3779b1);
      h1 ^= h1 >>> 15;
      h2 = Math.imul(h2 + t, 0x85ebca77);
      h2 ^= h2 >>> 13;
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 0x27d4eb2f) >>> 0;
    h2 = Math.imul(h2 ^ (h2 >>> 16), 0x165667b1) >>> 0;
    return h1 * 2 ** 21 + (h2 >>> 11);
  }

  #find(tokens: ArrayLike<number>, at: number): { bucket: { tokens: ArrayLike<number>; at: number; value: V }[] | undefined; index: number } {
    const bucket = this.#buckets.get(NgramTable.key(tokens, at, this.n));
    if (bucket === undefined) return { bucket, index: -1 };
    const index = bucket.findIndex((entry) => {
      for (let j = 0; j < this.n; j++) if (entry.tokens[entry.at + j] !== tokens[at + j]) return false;
      return true;
    });
    return { bucket, index };
  }

  get(tokens: ArrayLike<number>, at: number): V | undefined {
    const { bucket, index } = this.#find(tokens, at);
    return index >= 0 ? bucket![index].value : undefined;
  }

  /** Sets the value of the n-gram at `at` (the table keeps a reference to `tokens`: do not change them). */
  set(tokens: ArrayLike<number>, at: number, value: V): void {
    const { bucket, index } = this.#find(tokens, at);
    if (index >= 0) bucket![index].value = value;
    else if (bucket) bucket.push({ tokens, at, value });
    else this.#buckets.set(NgramTable.key(tokens, at, this.n), [{ tokens, at, value }]);
  }

  *entries(): Generator<[ArrayLike<number>, number, V]> {
    for (const bucket of this.#buckets.values()) for (const { tokens, at, value } of bucket) yield [tokens, at, value];
  }
}

export function checkSharedTextOptions(options: Required<SharedTextOptions>): void {
  if (!Number.isSafeInteger(options.n) || options.n < 1) throw new InvalidGradientSketchError(`sharedText.n must be a positive integer, got ${options.n}.`, { n: options.n });
  if (!Number.isSafeInteger(options.minAccounts) || options.minAccounts < 2) {
    throw new InvalidGradientSketchError(`sharedText.minAccounts must be an integer ≥ 2 (text one account holds is distinctive of it), got ${options.minAccounts}.`, { minAccounts: options.minAccounts });
  }
}

/** The shared text of a Datanet's contributions, as a sketch's provenance names it. */
export function findSharedText(contributions: readonly { contributor: Address; tokens: ArrayLike<number> }[], options: SharedTextOptions = {}): SharedTextProvenance {
  const { n, minAccounts } = { ...DEFAULT_SHARED_TEXT, ...options };
  checkSharedTextOptions({ n, minAccounts });
  // Per n-gram, its one holder so far (an account's index), or the set of them once a second account holds it: most
  // n-grams of a Datanet are held by one account, and a number costs less than a set.
  const holders = new NgramTable<number | Set<number>>(n);
  const accountIndex = new Map<string, number>();
  for (const { contributor, tokens } of contributions) {
    const account = contributor.toLowerCase();
    let a = accountIndex.get(account);
    if (a === undefined) accountIndex.set(account, (a = accountIndex.size));
    for (let i = 0; i + n <= tokens.length; i++) {
      const held = holders.get(tokens, i);
      if (held === undefined) holders.set(tokens, i, a);
      else if (typeof held === "number") { if (held !== a) holders.set(tokens, i, new Set([held, a])); }
      else held.add(a);
    }
  }
  const shared = new NgramTable<true>(n);
  for (const [tokens, at, held] of holders.entries()) if (typeof held !== "number" && held.size >= minAccounts) shared.set(tokens, at, true);
  const runs: number[][] = [];
  const seen = new Set<string>();
  for (const { tokens } of contributions) {
    for (let i = 0; i + n <= tokens.length;) {
      if (shared.get(tokens, i) === undefined) {
        i++;
        continue;
      }
      let last = i;
      while (last + 1 + n <= tokens.length && shared.get(tokens, last + 1) !== undefined) last++;
      const run = Array.from({ length: last + n - i }, (_, j) => tokens[i + j]);
      const key = run.join(",");
      if (!seen.has(key)) {
        seen.add(key);
        runs.push(run);
      }
      i = last + 1;
    }
  }
  return { n, minAccounts, runs };
}

/** The shared n-grams a provenance names, ready to mask sequences with. */
export class SharedTextMask {
  readonly #n: number;
  readonly #ngrams: NgramTable<true>;

  constructor(shared: SharedTextProvenance) {
    checkSharedTextProvenance(shared);
    this.#n = shared.n;
    this.#ngrams = new NgramTable<true>(shared.n);
    for (const run of shared.runs) for (let i = 0; i + shared.n <= run.length; i++) this.#ngrams.set(run, i, true);
  }

  /** 1 for each token of `tokens` inside a shared n-gram: the tokens a sketch with this provenance does not score. */
  unscored(tokens: ArrayLike<number>): Uint8Array {
    const n = this.#n;
    const mask = new Uint8Array(tokens.length);
    for (let i = 0; i + n <= tokens.length; i++) if (this.#ngrams.get(tokens, i) !== undefined) mask.fill(1, i, i + n);
    return mask;
  }
}

/** Throws unless `shared` is a well-formed SharedTextProvenance (a sketch file's provenance is untrusted input). */
export function checkSharedTextProvenance(shared: SharedTextProvenance): void {
  if (typeof shared !== "object" || shared === null || !Array.isArray(shared.runs)) {
    throw new InvalidGradientSketchError("The sketch's provenance names sharedText without runs.", {});
  }
  checkSharedTextOptions({ n: shared.n, minAccounts: shared.minAccounts });
  shared.runs.forEach((run, r) => {
    if (!Array.isArray(run) || run.length < shared.n || !run.every((t) => Number.isSafeInteger(t) && t >= 0 && t < 2 ** 32)) {
      throw new InvalidGradientSketchError(`sharedText.runs[${r}] must be at least ${shared.n} token ids.`, { run: r });
    }
  });
}
