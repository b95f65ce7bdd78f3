/**
 * The watcher against a node that forges a batch, on a real `hardhat node` with an embedded Helia store
 * (settle-fixture.ts). The node's honest batch recomputes from chain + IPFS; then the node rewrites a record's
 * weights to credit an account no evidence supports and settles that root; the watcher recomputes it, challenges
 * it with the bond, the arbiter upholds, and the node is slashed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseEther, zeroHash, type Abi } from "viem";
import { BatchWatcher } from "../../../nodes/src/settle/batch-watcher.ts";
import { SettlementScheduler, loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { account, localAccount } from "../node/helpers/local-chain.ts";
import { CONTRIBUTORS, MANIFEST, startSettleFixture, type SettleFixture } from "./settle-fixture.ts";

let f: SettleFixture;
let nodeDb: NodeDatabase;
let watchDb: NodeDatabase;
let abis: SettlementAbis;
let scheduler: SettlementScheduler;
let watcher: BatchWatcher;

before(async () => {
  f = await startSettleFixture();
  nodeDb = NodeDatabase.open(join(f.dir, "node.sqlite"));
  watchDb = NodeDatabase.open(join(f.dir, "watcher.sqlite"));
  abis = await loadSettlementAbis();
  const { t } = f;
  scheduler = new SettlementScheduler({
    database: nodeDb, store: f.store, client: t.client, sender: f.sender(), chainId: t.chain.chainId, settlement: t.addresses.settlement, abis,
    manifests: async () => MANIFEST,
  });
  // The watcher: its own database and wallet (account 8, funded for the bond).
  await t.send(account(0), "token", "transfer", [account(8).address, parseEther("100")]);
  watcher = new BatchWatcher({
    database: watchDb, client: t.client, store: f.store,
    settlement: { address: t.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
    token: { address: t.addresses.token, abi: t.abis.token as Abi },
    data: { models: { address: t.addresses.models, abi: t.abis.models }, datanets: t.addresses.datanets },
    wallet: f.wallet(localAccount(8)),
  });
}, { timeout: 180_000 });

after(async () => {
  nodeDb?.close();
  watchDb?.close();
  await f?.close();
});

describe("batch watcher", () => {
  it("recomputes an honest batch from chain and IPFS and leaves it alone", async () => {
    await f.served(nodeDb, "req-1", 0);
    await f.served(nodeDb, "req-2", 1);
    const round = await scheduler.runOnce();
    assert.equal(round.credited?.records, 2);
    const verdicts = await watcher.scan();
    assert.equal(verdicts.length, 1);
    assert.deepEqual(verdicts[0].discrepancies, []);
    assert.equal(verdicts[0].ok, true);
    assert.equal(verdicts[0].challenged, false);
    assert.deepEqual(await watcher.scan(), [], "a batch is checked once");
  });

  it("challenges a forged batch crediting an account its evidence does not support; the arbiter upholds and the node is slashed", async () => {
    const { t } = f;
    await t.rpc("evm_increaseTime", [86_400 * 2]);
    await t.rpc("evm_mine");
    await f.served(nodeDb, "req-3", 0);
    // The node rewrites the record: all of it to contribution 3, whose contributor did not write this output.
    const row = nodeDb.db.prepare("SELECT record FROM serve_records WHERE record_id = 'req-3'").get() as { record: string };
    const forged = JSON.parse(row.record) as { weights: { contributionId: string; ppm: number }[] };
    assert.deepEqual(forged.weights.map((w) => w.contributionId), ["1"]);
    forged.weights = [{ contributionId: "3", ppm: 1_000_000 }];
    nodeDb.db.prepare("UPDATE serve_records SET record = ? WHERE record_id = 'req-3'").run(JSON.stringify(forged));
    const round = await scheduler.runOnce();
    assert.ok(round.credited);

    const stakeOf = async () => (await t.client.readContract({ address: t.addresses.nodes, abi: t.abis.nodes, functionName: "stakeOf", args: [f.operator.address] })) as bigint;
    const stakeBefore = await stakeOf();
    const [verdict] = await watcher.scan();
    assert.equal(verdict.ok, false);
    assert.equal(verdict.batchId, round.credited.batchId);
    assert.ok(verdict.discrepancies.some((d) => d.code === "credit-account" && d.account === CONTRIBUTORS[2].toLowerCase()), JSON.stringify(verdict.discrepancies));
    assert.equal(verdict.challenged, true);
    assert.equal((await scheduler.credits()).pendingChallenged, true);

    // The arbiter (account 0 in the local deployment) upholds: the root is discarded and the node slashed.
    const pools = await scheduler.pools();
    const hash = await f.wallet(account(0)).writeContract({
      address: pools, abi: abis.pools, functionName: "resolveChallenge", args: [f.operator.address, round.credited.batchId, account(8).address, true], account: account(0), chain: f.chain,
    });
    assert.equal((await t.client.waitForTransactionReceipt({ hash })).status, "success");
    const stakeAfter = await stakeOf();
    assert.ok(stakeAfter < stakeBefore, `stake ${stakeBefore} -> ${stakeAfter}`);
    assert.equal((await scheduler.credits()).pendingRoot, zeroHash, "the forged root is gone");
    const upheld = await t.client.getContractEvents({ address: pools, abi: abis.pools, eventName: "ChallengeUpheld", fromBlock: 0n });
    assert.equal(upheld.length, 1);
  });
});
