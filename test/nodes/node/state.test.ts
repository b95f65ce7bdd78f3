import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MIGRATIONS } from "../../../nodes/src/state/migrations.ts";
import { openState } from "../../../nodes/src/state/index.ts";

const job = (jobId: bigint) => ({
  jobId, requester: "0xabc", datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy", fee: 10n ** 30n,
  deadline: 1_000n, createdBlock: 5n, createdTx: "0xtx",
});

describe("node state (node:sqlite)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tributary-state-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("migrates a new database in WAL mode and keeps what was written across reopening", () => {
    const state = openState(dir);
    assert.equal(state.database.schemaVersion, MIGRATIONS.length);
    assert.equal((state.database.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    assert.equal(state.jobs.insert(job(7n)), true);
    assert.equal(state.jobs.insert(job(7n)), false, "a job delivered twice is recorded once");
    state.chain.advance({ number: 12n, hash: "0xh12" });
    state.kv.set("peer", { id: "12D3" });
    state.artifacts.record({ cid: "bafy-adapter", kind: "adapter", jobId: 7n });
    state.artifacts.record({ cid: "bafy-adapter", kind: "adapter", jobId: 7n });
    state.close();

    const reopened = openState(dir);
    assert.equal(reopened.jobs.get(7n)!.fee, 10n ** 30n, "uint256 amounts survive");
    assert.deepEqual(reopened.chain.cursor(), { number: 12n, hash: "0xh12" });
    assert.deepEqual(reopened.kv.get("peer"), { id: "12D3" });
    assert.equal(reopened.artifacts.forJob(7n).length, 1);
    reopened.close();
  });

  it("records a phase and its output in one step, and rolls a failed transaction back", () => {
    const state = openState(":memory:");
    state.jobs.insert(job(1n));
    state.jobs.completePhase(1n, "fetch", { bytes: 10n });
    assert.equal(state.jobs.get(1n)!.phase, "fetch");
    assert.deepEqual(state.jobs.get(1n)!.outputs, { fetch: { bytes: "10" } });
    assert.throws(() => state.database.transaction(() => {
      state.jobs.update(1n, { status: "running" });
      throw new Error("crash in the middle of a step");
    }));
    assert.equal(state.jobs.get(1n)!.status, "discovered", "none of the step was kept");
    state.close();
  });

  it("rewinds the follower's checkpoint and delivered events above a fork", () => {
    const state = openState(":memory:");
    for (const n of [10n, 11n, 12n]) {
      state.chain.markDelivered({ txHash: `0x${n}`, logIndex: 0, blockNumber: n, blockHash: `0xh${n}`, contract: "models", eventName: "JobCreated" });
      state.chain.advance({ number: n, hash: `0xh${n}` });
    }
    state.chain.rewind({ number: 10n, hash: "0xh10" });
    assert.deepEqual(state.chain.cursor(), { number: 10n, hash: "0xh10" });
    assert.equal(state.chain.isDelivered("0x10", 0), true);
    assert.equal(state.chain.isDelivered("0x11", 0), false);
    assert.deepEqual(state.chain.knownBlocks(100n).map((b) => b.number), [10n]);
    state.chain.rewind(undefined);
    assert.equal(state.chain.cursor(), undefined);
    state.close();
  });
});
