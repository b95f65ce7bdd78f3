import { AdapterLoadError } from "./errors.ts";
import type { LoraAdapter } from "../lora/adapter.ts";

/** Fetches an adapter from a slower tier (local disk, IPFS...) on a cache miss. */
export type AdapterLoader = (adapterId: string) => Promise<LoraAdapter>;

/**
 * A pinned adapter. While any lease on it is held (a running sequence uses it) the cache never
 * evicts it; `release` once the sequence finishes.
 */
export interface AdapterLease {
  readonly adapterId: string;
  readonly adapter: LoraAdapter;
  release(): void;
}

export interface AdapterCacheOptions {
  /** Bytes of adapter weights kept in memory; least recently used unpinned adapters go first. */
  budgetBytes: number;
  load: AdapterLoader;
  /** Checks a freshly loaded adapter (for example against the base model's shapes); throws to refuse it. */
  validate?: (adapter: LoraAdapter, adapterId: string) => void;
  /**
   * Moves a freshly loaded (and validated) adapter to where the kernels read it in place: a
   * backend's own memory, so the SGMV kernels need no copy per step. Its factors go back through
   * `discard` when the cache evicts it.
   */
  place?: (adapter: LoraAdapter) => LoraAdapter;
  /** Gives back what `place` took, once the adapter is evicted (never while a lease pins it). */
  discard?: (adapter: LoraAdapter) => void;
}

export interface AdapterCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  usedBytes: number;
  adapters: number;
}

/** Bytes an adapter's factors occupy: what the cache counts against its budget. */
export function adapterByteSize(adapter: LoraAdapter): number {
  let bytes = 0;
  for (const { A, B } of adapter.weights.values()) bytes += A.byteLength + B.byteLength;
  return bytes;
}

interface Entry {
  adapter: LoraAdapter;
  bytes: number;
  pins: number;
}

interface PendingLoad {
  promise: Promise<void>;
  waiters: number;
}

/**
 * The memory tier of adapter storage: an LRU over adapters with a budget in bytes, filled on a miss
 * by the injected loader. Concurrent misses for one adapter share a single load. An adapter a
 * running sequence holds is pinned and never evicted; if pins alone exceed the budget the cache
 * stays over it until they are released, rather than failing requests that are already running.
 */
export class AdapterCache {
  readonly budgetBytes: number;
  readonly #load: AdapterLoader;
  readonly #validate: ((adapter: LoraAdapter, adapterId: string) => void) | undefined;
  readonly #place: ((adapter: LoraAdapter) => LoraAdapter) | undefined;
  readonly #discard: ((adapter: LoraAdapter) => void) | undefined;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, PendingLoad>();
  #usedBytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor({ budgetBytes, load, validate, place, discard }: AdapterCacheOptions) {
    if (!Number.isFinite(budgetBytes) || budgetBytes <= 0) throw new RangeError(`Adapter cache budget must be a positive number of bytes, got ${budgetBytes}.`);
    this.budgetBytes = budgetBytes;
    this.#load = load;
    this.#validate = validate;
    this.#place = place;
    this.#discard = discard;
  }

  get stats(): AdapterCacheStats {
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions, usedBytes: this.#usedBytes, adapters: this.#entries.size };
  }

  /** Whether the adapter is in memory now (a lease would not wait for a load). */
  has(adapterId: string): boolean {
    return this.#entries.has(adapterId);
  }

  /** The adapter, pinned, if it is in memory now; null on a miss (then `acquire` loads it). Lets a hit join a batch without waiting a turn. */
  tryAcquire(adapterId: string): AdapterLease | null {
    const entry = this.#entries.get(adapterId);
    if (entry === undefined) return null;
    this.#hits++;
    entry.pins++;
    this.#touch(adapterId, entry);
    return this.#lease(adapterId, entry);
  }

  /** The adapter, pinned, loading it first on a miss. Rejects with AdapterLoadError when no tier has it or it cannot fit. */
  async acquire(adapterId: string): Promise<AdapterLease> {
    const hit = this.tryAcquire(adapterId);
    if (hit !== null) return hit;
    this.#misses++;
    let pending = this.#pending.get(adapterId);
    if (pending === undefined) {
      pending = { promise: Promise.resolve(), waiters: 0 };
      pending.promise = this.#loadIntoCache(adapterId, pending);
      this.#pending.set(adapterId, pending);
    }
    // Counted before waiting: the load pins the entry once per waiter the moment it is inserted, so
    // nothing can evict it between the insertion and each waiter resuming.
    pending.waiters++;
    await pending.promise;
    return this.#lease(adapterId, this.#entries.get(adapterId)!);
  }

  async #loadIntoCache(adapterId: string, pending: PendingLoad): Promise<void> {
    try {
      let adapter: LoraAdapter;
      try {
        adapter = await this.#load(adapterId);
        this.#validate?.(adapter, adapterId);
      } catch (error) {
        throw error instanceof AdapterLoadError ? error : new AdapterLoadError(adapterId, error instanceof Error ? error.message : String(error), error);
      }
      const bytes = adapterByteSize(adapter);
      if (bytes > this.budgetBytes) {
        throw new AdapterLoadError(adapterId, `it needs ${bytes} bytes, more than the whole cache budget of ${this.budgetBytes}`);
      }
      if (this.#place) adapter = this.#place(adapter);
      const entry: Entry = { adapter, bytes, pins: pending.waiters };
      this.#entries.set(adapterId, entry);
      this.#usedBytes += bytes;
      this.#evictToBudget();
    } finally {
      this.#pending.delete(adapterId);
    }
  }

  #lease(adapterId: string, entry: Entry): AdapterLease {
    let released = false;
    return {
      adapterId,
      adapter: entry.adapter,
      release: () => {
        if (released) return;
        released = true;
        entry.pins--;
        if (entry.pins === 0 && this.#usedBytes > this.budgetBytes) this.#evictToBudget();
      },
    };
  }

  #touch(adapterId: string, entry: Entry): void {
    this.#entries.delete(adapterId);
    this.#entries.set(adapterId, entry);
  }

  #evictToBudget(): void {
    for (const [adapterId, entry] of this.#entries) {
      if (this.#usedBytes <= this.budgetBytes) return;
      if (entry.pins > 0) continue;
      this.#entries.delete(adapterId);
      this.#usedBytes -= entry.bytes;
      this.#evictions++;
      this.#discard?.(entry.adapter);
    }
  }

  /**
   * Evicts every adapter no lease pins (all of them once the requests using the cache have ended),
   * giving each back through `discard`. Call it before dropping the cache.
   */
  clear(): void {
    for (const [adapterId, entry] of this.#entries) {
      if (entry.pins > 0) continue;
      this.#entries.delete(adapterId);
      this.#usedBytes -= entry.bytes;
      this.#discard?.(entry.adapter);
    }
  }
}
