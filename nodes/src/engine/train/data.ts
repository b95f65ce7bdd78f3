import { IGNORE_INDEX } from "../ops/cross-entropy.ts";
import { Rng } from "./rng.ts";
import { TrainingConfigError } from "./errors.ts";

/**
 * Training data is a list of token-id sequences (one per contribution or document). A sequence
 * longer than the context is cut into windows of T+1 tokens that overlap by one, so every token
 * after the first is predicted exactly once; a shorter one is padded, its padding not scored.
 */

export interface Batch {
  /** [B*T] inputs; padding positions hold token 0 (they are never scored). */
  tokens: Int32Array;
  /** [B*T] next-token targets, IGNORE_INDEX on padding. */
  targets: Int32Array;
  /** How many targets are scored. */
  count: number;
}

/** Cuts sequences into windows of at most T+1 tokens; windows with fewer than 2 tokens predict nothing and are dropped. */
export function windowSequences(sequences: readonly Int32Array[], T: number): Int32Array[] {
  const windows: Int32Array[] = [];
  for (const seq of sequences) {
    for (let start = 0; start + 1 < seq.length; start += T) windows.push(seq.subarray(start, Math.min(seq.length, start + T + 1)));
  }
  return windows;
}

/**
 * Packs windows (each ≤ T+1 tokens) into a [B, T] batch. Rows beyond `windows` are all padding,
 * so the last, partial batch of an evaluation needs no special case.
 */
export function makeBatch(windows: readonly Int32Array[], B: number, T: number): Batch {
  if (windows.length > B) throw new TrainingConfigError("batchSize", B, `is smaller than the ${windows.length} windows given`);
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  let count = 0;
  windows.forEach((w, b) => {
    if (w.length > T + 1) throw new TrainingConfigError("sequenceLength", T, `is shorter than a window of ${w.length - 1} predictions`);
    const n = w.length - 1;
    tokens.set(w.subarray(0, n), b * T);
    targets.set(w.subarray(1, n + 1), b * T);
    count += n;
  });
  return { tokens, targets, count };
}

/**
 * Deterministic train / held-out split: a seeded shuffle of the sequence indices, the first
 * evalFraction of them held out. Splitting whole sequences (not windows) keeps a contribution's
 * text entirely on one side, so held-out loss measures generalisation, not recall.
 */
export function splitTrainEval<T>(items: readonly T[], evalFraction: number, seed: number): { train: T[]; eval: T[] } {
  if (!(evalFraction >= 0 && evalFraction < 1)) throw new TrainingConfigError("evalFraction", evalFraction, "must be in [0, 1)");
  const order = new Rng(seed).shuffle(items.map((_, i) => i));
  const nEval = Math.round(items.length * evalFraction);
  const held = new Set(order.slice(0, nEval));
  return { train: items.filter((_, i) => !held.has(i)), eval: items.filter((_, i) => held.has(i)) };
}

/** Where a DataOrder stands, for checkpoints: the RNG state before the current epoch's shuffle, and the cursor in it. */
export interface DataOrderState {
  epoch: number;
  cursor: number;
  epochRngState: number[];
}

/**
 * Endless seeded order over n items: a fresh shuffle each epoch, drawn from one RNG stream.
 * Saving the RNG state from before the current epoch's shuffle (not the permutation itself) keeps
 * checkpoints small; resuming redraws the same permutation and continues at the cursor.
 */
export class DataOrder {
  private readonly n: number;
  private rng: Rng;
  private epochRngState: number[];
  private permutation: number[];
  private epoch = 0;
  private cursor = 0;

  constructor(n: number, seed: number) {
    if (!Number.isInteger(n) || n <= 0) throw new TrainingConfigError("trainingData", n, "must hold at least one sequence");
    this.n = n;
    this.rng = new Rng(seed);
    this.epochRngState = this.rng.state();
    this.permutation = this.drawPermutation();
  }

  /** The next `count` item indices, wrapping into a new epoch (and a new shuffle) as needed. */
  next(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      if (this.cursor === this.n) {
        this.epoch++;
        this.cursor = 0;
        this.epochRngState = this.rng.state();
        this.permutation = this.drawPermutation();
      }
      out.push(this.permutation[this.cursor++]);
    }
    return out;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  state(): DataOrderState {
    return { epoch: this.epoch, cursor: this.cursor, epochRngState: [...this.epochRngState] };
  }

  loadState(state: DataOrderState): void {
    if (!(state.cursor >= 0 && state.cursor <= this.n)) throw new TrainingConfigError("dataOrder.cursor", state.cursor, `must be in [0, ${this.n}]`);
    this.rng = Rng.fromState(state.epochRngState);
    this.epochRngState = [...state.epochRngState];
    this.permutation = this.drawPermutation();
    this.epoch = state.epoch;
    this.cursor = state.cursor;
  }

  private drawPermutation(): number[] {
    return this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
  }
}
