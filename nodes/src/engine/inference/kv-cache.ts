import type { Backend } from "../backend/backend.ts";
import type { LlamaConfig } from "../model/config.ts";
import { ContextOverflowError, NoFreePageError, NoFreeSlotError } from "./errors.ts";

/**
 * One sequence's keys and values, for every layer, stored in pages of `pageSize` positions:
 * keys[l] and values[l] are the page storage [pages × pageSize, NKV, HS], and position p lives at
 * row pageTable[⌊p / pageSize⌋] × pageSize + p mod pageSize. A standalone cache (or a slot of
 * KvCachePool) is one page holding every position; a PagedKvCache shares its pages among all its
 * sequences. Grouped-query attention shares each KV head among NH/NKV query heads, so only NKV heads
 * are kept. Positions [0, length) are filled; a forward step reserves room for its new positions,
 * writes them and then advances `length`.
 */
export interface SequenceKvCache {
  readonly slot: number;
  /** Positions the sequence may reach at most. */
  readonly capacity: number;
  readonly keys: readonly Float32Array[];
  readonly values: readonly Float32Array[];
  readonly pageSize: number;
  /** Page index of positions [i·pageSize, (i+1)·pageSize), for every page the sequence holds. */
  readonly pageTable: readonly number[];
  length: number;
  /**
   * Makes room for `extra` positions after `length` (a paged cache takes pages here). Throws
   * ContextOverflowError past `capacity`, NoFreePageError when the shared pages are all in use.
   */
  reserve(extra: number): void;
}

/** The row of page storage that holds position `position` of `cache`. */
export function cacheRow(cache: SequenceKvCache, position: number): number {
  const size = cache.pageSize;
  return cache.pageTable[(position / size) | 0] * size + (position % size);
}

/** Writes rows [row, row + T) of a step's [N, KVD] k or v buffer to positions [length, length + T) of `layerStore`. */
export function writeCacheRows(cache: SequenceKvCache, layerStore: Float32Array, source: Float32Array, row: number, T: number, kvDim: number): void {
  let t = 0;
  while (t < T) {
    // Runs of positions within one page are one copy.
    const position = cache.length + t;
    const run = Math.min(T - t, cache.pageSize - (position % cache.pageSize));
    layerStore.set(source.subarray((row + t) * kvDim, (row + t + run) * kvDim), cacheRow(cache, position) * kvDim);
    t += run;
  }
}

/** A cache that is one page of `capacity` positions: reserve only checks the capacity. */
function singlePageCache(slot: number, capacity: number, keys: Float32Array[], values: Float32Array[]): SequenceKvCache {
  const cache: SequenceKvCache = {
    slot, capacity, keys, values, pageSize: capacity, pageTable: [0], length: 0,
    reserve: (extra) => requireCapacity(cache, extra),
  };
  return cache;
}

/**
 * A fixed pool of KV cache slots, allocated once up front (llm.c style): slots × layers × 2 ×
 * capacity × NKV × HS floats. Continuous batching takes a slot when a sequence is admitted and
 * gives it back when the sequence finishes, so memory never grows while serving.
 */
export class KvCachePool {
  readonly slots: number;
  readonly capacity: number;
  readonly #backend: Backend;
  readonly #caches: SequenceKvCache[];
  readonly #free: number[];

  constructor(backend: Backend, config: LlamaConfig, slots: number, capacity: number) {
    this.#backend = backend;
    this.slots = slots;
    this.capacity = capacity;
    this.#caches = Array.from({ length: slots }, (_, slot) => allocateCache(backend, config, slot, capacity));
    // Popped from the end, so slot 0 is handed out first.
    this.#free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  get freeSlots(): number {
    return this.#free.length;
  }

  /** Takes a free slot for a new sequence, emptied. Throws NoFreeSlotError when all are in use. */
  acquire(): SequenceKvCache {
    const slot = this.#free.pop();
    if (slot === undefined) throw new NoFreeSlotError(this.slots);
    const cache = this.#caches[slot];
    cache.length = 0;
    return cache;
  }

  release(cache: SequenceKvCache): void {
    if (this.#caches[cache.slot] !== cache || this.#free.includes(cache.slot)) return;
    cache.length = 0;
    this.#free.push(cache.slot);
  }

  /** Gives every slot's memory back to the backend. The pool is unusable afterwards. Idempotent. */
  dispose(): void {
    for (const cache of this.#caches) freeSequenceKvCache(this.#backend, cache);
    this.#caches.length = 0;
    this.#free.length = 0;
  }
}

/** Gives a cache's buffers back to the backend that allocated them. */
export function freeSequenceKvCache(backend: Backend, cache: SequenceKvCache): void {
  for (const buffer of [...cache.keys, ...cache.values]) backend.free(buffer);
}

/** A standalone cache, for a single sequence outside any pool (tests, one-off scoring). */
export function createSequenceKvCache(backend: Backend, config: LlamaConfig, capacity: number): SequenceKvCache {
  return allocateCache(backend, config, -1, capacity);
}

function allocateCache(backend: Backend, config: LlamaConfig, slot: number, capacity: number): SequenceKvCache {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`A KV cache needs a capacity of at least one position, got ${capacity}.`);
  const size = capacity * config.numKvHeads * config.headDim;
  const keys: Float32Array[] = [];
  const values: Float32Array[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    keys.push(backend.alloc(size));
    values.push(backend.alloc(size));
  }
  return singlePageCache(slot, capacity, keys, values);
}

export interface PagedKvCacheOptions {
  /** Pages in the pool: the KV memory is pages × pageSize positions, shared by every sequence. */
  pages: number;
  /** Positions per page (16 by default). */
  pageSize?: number;
  /** Positions one sequence may reach at most. */
  sequenceCapacity: number;
}

/**
 * A KV cache shared by all sequences, in fixed-size pages (vLLM's PagedAttention): every layer's keys
 * and values live in one page store, each sequence has a page table, and a sequence takes a page
 * only when it reaches the page's first position and gives all its pages back when it ends. Memory
 * then follows the tokens really held, not batch size × context length, and nothing fragments: any
 * free page serves any sequence. Positions are read through the page table by the cached attention,
 * with the same float operations in the same order as over a contiguous cache, so results are equal
 * bit for bit.
 */
export class PagedKvCache {
  readonly pages: number;
  readonly pageSize: number;
  readonly sequenceCapacity: number;
  readonly #backend: Backend;
  readonly #keys: Float32Array[] = [];
  readonly #values: Float32Array[] = [];
  readonly #freePages: number[];
  readonly #live = new Set<SequenceKvCache>();
  #nextSlot = 0;

  constructor(backend: Backend, config: LlamaConfig, { pages, pageSize = 16, sequenceCapacity }: PagedKvCacheOptions) {
    for (const [name, value] of [["pages", pages], ["pageSize", pageSize], ["sequenceCapacity", sequenceCapacity]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`A paged KV cache needs ${name} ≥ 1, got ${value}.`);
    }
    this.#backend = backend;
    this.pages = pages;
    this.pageSize = pageSize;
    this.sequenceCapacity = sequenceCapacity;
    const size = pages * pageSize * config.numKvHeads * config.headDim;
    for (let l = 0; l < config.numLayers; l++) {
      this.#keys.push(backend.alloc(size));
      this.#values.push(backend.alloc(size));
    }
    // Popped from the end, so page 0 is handed out first.
    this.#freePages = Array.from({ length: pages }, (_, i) => pages - 1 - i);
  }

  get freePages(): number {
    return this.#freePages.length;
  }

  /** An empty sequence holding no page yet. */
  acquire(): SequenceKvCache {
    const pageTable: number[] = [];
    const pool = this;
    const cache: SequenceKvCache = {
      slot: this.#nextSlot++, capacity: this.sequenceCapacity, keys: this.#keys, values: this.#values,
      pageSize: this.pageSize, pageTable, length: 0,
      reserve(extra: number): void {
        requireCapacity(cache, extra);
        const needed = Math.ceil((cache.length + extra) / pool.pageSize) - pageTable.length;
        if (needed > pool.#freePages.length) throw new NoFreePageError(needed, pool.#freePages.length, pool.pages);
        for (let i = 0; i < needed; i++) pageTable.push(pool.#freePages.pop()!);
      },
    };
    this.#live.add(cache);
    return cache;
  }

  /** Gives a sequence's pages back. Idempotent. */
  release(cache: SequenceKvCache): void {
    if (!this.#live.delete(cache)) return;
    const table = cache.pageTable as number[];
    for (let i = table.length - 1; i >= 0; i--) this.#freePages.push(table[i]);
    table.length = 0;
    cache.length = 0;
  }

  /** Gives the page store back to the backend. The cache is unusable afterwards. Idempotent. */
  dispose(): void {
    for (const buffer of [...this.#keys, ...this.#values]) this.#backend.free(buffer);
    this.#keys.length = 0;
    this.#values.length = 0;
    this.#freePages.length = 0;
    this.#live.clear();
  }
}

/** Throws ContextOverflowError unless `extra` more positions fit after the cache's current length. */
export function requireCapacity(cache: SequenceKvCache, extra: number): void {
  if (cache.length + extra > cache.capacity) throw new ContextOverflowError(cache.length + extra, cache.capacity);
}
