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
 * the n-grams of the runs are exactly the shared n-grams (n-grams are compared by a 53-bit key: see ngramKey).
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
 * An n-gram's 53-bit key: two independent 32-bit multiplicative hashes of its token ids (a number key costs a Map a
 * fraction of a string's: finding the shared text of a 1M-token Datanet took 3 s and 0.27 GB instead of 10 s and 0.63 GB). Two different
 * n-grams share a key with probability about 2^-53 per pair; the key is a function of the tokens alone, so a serving
 * node and a verifier mask exactly the same tokens either way.
 */
function ngramKey(tokens: ArrayLike<number>, start: number, n: number): number {
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
  const holders = new Map<number, number | Set<number>>();
  const accountIndex = new Map<string, number>();
  for (const { contributor, tokens } of contributions) {
    const account = contributor.toLowerCase();
    let a = accountIndex.get(account);
    if (a === undefined) accountIndex.set(account, (a = accountIndex.size));
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = ngramKey(tokens, i, n);
      const held = holders.get(key);
      if (held === undefined) holders.set(key, a);
      else if (typeof held === "number") { if (held !== a) holders.set(key, new Set([held, a])); }
      else held.add(a);
    }
  }
  const shared = new Set<number>();
  for (const [key, held] of holders) if (typeof held !== "number" && held.size >= minAccounts) shared.add(key);
  holders.clear();
  const runs: number[][] = [];
  const seen = new Set<string>();
  for (const { tokens } of contributions) {
    for (let i = 0; i + n <= tokens.length;) {
      if (!shared.has(ngramKey(tokens, i, n))) {
        i++;
        continue;
      }
      let last = i;
      while (last + 1 + n <= tokens.length && shared.has(ngramKey(tokens, last + 1, n))) last++;
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
  readonly #ngrams = new Set<number>();

  constructor(shared: SharedTextProvenance) {
    checkSharedTextProvenance(shared);
    this.#n = shared.n;
    for (const run of shared.runs) for (let i = 0; i + shared.n <= run.length; i++) this.#ngrams.add(ngramKey(run, i, shared.n));
  }

  /** 1 for each token of `tokens` inside a shared n-gram: the tokens a sketch with this provenance does not score. */
  unscored(tokens: ArrayLike<number>): Uint8Array {
    const n = this.#n;
    const mask = new Uint8Array(tokens.length);
    for (let i = 0; i + n <= tokens.length; i++) if (this.#ngrams.has(ngramKey(tokens, i, n))) mask.fill(1, i, i + n);
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
