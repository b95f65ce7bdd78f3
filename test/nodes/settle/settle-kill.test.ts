/**
 * SIGKILL mid-settlement: a settlement process (settle-child.ts) is killed right after journaling its signed
 * batch and, in a second run, right after broadcasting it; a new scheduler on the same database finishes each
 * batch, and the chain sees every batch once (vouchers redeemed once, one credit root).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { SettlementScheduler, loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { privateKeyOf, account } from "../node/helpers/local-chain.ts";
import { MANIFEST, MODEL_ID, startSettleFixture, type SettleFixture } from "./settle-fixture.ts";

const CHILD = fileURLToPath(new URL("./settle-child.ts", import.meta.url));
let f: SettleFixture;
let abis: SettlementAbis;
let dbPath: string;

before(async () => {
  f = await startSettleFixture();
  abis = await loadSettlementAbis();
  dbPath = join(f.dir, "node.sqlite");
}, { timeout: 180_000 });
after(async () => {
  await f?.close();
});

function runChild(killAt: "signed" | "broadcast"): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, dbPath, join(f.dir, `child-ipfs-${killAt}`), f.t.chain.rpcUrl, String(f.t.chain.chainId), f.t.addresses.settlement, privateKeyOf(account(2)), killAt], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("exit", (code, signal) => resolve({ code, signal, stderr }));
  });
}

const settledBatches = async () =>
  (await f.t.client.getContractEvents({ address: f.t.addresses.settlement, abi: abis.settlement, eventName: "BatchSettled", fromBlock: 0n })) as unknown as { args: { creditRoot: string } }[];

function resumeScheduler(database: NodeDatabase): SettlementScheduler {
  return new SettlementScheduler({
    database, store: f.store, client: f.t.client, sender: f.sender(), chainId: f.t.chain.chainId, settlement: f.t.addresses.settlement, abis, manifests: async () => MANIFEST,
  });
}

describe("SIGKILL mid-settlement", () => {
  it("a batch killed after journaling, then one killed after broadcast: each settles exactly once", async () => {
    const setup = NodeDatabase.open(dbPath);
    await f.served(setup, "req-1", 0);
    await f.served(setup, "req-2", 1);
    setup.close();

    const first = await runChild("signed");
    assert.equal(first.signal, "SIGKILL", first.stderr);
    assert.equal((await settledBatches()).length, 0, "killed before broadcasting");

    let database = NodeDatabase.open(dbPath);
    const round = await resumeScheduler(database).runOnce();
    assert.equal(round.resumed, 1);
    assert.ok(round.credited);
    assert.equal((await settledBatches()).length, 2, "the redeem batch once, then the credit batch");
    database.close();

    // More paid requests; this time the process dies after the redeem batch went out.
    database = NodeDatabase.open(dbPath);
    await f.served(database, "req-3", 2);
    database.close();
    const second = await runChild("broadcast");
    assert.equal(second.signal, "SIGKILL", second.stderr);
    database = NodeDatabase.open(dbPath);
    const resumed = await resumeScheduler(database).runOnce();
    assert.equal(resumed.resumed, 1);
    const batches = await settledBatches();
    assert.equal(batches.length, 3, "the broadcast redeem batch was mined once and not sent again");
    const redeemed = await f.t.client.readContract({ address: f.t.addresses.settlement, abi: abis.settlement, functionName: "redeemedOf", args: [f.payer, f.operator.address, MODEL_ID] });
    assert.equal(redeemed, 300_000n);
    assert.deepEqual([...resumeScheduler(database).journal.uncreditedPools().keys()], ["req-3"], "paid, waiting for the pending root's window");
    database.close();
  });
});
