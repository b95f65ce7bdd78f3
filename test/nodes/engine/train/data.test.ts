import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";
import { DataOrder, makeBatch, splitTrainEval, windowSequences } from "../../../../nodes/src/engine/train/data.ts";
import { IGNORE_INDEX } from "../../../../nodes/src/engine/ops/cross-entropy.ts";

describe("seeded randomness and data order", () => {
  it("the RNG is reproducible from a seed and from a saved state", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const first = [a.nextUint32(), a.nextUint32()];
    assert.deepEqual(first, [b.nextUint32(), b.nextUint32()]);
    const saved = a.state();
    const next = [a.nextFloat(), a.normal(), a.nextInt(10)];
    const resumed = Rng.fromState(saved);
    assert.deepEqual([resumed.nextFloat(), resumed.normal(), resumed.nextInt(10)], next);
    assert.notDeepEqual(first, [new Rng(43).nextUint32(), new Rng(43).nextUint32()]);
  });

  it("uniform floats look uniform", () => {
    const rng = new Rng(7);
    let sum = 0;
    for (let i = 0; i < 10000; i++) sum += rng.nextFloat();
    assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
  });

  it("each epoch visits every item once and a resumed order continues identically", () => {
    const order = new DataOrder(5, 9);
    const epoch0 = order.next(5);
    assert.deepEqual([...epoch0].sort(), [0, 1, 2, 3, 4]);
    order.next(2);
    const saved = order.state();
    const rest = order.next(11);
    const resumed = new DataOrder(5, 9);
    resumed.loadState(saved);
    assert.deepEqual(resumed.next(11), rest);
    assert.equal(resumed.currentEpoch, 3);
  });

  it("windows overlap by one token and batches pad with ignored targets", () => {
    const windows = windowSequences([Int32Array.of(1, 2, 3, 4, 5, 6), Int32Array.of(7)], 4);
    assert.deepEqual(windows.map((w) => [...w]), [[1, 2, 3, 4, 5], [5, 6]]);
    const batch = makeBatch(windows, 3, 4);
    assert.deepEqual([...batch.tokens], [1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0]);
    const I = IGNORE_INDEX;
    assert.deepEqual([...batch.targets], [2, 3, 4, 5, 6, I, I, I, I, I, I, I]);
    assert.equal(batch.count, 5);
  });

  it("the held-out split is deterministic and disjoint", () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = splitTrainEval(items, 0.25, 3);
    assert.deepEqual(a, splitTrainEval(items, 0.25, 3));
    assert.equal(a.eval.length, 5);
    assert.deepEqual([...a.train, ...a.eval].sort((x, y) => x - y), items);
  });
});
