/**
 * The settlement scheduler on a real `hardhat node` with the protocol deployed and an embedded Helia store:
 * vouchers signed (EIP-712) by real session keys and stored by the serving module's VoucherStore, attribution
 * records in the serving module's table (built here: the scheduler reads only requestId, weights and the
 * Datanet root, the rest is carried to IPFS), a node killed after journaling and after broadcasting (the batch
 * settles once), a voucher over its session key's cap (skipped, recorded with its reason, its record never
 * credited), the credit root, the dispute window, and a contributor's claim growing its balance by its credit. A
 * record serving marked gradient_pending (its model has a gradient sketch, its gradient part failed) is never settled.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createWalletClient, defineChain, http, keccak256, parseEther, toHex, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { manifestRoot, type DatanetManifest } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
import { VoucherStore, signVoucher } from "../../../nodes/src/serve/index.ts";
import { claimCredit, creditOf } from "../../../nodes/src/settle/credits.ts";
import { SettlementScheduler, loadSettlementAbis, type SettlementAbis, type SettlementDocument } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { openContentStore, parseCid } from "../../../nodes/src/storage/index.ts";
import type { ContentStore } from "../../../nodes/src/storage/content-store.ts";
import { TxSender } from "../../../nodes/src/chain/tx-sender.ts";
import { txSender } from "./settle-fixture.ts";
import { MIN_STAKE, account, createJob, localAccount, prepareJobMarket, startTestChain, type TestChain } from "../node/helpers/local-chain.ts";

const PRICE = 1_000_000n;
const CONTRIBUTORS = [account(5).address, account(6).address, account(7).address];
const MANIFEST: DatanetManifest = {
  contributions: CONTRIBUTORS.map((contributor, i) => ({ contributionId: BigInt(i + 1), contributor, digest: keccak256(toHex(`doc ${i + 1}`)) })),
};
const DATANET_ROOT = manifestRoot(MANIFEST);

let t: TestChain;
let dir: string;
let store: ContentStore;
let database: NodeDatabase;
let vouchers: VoucherStore;
let abis: SettlementAbis;
let operator: PrivateKeyAccount;
let payer: Address;
let sessionKey: PrivateKeyAccount;
let poorKey: PrivateKeyAccount;
let poorPayer: Address;

function record(requestId: string, weights: [number, number][]): Record<string, unknown> {
  return {
    schema: "tributary.attribution/2", requestId, model: { id: "1", cid: "bafy-adapter" },
    datanet: { id: "1", version: 1, root: DATANET_ROOT, spanIndex: zeroHash },
    output: { hash: zeroHash, tokenCount: 4 },
    parameters: { minSpanLength: 4, maxOccurrences: 64, indexTokens: 100, mixPpm: 0, effectiveMixPpm: 0, gradientDims: 0, gradientAggregation: "mean" },
    weights: weights.map(([id, ppm]) => ({ contributionId: String(id), ppm })),
    evidence: { spans: [], windows: [], gradient: null },
  };
}

/** What the serving path writes for a paid request: the voucher (VoucherStore) and the record. */
async function served(signer: PrivateKeyAccount, from: Address, cumulativeAmount: bigint, requestId: string, weights: [number, number][]): Promise<void> {
  await accepted(signer, from, cumulativeAmount, requestId);
  attributed(from, cumulativeAmount, requestId, weights);
}

/** The voucher of a paid request, accepted before its answer is generated. */
async function accepted(signer: PrivateKeyAccount, from: Address, cumulativeAmount: bigint, requestId: string): Promise<void> {
  const { voucher } = await signVoucher(signer, { chainId: t.chain.chainId, settlement: t.addresses.settlement }, operator.address, {
    payer: from, modelId: 1n, termsVersion: 2n, cumulativeAmount,
  });
  vouchers.accept({ ...voucher, signer: signer.address, requestId }, 0n, 1n, () => new Error("refused"));
}

/** The request's attribution record, stored once its answer is generated and attributed. */
function attributed(from: Address, cumulativeAmount: bigint, requestId: string, weights: [number, number][]): void {
  database.db.prepare("INSERT INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at) VALUES (?, '1', ?, ?, ?, ?, NULL, ?)")
    .run(requestId, from, cumulativeAmount.toString(), zeroHash, JSON.stringify(record(requestId, weights)), new Date().toISOString());
}

/** The payer's next cumulative amount on model 1: 100,000 above the latest voucher the node holds. */
const nextAmount = (): bigint => (vouchers.latest(payer, 1n)?.cumulativeAmount ?? 0n) + 100_000n;

/** What the schedulers logged as warnings. */
const warnings: { details: object; message: string }[] = [];

function scheduler(onStep?: ConstructorParameters<typeof SettlementScheduler>[0]["onStep"], sender?: TxSender): SettlementScheduler {
  return new SettlementScheduler({
    database, store, client: t.client, sender: sender ?? txSender(t.client, operator, t.chain.chainId, t.abis, t.addresses), chainId: t.chain.chainId, settlement: t.addresses.settlement, abis,
    manifests: async (datanet) => {
      assert.equal(datanet.root, DATANET_ROOT);
      return MANIFEST;
    },
    onStep,
    logger: { warn: (details, message) => void warnings.push({ details, message }) },
  });
}

const balanceOf = async (who: Address): Promise<bigint> =>
  (await t.client.readContract({ address: t.addresses.token, abi: t.abis.token, functionName: "balanceOf", args: [who] })) as bigint;

async function batchSettledCount(): Promise<number> {
  const logs = await t.client.getContractEvents({ address: t.addresses.settlement, abi: abis.settlement, eventName: "BatchSettled", fromBlock: 0n });
  return logs.length;
}

before(async () => {
  t = await startTestChain();
  dir = await mkdtemp(join(tmpdir(), "tributary-settle-"));
  ({ store } = await openContentStore("helia:", { dataDir: join(dir, "ipfs"), fetchTimeoutMs: 10_000 }));
  database = NodeDatabase.open(join(dir, "node.sqlite"));
  vouchers = new VoucherStore(database);
  new AttributionService({ database });
  abis = await loadSettlementAbis();

  const { requester } = await prepareJobMarket(t);
  const governance = account(0);
  const op = account(2);
  operator = localAccount(2);
  await t.send(governance, "token", "transfer", [op.address, MIN_STAKE * 2n]);
  await t.send(op, "token", "approve", [t.addresses.nodes, MIN_STAKE]);
  await t.send(op, "nodes", "register", ["peer-settle", "http://127.0.0.1", 3n, MIN_STAKE]);
  await createJob(t, requester, parseEther("1"));
  await t.send(op, "models", "claimJob", [1n]);
  await t.send(op, "models", "submitResult", [1n, { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: "bafy-index" }]);
  await t.send(requester, "models", "setModelPrice", [1n, PRICE]);

  const now = (await t.client.getBlock()).timestamp;
  const rich = account(3);
  payer = rich.address;
  sessionKey = privateKeyToAccount(generatePrivateKey());
  await t.send(governance, "token", "transfer", [payer, parseEther("100")]);
  await t.send(rich, "token", "approve", [t.addresses.settlement, parseEther("100")]);
  await t.send(rich, "settlement", "deposit", [parseEther("10")]);
  await t.send(rich, "settlement", "authorizeSessionKey", [sessionKey.address, parseEther("1"), now + 86_400n * 30n]);
  // A payer whose session key may spend only 100 units in all.
  const poor = account(4);
  poorPayer = poor.address;
  poorKey = privateKeyToAccount(generatePrivateKey());
  await t.send(governance, "token", "transfer", [poorPayer, parseEther("1")]);
  await t.send(poor, "token", "approve", [t.addresses.settlement, parseEther("1")]);
  await t.send(poor, "settlement", "deposit", [parseEther("1")]);
  await t.send(poor, "settlement", "authorizeSessionKey", [poorKey.address, 100n, now + 86_400n * 30n]);
}, { timeout: 180_000 });

after(async () => {
  database?.close();
  await store?.close();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("settlement scheduler", () => {
  it("settles a redeem batch once after a kill between journaling and broadcast, skips an over-cap voucher with its reason, and proposes a credit root", async () => {
    await served(sessionKey, payer, 100_000n, "req-1", [[1, 500_000], [2, 500_000]]);
    await served(sessionKey, payer, 250_000n, "req-2", [[2, 1_000_000]]);
    await served(sessionKey, payer, 400_000n, "req-3", [[1, 250_000], [3, 750_000]]);
    await served(poorKey, poorPayer, 50_000n, "req-4", [[3, 1_000_000]]);

    // The node dies right after writing the signed batch, before it reaches the chain.
    const dying = scheduler((step) => {
      if (step === "signed") throw new Error("killed");
    });
    await assert.rejects(dying.runOnce(), /killed/);
    assert.equal(await batchSettledCount(), 0);
    assert.equal(dying.journal.unfinished().length, 1);

    // A new process on the same database: the same signed transaction goes out, then the credit batch.
    const s = scheduler();
    const round = await s.runOnce();
    assert.equal(round.resumed, 1);
    assert.equal(round.credited?.records, 3);
    assert.equal(await batchSettledCount(), 2, "one redeem batch and one credit batch");
    const redeemed = await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "redeemedOf", args: [payer, operator.address, 1n] });
    assert.equal(redeemed, 400_000n);
    const skipped = s.journal.skipped();
    assert.deepEqual(skipped.map((k) => [k.payer, k.reasonName]), [[poorPayer, "session-key-cap"]]);

    // The root on-chain is the document's; the document on IPFS credits only what the chain paid.
    const credits = await s.credits();
    assert.equal(credits.pendingRoot, round.credited!.root);
    const document = await store.getJson<SettlementDocument>(parseCid(round.credited!.cid));
    assert.deepEqual(document.records.map((r) => r.requestId), ["req-1", "req-2", "req-3"]);
    assert.ok(BigInt(document.batch.total) <= credits.pool && BigInt(document.batch.total) > 0n);
    assert.equal(document.batch.root, credits.pendingRoot);

    // Nothing left: another round sends nothing.
    const idle = await s.runOnce();
    assert.equal(idle.redeemed, undefined);
    assert.equal(idle.credited, undefined);
    assert.equal(await batchSettledCount(), 2);
  });

  it("finishes a batch whose broadcast happened before the kill without sending it again; credits wait for the pending root", async () => {
    await served(sessionKey, payer, 550_000n, "req-5", [[2, 1_000_000]]);
    const dying = scheduler((step) => {
      if (step === "broadcast") throw new Error("killed");
    });
    await assert.rejects(dying.runOnce(), /killed/);
    const before = await batchSettledCount();
    const s = scheduler();
    const round = await s.runOnce();
    assert.equal(round.resumed, 1);
    assert.equal(round.credited, undefined, "a root is pending: the next credit batch waits");
    assert.equal(await batchSettledCount(), before, "the broadcast transaction was mined once and not sent again");
    assert.deepEqual([...s.journal.uncreditedPools().keys()], ["req-5"]);
  });

  it("after the dispute window a contributor claims its credit from the node's final root, and the next root builds on it", async () => {
    const s = scheduler();
    const none = await creditOf(s, CONTRIBUTORS[0]);
    assert.equal(none, undefined, "the root is still pending");
    await t.rpc("evm_increaseTime", [86_400 * 2]);
    await t.rpc("evm_mine");

    const entry = await creditOf(s, CONTRIBUTORS[0]);
    assert.ok(entry);
    assert.ok(BigInt(entry.cumulative) > 0n);
    const pools = await s.pools();
    const contributor = localAccount(5);
    const viemChain = defineChain({ id: t.chain.chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [t.chain.rpcUrl] } } });
    const wallet = createWalletClient({ account: contributor, chain: viemChain, transport: http(t.chain.rpcUrl) });
    const balance = await balanceOf(contributor.address);
    const { paid } = await claimCredit(wallet, t.client, pools, abis.pools, entry);
    assert.equal(paid, BigInt(entry.cumulative));
    assert.equal(await balanceOf(contributor.address), balance + BigInt(entry.cumulative));
    assert.equal((await claimCredit(wallet, t.client, pools, abis.pools, entry)).paid, 0n, "a second claim pays nothing");

    // The next credit batch starts from the final root's cumulative credits.
    const round = await s.runOnce();
    assert.equal(round.credited?.records, 1);
    const document = await store.getJson<SettlementDocument>(parseCid(round.credited!.cid));
    const first = document.batch.previousCredits.find((c) => c.account === CONTRIBUTORS[0]);
    assert.equal(first?.amount, entry.cumulative);
    const second = document.batch.credits.find((c) => c.account === CONTRIBUTORS[1])!;
    assert.ok(BigInt(second.added) > 0n);
  });

  it("a settlement round and other writes through the same sender at once: every transaction mined, each its own nonce, none retried", async () => {
    const warnings: string[] = [];
    const sender = new TxSender({
      client: t.client, account: operator, chainId: t.chain.chainId, abis: t.abis, addresses: t.addresses, receiptPollMs: 50,
      logger: { info() {}, warn: (_o, message) => { warnings.push(message); } },
    });
    await served(sessionKey, payer, nextAmount(), "req-c1", [[1, 1_000_000]]);
    const s = scheduler(undefined, sender);
    const writes = [1n, 2n, 3n].map((amount) => sender.write({ contract: "token", functionName: "approve", args: [t.addresses.settlement, amount] }));
    const [round, ...written] = await Promise.all([s.runOnce(), ...writes]);
    assert.ok(round.redeemed, "the voucher was redeemed");
    const redeem = s.journal.batches("redeem").at(-1)!;
    const nonces = [redeem.nonce, ...(await Promise.all(written.map(async (w) => (await t.client.getTransaction({ hash: w.hash })).nonce)))];
    assert.equal(new Set(nonces).size, nonces.length, `distinct nonces ${nonces.join(", ")}`);
    assert.deepEqual(warnings, [], "no nonce collision, no retry");
  });

  it("a credit batch whose nonce another transaction took is dropped, and its records are credited by a later batch exactly once", async () => {
    await t.rpc("evm_increaseTime", [86_400 * 2]); // the pending root becomes final
    await t.rpc("evm_mine");
    await served(sessionKey, payer, nextAmount(), "req-d1", [[3, 1_000_000]]);
    const dying = scheduler((step, batch) => {
      if (step === "signed" && batch.kind === "credit") throw new Error("killed after journaling the credit batch");
    });
    await assert.rejects(dying.runOnce(), /killed after journaling/);
    const journaled = dying.journal.unfinished()[0];
    assert.equal(journaled.kind, "credit");
    // The operator's account sends something else with that nonce (another program, a restarted node's job).
    await t.send(account(2), "token", "approve", [t.addresses.models, 1n]);

    const s = scheduler();
    const round = await s.runOnce();
    assert.equal(round.resumed, 1);
    assert.equal(s.journal.batch(journaled.id)!.status, "dropped");
    assert.ok(round.credited, "rebuilt and settled");
    const document = await store.getJson<SettlementDocument>(parseCid(round.credited.cid));
    const ids = document.records.map((r) => r.requestId).sort();
    assert.deepEqual(ids, ["req-c1", "req-d1"]);
    assert.equal(s.journal.uncreditedPools().size, 0);
    const creditBatches = s.journal.batches("credit").filter((b) => b.status === "settled").map((b) => JSON.parse(b.payload).recordIds as string[]);
    assert.equal(creditBatches.flat().filter((id) => id === "req-d1").length, 1, "in one settled credit batch");
  });

  it("a credit root discarded by an upheld challenge gives its records back: the next root credits them once, on top of the final root", async () => {
    const s = scheduler();
    const discarded = s.journal.lastSettledCredit()!;
    const discardedDoc = await store.getJson<SettlementDocument>(parseCid(JSON.parse(discarded.payload).cid));
    const pools = await s.pools();
    const challenger = account(8);
    const bond = (await t.client.readContract({ address: pools, abi: abis.pools, functionName: "challengeBond" })) as bigint;
    await t.send(account(0), "token", "transfer", [challenger.address, bond + parseEther("1")]);
    await t.send(challenger, "token", "approve", [pools, bond]);
    const viemChain = defineChain({ id: t.chain.chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [t.chain.rpcUrl] } } });
    for (const [who, functionName, args] of [
      [challenger, "challenge", [operator.address, discarded.chainBatchId]],
      [account(0), "resolveChallenge", [operator.address, discarded.chainBatchId, challenger.address, true]],
    ] as const) {
      const wallet = createWalletClient({ account: who, chain: viemChain, transport: http(t.chain.rpcUrl) });
      const hash = await wallet.writeContract({ address: pools, abi: abis.pools, functionName, args: args as never });
      assert.equal((await t.client.waitForTransactionReceipt({ hash })).status, "success");
    }
    // Slashed below the minimum stake: the operator tops it up to keep settling.
    if (!(await t.client.readContract({ address: t.addresses.nodes, abi: t.abis.nodes, functionName: "isActive", args: [operator.address] }))) {
      await t.send(account(0), "token", "transfer", [operator.address, MIN_STAKE]);
      await t.send(account(2), "token", "approve", [t.addresses.nodes, MIN_STAKE]);
      await t.send(account(2), "nodes", "addStake", [MIN_STAKE]);
    }

    const round = await s.runOnce();
    assert.equal(s.journal.batch(discarded.id)!.status, "discarded");
    assert.ok(round.credited, "the records are credited again");
    const document = await store.getJson<SettlementDocument>(parseCid(round.credited.cid));
    assert.deepEqual(document.records.map((r) => r.requestId).sort(), discardedDoc.records.map((r) => r.requestId).sort());
    // Built on the final root (the discarded one never counted): each account gains exactly what the discarded root added.
    assert.deepEqual(document.batch.previousCredits, discardedDoc.batch.previousCredits);
    assert.deepEqual(document.batch.credits, discardedDoc.batch.credits);
    assert.equal(s.journal.uncreditedPools().size, 0);
  });

  it("never settles a record whose gradient part failed: it stays uncredited, logged, while the others are credited", async () => {
    await t.rpc("evm_increaseTime", [86_400 * 2]); // the pending root becomes final
    await t.rpc("evm_mine");
    await served(sessionKey, payer, nextAmount(), "req-g1", [[1, 1_000_000]]);
    await served(sessionKey, payer, nextAmount(), "req-g2", [[2, 1_000_000]]);
    // What serving writes when the model has a gradient sketch and the record's gradient could not be computed.
    database.db.prepare("UPDATE serve_records SET gradient_pending = 1 WHERE record_id = 'req-g1'").run();
    warnings.length = 0;
    const s = scheduler();
    const round = await s.runOnce();
    assert.ok(round.redeemed, "its payment is redeemed like any other");
    assert.ok(round.credited);
    const document = await store.getJson<SettlementDocument>(parseCid(round.credited.cid));
    assert.deepEqual(document.records.map((r) => r.requestId), ["req-g2"]);
    assert.deepEqual([...s.journal.uncreditedPools().keys()], ["req-g1"], "its pool waits, uncredited");
    assert.deepEqual(warnings.map((w) => w.details), [{ records: ["req-g1"] }]);
    assert.match(warnings[0].message, /held out of settlement/);
  });

  it("redeems no voucher past a paid request still in flight (no record yet): its payment and its record settle together in a later round", async () => {
    await t.rpc("evm_increaseTime", [86_400 * 2]); // the pending root becomes final
    await t.rpc("evm_mine");
    database.db.prepare("UPDATE serve_records SET gradient_pending = 0 WHERE record_id = 'req-g1'").run(); // credited with the others below
    const first = nextAmount();
    await served(sessionKey, payer, first, "req-f1", [[1, 1_000_000]]);
    const second = first + 100_000n;
    await accepted(sessionKey, payer, second, "req-f2"); // its answer is still being generated
    const s = scheduler();
    const round = await s.runOnce();
    assert.ok(round.redeemed && round.credited);
    assert.equal(s.journal.redeemed(payer, 1n), first, "redeemed up to the last finished request only");
    const document = await store.getJson<SettlementDocument>(parseCid(round.credited.cid));
    assert.deepEqual(document.records.map((r) => r.requestId).sort(), ["req-f1", "req-g1"]);

    attributed(payer, second, "req-f2", [[3, 1_000_000]]);
    await t.rpc("evm_increaseTime", [86_400 * 2]);
    await t.rpc("evm_mine");
    const later = await s.runOnce();
    assert.ok(later.redeemed && later.credited);
    assert.equal(s.journal.redeemed(payer, 1n), second);
    const laterDocument = await store.getJson<SettlementDocument>(parseCid(later.credited.cid));
    assert.deepEqual(laterDocument.records.map((r) => r.requestId), ["req-f2"], "its pool was booked when its voucher was redeemed, and credited");
    assert.equal(s.journal.uncreditedPools().size, 0);
  });
});

export type { Hex };
