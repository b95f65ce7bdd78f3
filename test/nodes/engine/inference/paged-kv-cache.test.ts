/**
 * The paged KV cache shared by all sequences gives the decoder exactly the logits the contiguous
 * per-sequence cache gives, bit for bit, with pages scattered among sequences; pages are taken as
 * sequences grow and given back when they end.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import type { Backend } from "../../../../nodes/src/engine/backend/backend.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { ContextOverflowError, NoFreePageError } from "../../../../nodes/src/engine/inference/errors.ts";
import { PagedKvCache, createSequenceKvCache, type SequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { CONFIG, randomAdapter, tinyWeights } from "./fixtures.ts";

/** Prefill three prompts of different lengths, then decode six steps, some sequences skipping some steps. */
function run(decoder: BatchedDecoder, caches: SequenceKvCache[]): Float32Array[] {
  const adapters = [randomAdapter(1), null, randomAdapter(2)];
  const prompts = [[1, 2, 3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13, 14]];
  const outputs = [decoder.forward(prompts.map((tokens, s) => ({ cache: caches[s], tokens, adapter: adapters[s] })), { allLogits: true }).slice()];
  for (let step = 0; step < 6; step++) {
    const active = [0, 1, 2].filter((s) => (step + s) % 3 !== 0);
    outputs.push(decoder.forward(active.map((s) => ({ cache: caches[s], tokens: [15 + step + s], adapter: adapters[s] }))).slice());
  }
  return outputs;
}

describe("paged KV cache", () => {
  for (const name of ["reference", "wasm"] as const) {
    it(`gives the same logits as contiguous caches, bit for bit, with scattered pages (${name} backend)`, async () => {
      const backend: Backend = name === "wasm" ? await createWasmBackend({ threads: 1 }) : createReferenceBackend();
      try {
        const weights = tinyWeights();
        const decoder = new BatchedDecoder(CONFIG, weights, backend);
        const contiguous = run(decoder, [0, 1, 2].map(() => createSequenceKvCache(backend, CONFIG, 16)));
        const pool = new PagedKvCache(backend, CONFIG, { pages: 20, pageSize: 3, sequenceCapacity: 16 });
        const caches = [0, 1, 2].map(() => pool.acquire());
        const paged = run(decoder, caches);
        assert.deepEqual(paged, contiguous);
        // Interleaved growth scattered each sequence's pages through the store.
        const tables = caches.map((c) => [...c.pageTable]);
        assert.ok(tables.some((table) => table.some((page, i) => i > 0 && page !== table[i - 1] + 1)), `page tables ${JSON.stringify(tables)}`);
        assert.equal(pool.freePages, 20 - tables.flat().length);
        pool.dispose();
      } finally {
        await backend.dispose();
      }
    });
  }

  it("takes pages as a sequence grows, gives them back when it ends, and refuses past its limits", () => {
    const backend = createReferenceBackend();
    const pool = new PagedKvCache(backend, CONFIG, { pages: 4, pageSize: 4, sequenceCapacity: 12 });
    const a = pool.acquire();
    a.reserve(5);
    assert.deepEqual(a.pageTable, [0, 1]);
    a.length = 5;
    a.reserve(3);
    assert.deepEqual(a.pageTable, [0, 1], "positions 5..7 fit in the second page");
    const b = pool.acquire();
    b.reserve(8);
    assert.equal(pool.freePages, 0);
    assert.throws(() => a.reserve(4), (e: unknown) => e instanceof NoFreePageError && e.details.needed === 1);
    assert.throws(() => a.reserve(8), ContextOverflowError);
    pool.release(b);
    pool.release(b);
    assert.equal(pool.freePages, 2);
    a.reserve(4);
    assert.equal(a.pageTable.length, 3);
    const before = backend.memoryStats().liveBytes;
    pool.dispose();
    assert.ok(backend.memoryStats().liveBytes < before, "the page store went back to the backend");
  });
});
