import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { savePeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { createDiskAdapterLoader } from "../../../../nodes/src/engine/inference/disk-adapter-loader.ts";
import { AdapterCache, adapterByteSize } from "../../../../nodes/src/engine/inference/adapter-cache.ts";
import { AdapterLoadError } from "../../../../nodes/src/engine/inference/errors.ts";
import type { LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { CONFIG, randomAdapter } from "./fixtures.ts";

/** An adapter of exactly `bytes` bytes (one pair), tagged so a test can tell which load produced it. */
function adapterOf(bytes: number, tag: string): LoraAdapter {
  const floats = bytes / 4;
  return { config: { rank: 1, alpha: 1, targetModules: ["q_proj"] }, baseModel: tag, weights: new Map([["0.q_proj", { A: new Float32Array(floats / 2), B: new Float32Array(floats / 2) }]]) };
}

/** A loader that counts its calls and can be held open to test concurrent misses. */
function countingLoader(bytes = 400) {
  const calls: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  return {
    calls,
    hold() { gate = new Promise((resolve) => { open = resolve; }); },
    release() { open(); },
    load: async (id: string) => {
      calls.push(id);
      await gate;
      if (id.startsWith("missing")) throw new Error(`no adapter folder ${id}`);
      return adapterOf(id.startsWith("huge") ? 10_000 : bytes, id);
    },
  };
}

describe("AdapterCache", () => {
  it("places loaded adapters (in a backend's memory, say) and gives each back once when it is evicted or cleared", async () => {
    const loader = countingLoader();
    const placed: string[] = [];
    const discarded: string[] = [];
    const cache = new AdapterCache({
      budgetBytes: 800, load: loader.load,
      place: (adapter) => { placed.push(adapter.baseModel); return { ...adapter, baseModel: `placed-${adapter.baseModel}` }; },
      discard: (adapter) => discarded.push(adapter.baseModel),
    });
    const a = await cache.acquire("a");
    assert.equal(a.adapter.baseModel, "placed-a", "leases hand out the placed copy");
    (await cache.acquire("b")).release();
    (await cache.acquire("c")).release(); // over budget: b (unpinned, least recent) goes
    assert.deepEqual(discarded, ["placed-b"]);
    cache.clear();
    assert.deepEqual(discarded, ["placed-b", "placed-c"], "clear leaves the pinned adapter");
    a.release();
    cache.clear();
    assert.deepEqual(discarded, ["placed-b", "placed-c", "placed-a"]);
    assert.deepEqual(placed, ["a", "b", "c"]);
    assert.equal(cache.stats.usedBytes, 0);
  });

  it("counts an adapter's factors in bytes", () => {
    assert.equal(adapterByteSize(adapterOf(400, "x")), 400);
  });

  it("hits after the first load and evicts the least recently used when over budget", async () => {
    const loader = countingLoader();
    const cache = new AdapterCache({ budgetBytes: 1000, load: loader.load });
    for (const id of ["a", "b"]) (await cache.acquire(id)).release();
    (await cache.acquire("a")).release(); // a is now more recent than b
    (await cache.acquire("c")).release(); // 1200 bytes > 1000: b goes
    assert.deepEqual(loader.calls, ["a", "b", "c"]);
    assert.equal(cache.has("b"), false);
    assert.equal(cache.has("a") && cache.has("c"), true);
    assert.deepEqual(cache.stats, { hits: 1, misses: 3, evictions: 1, usedBytes: 800, adapters: 2 });
  });

  it("never evicts a pinned adapter, and catches up on the budget when the pin is released", async () => {
    const loader = countingLoader();
    const cache = new AdapterCache({ budgetBytes: 800, load: loader.load });
    const a = await cache.acquire("a");
    const b = await cache.acquire("b");
    const c = await cache.acquire("c"); // all three pinned: over budget rather than evicting in-use adapters
    assert.equal(cache.stats.usedBytes, 1200);
    assert.equal(cache.has("a") && cache.has("b") && cache.has("c"), true);
    a.release();
    a.release(); // a second release of the same lease is ignored
    assert.equal(cache.has("a"), false);
    assert.equal(cache.stats.usedBytes, 800);
    b.release();
    c.release();
    assert.equal(cache.stats.usedBytes, 800);
  });

  it("shares one load between concurrent misses for the same adapter", async () => {
    const loader = countingLoader();
    loader.hold();
    const cache = new AdapterCache({ budgetBytes: 400, load: loader.load });
    const pending = [cache.acquire("a"), cache.acquire("a"), cache.acquire("a")];
    await new Promise((resolve) => setImmediate(resolve));
    loader.release();
    const leases = await Promise.all(pending);
    assert.deepEqual(loader.calls, ["a"]);
    assert.ok(leases.every((lease) => lease.adapter === leases[0].adapter));
    // Three pins: loading another adapter cannot evict a while any is held.
    leases[0].release();
    leases[1].release();
    const b = await cache.acquire("b");
    assert.equal(cache.has("a"), true);
    leases[2].release();
    assert.equal(cache.has("a"), false);
    b.release();
  });

  it("reports a failed load as AdapterLoadError with the adapter id, and retries it next time", async () => {
    const loader = countingLoader();
    const cache = new AdapterCache({ budgetBytes: 1000, load: loader.load });
    await assert.rejects(cache.acquire("missing-1"), (e: unknown) => e instanceof AdapterLoadError && e.details.adapterId === "missing-1" && /no adapter folder/.test(e.message));
    await assert.rejects(cache.acquire("missing-1"), AdapterLoadError);
    assert.deepEqual(loader.calls, ["missing-1", "missing-1"]);
  });

  it("refuses an adapter larger than the whole budget, and one its validator rejects", async () => {
    const loader = countingLoader();
    const cache = new AdapterCache({
      budgetBytes: 1000, load: loader.load,
      validate: (adapter) => { if (adapter.baseModel === "wrong") throw new Error("it was trained on another base model"); },
    });
    await assert.rejects(cache.acquire("huge"), /more than the whole cache budget/);
    await assert.rejects(cache.acquire("wrong"), /another base model/);
    assert.equal(cache.stats.adapters, 0);
  });
});

describe("disk adapter tier", () => {
  it("loads a PEFT adapter folder into the cache, with the factors PEFT wrote", async () => {
    const directory = await mkdtemp(join(tmpdir(), "tributary-adapters-"));
    try {
      const adapter = randomAdapter(5);
      const layers = Array.from({ length: CONFIG.numLayers }, (_, l) =>
        Object.fromEntries(adapter.config.targetModules.map((t) => [t, adapter.weights.get(`${l}.${t}`)!])));
      await savePeftAdapter(join(directory, "legal-qa"), { config: adapter.config, baseModel: "tiny", layers }, CONFIG);
      const cache = new AdapterCache({ budgetBytes: 1 << 20, load: createDiskAdapterLoader(directory, CONFIG) });
      const lease = await cache.acquire("legal-qa");
      assert.deepEqual([...lease.adapter.weights.keys()], [...adapter.weights.keys()]);
      for (const [key, { A, B }] of adapter.weights) {
        assert.deepEqual(lease.adapter.weights.get(key)!.A, A);
        assert.deepEqual(lease.adapter.weights.get(key)!.B, B);
      }
      await assert.rejects(cache.acquire("../outside"), (e: unknown) => e instanceof AdapterLoadError && /may hold only/.test(e.message));
      await assert.rejects(cache.acquire("absent"), AdapterLoadError);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("AdapterCache.tryAcquire", () => {
  it("pins an adapter already in memory at once and answers null on a miss without loading", async () => {
    const loader = countingLoader();
    const cache = new AdapterCache({ budgetBytes: 1000, load: loader.load });
    assert.equal(cache.tryAcquire("a"), null);
    assert.deepEqual(loader.calls, []);
    (await cache.acquire("a")).release();
    const lease = cache.tryAcquire("a");
    assert.ok(lease !== null);
    (await cache.acquire("b")).release();
    (await cache.acquire("c")).release(); // over budget, but a is pinned: b goes
    assert.equal(cache.has("a"), true);
    assert.equal(cache.has("b"), false);
    lease.release();
  });
});
