import type { AdapterCache, AdapterLease } from "./adapter-cache.ts";
import type { BatchedDecoder, ForwardSegment } from "./batched-decoder.ts";
import { InvalidRequestError, SchedulerClosedError } from "./errors.ts";
import { normalizeRequest, type GenerationRequest } from "./generation-request.ts";
import { GenerationSequence, type FinishReason, type GenerationEvent } from "./generation-sequence.ts";
import type { GenerationTokenizer } from "./generation-tokenizer.ts";
import { PagedKvCache, type SequenceKvCache } from "./kv-cache.ts";

export interface SchedulerOptions {
  decoder: BatchedDecoder;
  tokenizer: GenerationTokenizer;
  /** Where requests' adapters come from; needed only if some request names one. */
  adapters?: AdapterCache;
  /** Sequences in the running batch at most; one KV cache slot each. */
  maxBatchSize: number;
  /**
   * Tokens reserved by running sequences at most (prompt + maxTokens each), so admitted sequences
   * never run out of room mid-generation. Bounds the KV cache positions in use.
   */
  maxTokensInFlight: number;
  /** Positions one sequence may hold (prompt + generated); defaults to the decoder's context length. */
  slotCapacity?: number;
  /** Positions per page of the shared KV cache (16 by default). */
  kvPageSize?: number;
  /**
   * Prompt tokens prefilled per step at most, over all joining sequences (chunked prefill, as in
   * vLLM/Sarathi): a long prompt is fed over several steps so the running sequences keep decoding
   * at a steady pace instead of stalling behind it. Default 512.
   */
  maxPrefillTokens?: number;
}

export interface SchedulerStats {
  waiting: number;
  running: number;
  tokensInFlight: number;
  steps: number;
  generatedTokens: number;
  /** Pages of the shared KV cache free now, of kvPages. */
  kvPagesFree: number;
  kvPages: number;
}

interface Slot {
  sequence: GenerationSequence;
  /** The KV cache slot, held while the sequence is in the running batch. */
  cache: SequenceKvCache | null;
  /** The pinned adapter; taken while the request still waits, so the load overlaps other requests' decoding. */
  lease: AdapterLease | null;
  /** The adapter cache has not answered yet; the request is not admitted before it does. */
  loadPending: boolean;
  removeAbortListener: () => void;
}

/**
 * Continuous batching (Orca's iteration-level scheduling): between two forward steps, finished and
 * cancelled sequences leave the batch and waiting requests join it, so a long generation never
 * holds up a short one. A joining sequence's prompt is prefilled in the same step in which the
 * others decode one token each (BatchedDecoder mixes both kinds of segment).
 *
 * Admission is first come, first served among requests that are ready: a request waits while the
 * batch is full or its prompt + maxTokens would push the reserved tokens past maxTokensInFlight,
 * and no later request overtakes it (so large requests are not starved). Adapters are fetched
 * ahead (S-LoRA's prefetch): the requests nearest the front of the queue start their adapter loads
 * while they wait, and a request whose adapter is still loading lets ready ones pass, so a cache
 * miss never holds a batch slot idle.
 */
export class GenerationScheduler {
  readonly #decoder: BatchedDecoder;
  readonly #tokenizer: GenerationTokenizer;
  readonly #adapters: AdapterCache | undefined;
  readonly #maxBatchSize: number;
  readonly #maxTokensInFlight: number;
  readonly #maxPrefillTokens: number;
  readonly #pool: PagedKvCache;
  readonly #eosTokenIds: number[];
  readonly #waiting: Slot[] = [];
  readonly #active: Slot[] = [];
  #tokensInFlight = 0;
  #steps = 0;
  #generatedTokens = 0;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #closed = false;

  constructor({ decoder, tokenizer, adapters, maxBatchSize, maxTokensInFlight, slotCapacity = decoder.contextLength, maxPrefillTokens = 512, kvPageSize = 16 }: SchedulerOptions) {
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError(`maxBatchSize must be an integer ≥ 1, got ${maxBatchSize}.`);
    if (!Number.isInteger(maxTokensInFlight) || maxTokensInFlight < 1) throw new RangeError(`maxTokensInFlight must be an integer ≥ 1, got ${maxTokensInFlight}.`);
    if (!Number.isInteger(maxPrefillTokens) || maxPrefillTokens < 1) throw new RangeError(`maxPrefillTokens must be an integer ≥ 1, got ${maxPrefillTokens}.`);
    if (slotCapacity > decoder.contextLength) throw new RangeError(`slotCapacity ${slotCapacity} exceeds the decoder's context length ${decoder.contextLength}.`);
    this.#decoder = decoder;
    this.#tokenizer = tokenizer;
    this.#adapters = adapters;
    this.#maxBatchSize = maxBatchSize;
    this.#maxTokensInFlight = maxTokensInFlight;
    this.#maxPrefillTokens = maxPrefillTokens;
    // Admission keeps the reserved tokens within maxTokensInFlight, and each sequence wastes less than
    // one page at its end: this many pages can never run out.
    this.#pool = new PagedKvCache(decoder.backend, decoder.config, {
      pages: Math.ceil(Math.min(maxTokensInFlight, maxBatchSize * slotCapacity) / kvPageSize) + maxBatchSize,
      pageSize: kvPageSize, sequenceCapacity: slotCapacity,
    });
    const eos = decoder.config.eosTokenId;
    this.#eosTokenIds = eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
  }

  get stats(): SchedulerStats {
    return {
      waiting: this.#waiting.length, running: this.#active.length, tokensInFlight: this.#tokensInFlight,
      steps: this.#steps, generatedTokens: this.#generatedTokens, kvPagesFree: this.#pool.freePages, kvPages: this.#pool.pages,
    };
  }

  /**
   * Queues a request and returns its event stream. Throws InvalidRequestError at once for a
   * request that can never be served (bad field, too long for a slot or for maxTokensInFlight).
   * Aborting the request's signal, or leaving the `for await` early, cancels it.
   */
  generate(request: GenerationRequest): AsyncIterableIterator<GenerationEvent> {
    if (this.#closed) throw new SchedulerClosedError();
    const normalized = normalizeRequest(request, this.#tokenizer, {
      vocabSize: this.#decoder.config.vocabSize, contextLength: this.#pool.sequenceCapacity, eosTokenIds: this.#eosTokenIds,
    });
    if (normalized.adapterId !== null && this.#adapters === undefined) {
      throw new InvalidRequestError("adapterId", "names an adapter but this scheduler serves only the base model", normalized.adapterId);
    }
    const reserved = normalized.promptIds.length + normalized.maxTokens;
    if (reserved > this.#maxTokensInFlight) {
      throw new InvalidRequestError("maxTokens", `plus the prompt needs ${reserved} tokens, more than maxTokensInFlight ${this.#maxTokensInFlight}`, normalized.maxTokens);
    }
    const slot: Slot = {
      sequence: new GenerationSequence(normalized, this.#tokenizer, () => this.#cancel(slot)),
      cache: null, lease: null, loadPending: false, removeAbortListener: () => {},
    };
    const signal = normalized.signal;
    if (signal?.aborted) {
      slot.sequence.finish("cancelled");
      return slot.sequence.stream;
    }
    if (signal) {
      const onAbort = () => this.#cancel(slot);
      signal.addEventListener("abort", onAbort, { once: true });
      slot.removeAbortListener = () => signal.removeEventListener("abort", onAbort);
    }
    this.#waiting.push(slot);
    this.#ensureLoop();
    return slot.sequence.stream;
  }

  /**
   * Stops taking requests, fails those waiting or running with SchedulerClosedError, waits for the
   * loop to stop, and gives the KV cache's memory back to the backend.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const slot of [...this.#waiting, ...this.#active]) this.#end(slot, new SchedulerClosedError());
    this.#signal();
    await this.#loop;
    this.#pool.dispose();
  }

  #ensureLoop(): void {
    this.#signal();
    if (this.#loop !== null) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = null;
      // A request that arrived while the loop was winding down still needs one.
      if (this.#waiting.length > 0 && !this.#closed) this.#ensureLoop();
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed && (this.#waiting.length > 0 || this.#active.length > 0)) {
      this.#admit();
      if (this.#active.length === 0) {
        // Every waiting request is waiting for its adapter: sleep until a load settles or a request arrives.
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        continue;
      }
      this.#step(this.#active);
      // Let I/O run between steps: new requests, aborts, adapter loads, readers of the streams.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Only the first 2 × maxBatchSize waiting requests are considered (the window): their adapters
   * are fetched, and those that are ready join in order. The window bounds how many adapters waiting
   * requests pin, so a burst of requests for distinct adapters cannot flood the adapter cache, and
   * is wider than the batch so that requests whose adapters are loading do not block ready ones.
   */
  #admit(): void {
    const window = this.#waiting.slice(0, 2 * this.#maxBatchSize);
    for (const slot of window) this.#fetchAdapter(slot);
    for (const slot of window) {
      if (this.#active.length >= this.#maxBatchSize) return;
      if (slot.loadPending) continue;
      const reserved = slot.sequence.reservedTokens;
      if (this.#tokensInFlight + reserved > this.#maxTokensInFlight) return;
      this.#waiting.splice(this.#waiting.indexOf(slot), 1);
      this.#tokensInFlight += reserved;
      slot.cache = this.#pool.acquire();
      this.#active.push(slot);
    }
  }

  /** Pins the request's adapter: at once on a cache hit, else starts the load and wakes the loop when it settles. */
  #fetchAdapter(slot: Slot): void {
    const adapterId = slot.sequence.request.adapterId;
    if (adapterId === null || slot.lease !== null || slot.loadPending) return;
    const adapters = this.#adapters!;
    slot.lease = adapters.tryAcquire(adapterId);
    if (slot.lease !== null) return;
    slot.loadPending = true;
    adapters.acquire(adapterId).then(
      (lease) => {
        slot.loadPending = false;
        // Cancelled while loading: its stream has ended already; only the pin is left to give back.
        if (slot.sequence.finished) lease.release();
        else slot.lease = lease;
        this.#signal();
      },
      (error: unknown) => {
        slot.loadPending = false;
        this.#end(slot, error);
        this.#signal();
      },
    );
  }

  /**
   * One forward step for the running batch: every decoding sequence feeds its last token, and the
   * prefilling ones share the prefill budget in admission order (the first always gets at least one
   * token, so a prompt longer than the budget still advances). Sequences whose prompt is still
   * incomplete after the step do not sample.
   */
  #step(batch: readonly Slot[]): void {
    const running = [...batch];
    let budget = this.#maxPrefillTokens;
    const stepping: Slot[] = [];
    const segments: ForwardSegment[] = [];
    for (const slot of running) {
      const prefilling = slot.sequence.promptRemaining > 0;
      if (prefilling && budget <= 0) continue;
      const tokens = slot.sequence.takeInput(budget);
      if (prefilling) budget -= tokens.length;
      stepping.push(slot);
      segments.push({ cache: slot.cache!, tokens, adapter: slot.lease?.adapter ?? null });
    }
    let logits: Float32Array;
    try {
      logits = this.#decoder.forward(segments);
    } catch (error) {
      // A failed step would leave the caches half written: end every sequence in it with the error.
      for (const slot of running) this.#end(slot, error);
      return;
    }
    this.#steps++;
    const V = this.#decoder.config.vocabSize;
    stepping.forEach((slot, i) => {
      if (slot.sequence.promptRemaining > 0) return;
      let reason: FinishReason | null;
      try {
        reason = slot.sequence.step(logits, i * V, V);
      } catch (error) {
        // Sampling or detokenizing failed for this sequence alone (a token the tokenizer cannot
        // decode, say): it ends with the error; the others and the loop go on.
        this.#end(slot, error);
        return;
      }
      this.#generatedTokens++;
      if (reason !== null) this.#end(slot, reason);
    });
  }

  #cancel(slot: Slot): void {
    if (slot.sequence.finished) return;
    this.#end(slot, "cancelled");
    this.#signal();
  }

  /** Takes a sequence out of the queue or the batch, frees what it holds and ends its stream. */
  #end(slot: Slot, outcome: FinishReason | unknown): void {
    const waitingIndex = this.#waiting.indexOf(slot);
    if (waitingIndex !== -1) this.#waiting.splice(waitingIndex, 1);
    const activeIndex = this.#active.indexOf(slot);
    if (activeIndex !== -1) {
      this.#active.splice(activeIndex, 1);
      this.#tokensInFlight -= slot.sequence.reservedTokens;
      this.#pool.release(slot.cache!);
      slot.cache = null;
    }
    slot.lease?.release();
    slot.lease = null;
    slot.removeAbortListener();
    if (outcome === "stop" || outcome === "length" || outcome === "cancelled") slot.sequence.finish(outcome);
    else slot.sequence.fail(outcome);
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
