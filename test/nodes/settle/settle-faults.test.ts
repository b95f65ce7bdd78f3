/**
 * Settlement faults on a real `hardhat node` (settle-fixture.ts): the RPC goes down between journaling a batch
 * and broadcasting it (a real outage: the scheduler talks to the chain through a proxy that stops accepting
 * connections), and a payer withdraws while its vouchers wait to be settled, within and after the withdrawal
 * delay.
 */
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPublicClient, defineChain, http, type PublicClient } from "viem";
import { SettlementScheduler, loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { account } from "../node/helpers/local-chain.ts";
import { MANIFEST, MODEL_ID, startSettleFixture, type SettleFixture } from "./settle-fixture.ts";

let f: SettleFixture;
let abis: SettlementAbis;
let database: NodeDatabase;
let proxy: Server | undefined;
let proxyPort = 0;

/** An RPC proxy to the chain that can be taken down and brought back on the same port. */
async function proxyUp(): Promise<void> {
  const target = new URL(f.t.chain.rpcUrl);
  proxy = createServer((req, res) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy!.listen(proxyPort, "127.0.0.1", () => resolve()));
  proxyPort = (proxy.address() as { port: number }).port;
}
async function proxyDown(): Promise<void> {
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => proxy!.close(() => resolve()));
}

before(async () => {
  f = await startSettleFixture();
  abis = await loadSettlementAbis();
  database = NodeDatabase.open(join(f.dir, "node.sqlite"));
  await proxyUp();
}, { timeout: 180_000 });
after(async () => {
  if (proxy?.listening) await proxyDown();
  database?.close();
  await f?.close();
});

const settledCount = async () => (await f.t.client.getContractEvents({ address: f.t.addresses.settlement, abi: abis.settlement, eventName: "BatchSettled", fromBlock: 0n })).length;

function scheduler(client: PublicClient, onStep?: ConstructorParameters<typeof SettlementScheduler>[0]["onStep"]): SettlementScheduler {
  return new SettlementScheduler({
    database, store: f.store, client, sender: f.sender(client), chainId: f.t.chain.chainId, settlement: f.t.addresses.settlement, abis, manifests: async () => MANIFEST, onStep,
  });
}

describe("settlement faults", () => {
  it("an RPC outage after journaling fails the round; once the RPC is back the same batch settles, once", async () => {
    const chain = defineChain({ id: f.t.chain.chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [`http://127.0.0.1:${proxyPort}`] } } });
    const client = createPublicClient({ chain, transport: http(`http://127.0.0.1:${proxyPort}`, { retryCount: 0, timeout: 3_000 }) }) as PublicClient;
    await f.served(database, "req-1", 0);
    const s = scheduler(client, async (step) => {
      if (step === "signed") await proxyDown();
    });
    await assert.rejects(s.runOnce());
    assert.equal(await settledCount(), 0);
    assert.equal(s.journal.unfinished().length, 1);
    // Still down: another round fails too and changes nothing.
    await assert.rejects(scheduler(client).runOnce());
    await proxyUp();
    const round = await scheduler(client).runOnce();
    assert.equal(round.resumed, 1);
    assert.ok(round.credited);
    assert.equal(await settledCount(), 2, "one redeem batch, one credit batch");
  });

  it("a payer's withdrawal request does not stop a pending voucher; a completed withdrawal skips it as insufficient funds", async () => {
    const { t } = f;
    const payer = account(3);
    // Within the delay: the escrow stays drawable by vouchers.
    await f.served(database, "req-2", 1);
    const escrow = (await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "escrowBalanceOf", args: [payer.address] })) as bigint;
    await t.send(payer, "settlement", "requestWithdrawal", [escrow]);
    const s = scheduler(t.client);
    const round = await s.runOnce();
    assert.ok(round.redeemed);
    assert.equal(round.redeemed.skipped, 0);
    assert.equal(await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "redeemedOf", args: [payer.address, f.operator.address, MODEL_ID] }), 200_000n);

    // After the delay the payer withdraws everything; a voucher accepted before it is then skipped, not lost silently.
    await f.served(database, "req-3", 2);
    await t.send(payer, "settlement", "cancelWithdrawal", []);
    const left = (await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "escrowBalanceOf", args: [payer.address] })) as bigint;
    await t.send(payer, "settlement", "requestWithdrawal", [left]);
    await t.rpc("evm_increaseTime", [86_400 + 1]);
    await t.rpc("evm_mine");
    await t.send(payer, "settlement", "withdraw", []);
    const next = await s.runOnce();
    assert.equal(next.redeemed?.skipped, 1);
    const skipped = s.journal.skipped().at(-1)!;
    assert.equal(skipped.reasonName, "insufficient-funds");
    assert.equal(skipped.payer, payer.address);
    assert.ok(!s.journal.uncreditedPools().has("req-3"), "an unpaid request is never credited");
    // Insufficient funds is retried: when the payer deposits again, the same voucher is redeemed.
    await t.send(payer, "settlement", "deposit", [10n ** 18n]);
    const retried = await s.runOnce();
    assert.equal(retried.redeemed?.skipped, 0);
    assert.equal(await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "redeemedOf", args: [payer.address, f.operator.address, MODEL_ID] }), 300_000n);
    assert.ok(s.journal.uncreditedPools().has("req-3") || retried.credited !== undefined);
  });
});
