import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { KvCachePool, requireCapacity } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { ContextOverflowError, NoFreeSlotError } from "../../../../nodes/src/engine/inference/errors.ts";
import { CONFIG } from "./fixtures.ts";

describe("KvCachePool", () => {
  it("keeps NKV heads per position for every layer, and hands out each slot once", () => {
    const pool = new KvCachePool(createReferenceBackend(), CONFIG, 2, 10);
    const a = pool.acquire();
    const b = pool.acquire();
    assert.notEqual(a.slot, b.slot);
    assert.equal(a.keys.length, CONFIG.numLayers);
    assert.equal(a.values[0].length, 10 * CONFIG.numKvHeads * CONFIG.headDim);
    assert.throws(() => pool.acquire(), NoFreeSlotError);
    a.length = 7;
    pool.release(a);
    pool.release(a); // a double release does not free the slot twice
    assert.equal(pool.freeSlots, 1);
    const again = pool.acquire();
    assert.equal(again, a);
    assert.equal(again.length, 0);
  });

  it("refuses to grow a sequence past its slot's capacity", () => {
    const cache = new KvCachePool(createReferenceBackend(), CONFIG, 1, 4).acquire();
    cache.length = 3;
    requireCapacity(cache, 1);
    assert.throws(() => requireCapacity(cache, 2), (e: unknown) => e instanceof ContextOverflowError && e.details.needed === 5 && e.details.capacity === 4);
  });
});
