import type { Backend } from "../backend/backend.ts";
import type { LlamaConfig } from "../model/config.ts";
import { ContextOverflowError, NoFreeSlotError } from "./errors.ts";

/**
 * One sequence's keys and values, for every layer: keys[l] and values[l] are [capacity, NKV, HS].
 * Grouped-query attention shares each KV head among NH/NKV query heads, so only NKV heads are kept.
 * Positions [0, length) are filled; a forward step writes the next ones and then advances `length`.
 */
export interface SequenceKvCache {
  readonly slot: number;
  readonly capacity: number;
  readonly keys: readonly Float32Array[];
  readonly values: readonly Float32Array[];
  length: number;
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
  return { slot, capacity, keys, values, length: 0 };
}

/** Throws ContextOverflowError unless `extra` more positions fit after the cache's current length. */
export function requireCapacity(cache: SequenceKvCache, extra: number): void {
  if (cache.length + extra > cache.capacity) throw new ContextOverflowError(cache.length + extra, cache.capacity);
}
