/**
 * The watcher against a node that forges a batch, all on a real `hardhat node` with an embedded Helia store:
 * a Datanet version with three contributors whose manifest is on IPFS, a model whose span index is on IPFS,
 * records made by the attribution module from outputs that copy a contribution, vouchers signed by a real
 * session key. The node's honest batch recomputes; then it rewrites a record's weights to credit an account
 * that no evidence supports, settles that root, the watcher recomputes it from chain + IPFS, challenges it with
 * the bond, the arbiter upholds, and the node is slashed.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createWalletClient, defineChain, http, keccak256, parseEther, toHex, zeroHash, type Abi, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { attribute } from "../../../nodes/src/attribution/attribute.ts";
import { serializeRecord } from "../../../nodes/src/attribution/attribution-record.ts";
import { manifestRoot, type DatanetManifest } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex, encodeSpanIndex, type SpanIndex } from "../../../nodes/src/attribution/index.ts";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
import { VoucherStore, publishAttributionIndex, signVoucher } from "../../../nodes/src/serve/index.ts";
import { BatchWatcher } from "../../../nodes/src/settle/batch-watcher.ts";
import { SettlementScheduler, loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { openContentStore } from "../../../nodes/src/storage/index.ts";
import type { ContentStore } from "../../../nodes/src/storage/content-store.ts";
import { MIN_STAKE, account, localAccount, prepareJobMarket, startTestChain, type TestChain } from "../node/helpers/local-chain.ts";

const PRICE = 1_000_000n;
const CONTRIBUTORS = [account(5).address, account(6).address, account(7).address];
/** Token ids of each contribution's text (the span index works on token ids; no tokenizer needed). */
const DOCS = [
  [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22],
  [31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42],
  [51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62],
];
const MANIFEST: DatanetManifest = {
  contributions: CONTRIBUTORS.map((contributor, i) => ({ contributionId: BigInt(i + 1), contributor, digest: keccak256(toHex(`doc ${i + 1}`)) })),
};
const DATANET_ROOT = manifestRoot(MANIFEST);
const MODEL_ID = 1n;
const DATANET_ID = 2n;

let t: TestChain;
let dir: string;
let store: ContentStore;
let nodeDb: NodeDatabase;
let watchDb: NodeDatabase;
let vouchers: VoucherStore;
let abis: SettlementAbis;
let operator: PrivateKeyAccount;
let payer: Address;
let sessionKey: PrivateKeyAccount;
let index: SpanIndex;
let scheduler: SettlementScheduler;
let watcher: BatchWatcher;
let cumulative = 0n;

const viemChain = () => defineChain({ id: t.chain.chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [t.chain.rpcUrl] } } });

/** A paid request as the serving path stores it: the voucher, and the record of an output that copies `doc`. */
async function served(requestId: string, doc: number): Promise<void> {
  cumulative += 100_000n;
  const { voucher } = await signVoucher(sessionKey, { chainId: t.chain.chainId, settlement: t.addresses.settlement }, operator.address, {
    payer, modelId: MODEL_ID, termsVersion: 2n, cumulativeAmount: cumulative,
  });
  vouchers.accept({ ...voucher, signer: sessionKey.address, requestId }, 0n, 1n, () => new Error("refused"));
  const record = attribute({
    requestId, model: { id: MODEL_ID, cid: "bafy-adapter" }, datanet: { id: DATANET_ID, version: 1 }, outputTokens: [7, ...DOCS[doc].slice(0, 10), 8], index,
  });
  nodeDb.db.prepare("INSERT INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)")
    .run(requestId, MODEL_ID.toString(), payer, cumulative.toString(), zeroHash, serializeRecord(record), new Date().toISOString());
}

before(async () => {
  t = await startTestChain();
  dir = await mkdtemp(join(tmpdir(), "tributary-watch-"));
  ({ store } = await openContentStore("helia:", { dataDir: join(dir, "ipfs"), fetchTimeoutMs: 10_000 }));
  nodeDb = NodeDatabase.open(join(dir, "node.sqlite"));
  watchDb = NodeDatabase.open(join(dir, "watcher.sqlite"));
  vouchers = new VoucherStore(nodeDb);
  new AttributionService({ database: nodeDb });
  abis = await loadSettlementAbis();

  // Public data on IPFS: the span index and the manifest.
  index = buildSpanIndex(DATANET_ROOT, DOCS.map((tokens, i) => ({ contributionId: BigInt(i + 1), tokens })));
  const indexCid = await publishAttributionIndex(store, encodeSpanIndex(index));
  const manifestCid = await store.addJson({ contributions: MANIFEST.contributions.map((c) => ({ contributionId: c.contributionId.toString(), contributor: c.contributor, digest: c.digest })) });

  // On-chain: Datanet 2 with the manifest's root, a job on it, the model (id 1) with the span index's CID.
  const { requester } = await prepareJobMarket(t);
  const governance = account(0);
  await t.send(governance, "datanets", "createDatanet", ["bafy-datanet-2", "CC-BY-4.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
  const digest = keccak256(toHex("contribution-2"));
  await t.send(governance, "datanets", "contribute", [DATANET_ID, digest, 10n, "bafy-contribution-2", 0n, false]);
  const id = (await t.client.readContract({ address: t.addresses.datanets, abi: t.abis.datanets, functionName: "contributionIdOf", args: [DATANET_ID, digest, governance.address] })) as bigint;
  await t.send(governance, "datanets", "acceptContributions", [DATANET_ID, [id]]);
  await t.send(governance, "datanets", "publishVersion", [DATANET_ID, DATANET_ROOT, manifestCid.toString(), 1, 1]);
  const op = account(2);
  operator = localAccount(2);
  await t.send(governance, "token", "transfer", [op.address, MIN_STAKE * 2n]);
  await t.send(op, "token", "approve", [t.addresses.nodes, MIN_STAKE]);
  await t.send(op, "nodes", "register", ["peer-forger", "http://127.0.0.1", 3n, MIN_STAKE]);
  const now = (await t.client.getBlock()).timestamp;
  await t.send(requester, "models", "createJob", [{ datanetId: DATANET_ID, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: parseEther("1"), deadline: now + 7_200n }]);
  await t.send(op, "models", "claimJob", [1n]);
  await t.send(op, "models", "submitResult", [1n, { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: indexCid.toString() }]);
  await t.send(requester, "models", "setModelPrice", [MODEL_ID, PRICE]);

  const rich = account(3);
  payer = rich.address;
  sessionKey = privateKeyToAccount(generatePrivateKey());
  await t.send(governance, "token", "transfer", [payer, parseEther("100")]);
  await t.send(rich, "token", "approve", [t.addresses.settlement, parseEther("100")]);
  await t.send(rich, "settlement", "deposit", [parseEther("10")]);
  await t.send(rich, "settlement", "authorizeSessionKey", [sessionKey.address, parseEther("1"), now + 86_400n * 30n]);

  scheduler = new SettlementScheduler({
    database: nodeDb, store, client: t.client, account: operator, chainId: t.chain.chainId, settlement: t.addresses.settlement, abis,
    manifests: async () => MANIFEST,
  });
  // The watcher: its own database and wallet (account 8, funded for the bond).
  const watcherAccount = account(8);
  await t.send(governance, "token", "transfer", [watcherAccount.address, parseEther("100")]);
  watcher = new BatchWatcher({
    database: watchDb, client: t.client, store,
    settlement: { address: t.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
    token: { address: t.addresses.token, abi: t.abis.token as Abi },
    data: { models: { address: t.addresses.models, abi: t.abis.models }, datanets: t.addresses.datanets },
    wallet: createWalletClient({ account: localAccount(8), chain: viemChain(), transport: http(t.chain.rpcUrl) }),
  });
}, { timeout: 180_000 });

after(async () => {
  nodeDb?.close();
  watchDb?.close();
  await store?.close();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("batch watcher", () => {
  it("recomputes an honest batch from chain and IPFS and leaves it alone", async () => {
    await served("req-1", 0);
    await served("req-2", 1);
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
    await t.rpc("evm_increaseTime", [86_400 * 2]);
    await t.rpc("evm_mine");
    await served("req-3", 0);
    // The node rewrites the record: all of it to contribution 3, whose contributor did not write this output.
    const row = nodeDb.db.prepare("SELECT record FROM serve_records WHERE record_id = 'req-3'").get() as { record: string };
    const forged = JSON.parse(row.record) as { weights: { contributionId: string; ppm: number }[] };
    assert.deepEqual(forged.weights.map((w) => w.contributionId), ["1"]);
    forged.weights = [{ contributionId: "3", ppm: 1_000_000 }];
    nodeDb.db.prepare("UPDATE serve_records SET record = ? WHERE record_id = 'req-3'").run(JSON.stringify(forged));
    const round = await scheduler.runOnce();
    assert.ok(round.credited);

    const stakeBefore = (await t.client.readContract({ address: t.addresses.nodes, abi: t.abis.nodes, functionName: "stakeOf", args: [operator.address] })) as bigint;
    const [verdict] = await watcher.scan();
    assert.equal(verdict.ok, false);
    assert.equal(verdict.batchId, round.credited.batchId);
    assert.ok(verdict.discrepancies.some((d) => d.code === "credit-account" && d.account === CONTRIBUTORS[2].toLowerCase()), JSON.stringify(verdict.discrepancies));
    assert.equal(verdict.challenged, true);
    const pools = await scheduler.pools();
    assert.equal((await scheduler.credits()).pendingChallenged, true);

    // The arbiter (account 0 in the local deployment) upholds: the root is discarded and the node slashed.
    const arbiter = createWalletClient({ account: account(0), chain: viemChain(), transport: http(t.chain.rpcUrl) });
    const hash = await arbiter.writeContract({ address: pools, abi: abis.pools, functionName: "resolveChallenge", args: [operator.address, round.credited.batchId, account(8).address, true] });
    assert.equal((await t.client.waitForTransactionReceipt({ hash })).status, "success");
    const stakeAfter = (await t.client.readContract({ address: t.addresses.nodes, abi: t.abis.nodes, functionName: "stakeOf", args: [operator.address] })) as bigint;
    assert.ok(stakeAfter < stakeBefore, `stake ${stakeBefore} -> ${stakeAfter}`);
    const credits = await scheduler.credits();
    assert.equal(credits.pendingRoot, zeroHash, "the forged root is gone");
    const upheld = await t.client.getContractEvents({ address: pools, abi: abis.pools, eventName: "ChallengeUpheld", fromBlock: 0n });
    assert.equal(upheld.length, 1);
  });
});
