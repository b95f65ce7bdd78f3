/**
 * The chain layer against a real `hardhat node`: the follower's confirmations, backfill after a restart, reorgs
 * (evm_snapshot / evm_revert) with idempotent re-delivery, surviving the chain process going away, and the
 * transaction sender's decoded reverts and fee bumps.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWalletClient, encodeFunctionData, http, parseGwei, type Hex } from "viem";
import { resolveProtocolAddresses } from "../../../nodes/src/chain/contracts.ts";
import { ContractRevertError } from "../../../nodes/src/chain/errors.ts";
import { EventFollower, type EventSubscription, type FollowerLogger } from "../../../nodes/src/chain/follower.ts";
import type { ChainEvent } from "../../../nodes/src/chain/events.ts";
import { TxSender } from "../../../nodes/src/chain/tx-sender.ts";
import { openState, type NodeState } from "../../../nodes/src/state/index.ts";
import { MIN_STAKE, account, localAccount, startTestChain, waitUntil, type TestChain } from "./helpers/local-chain.ts";

const quiet: FollowerLogger = { info() {}, warn() {}, debug() {} };

/** A subscription to the token's Transfer events that records them idempotently (keyed by event id). */
function recorder() {
  const byId = new Map<string, ChainEvent<"token">>();
  const calls: string[] = [];
  const rewinds: Array<bigint | undefined> = [];
  const subscription: EventSubscription<"token"> = {
    contract: "token",
    events: ["Transfer"],
    handle: (event) => {
      calls.push(event.id);
      byId.set(event.id, event);
    },
    rewind: (fork) => {
      rewinds.push(fork);
    },
  };
  return { byId, calls, rewinds, subscription };
}

describe("chain layer against a hardhat node", { timeout: 240_000 }, () => {
  let t: TestChain;
  let state: NodeState;
  const followers: EventFollower[] = [];
  const governance = account(0);

  function follower(sub: EventSubscription<"token">, options: { confirmations: number; maxBlockRange?: number; logger?: FollowerLogger }): EventFollower {
    const f = new EventFollower({
      client: t.client, abis: t.abis, addresses: t.addresses, store: state.chain, confirmations: options.confirmations,
      pollIntervalMs: 50, maxBlockRange: options.maxBlockRange ?? 1_000, startBlock: 0n, logger: options.logger ?? quiet,
      backoff: { initialMs: 100, maxMs: 400 },
    });
    f.subscribe(sub);
    followers.push(f);
    return f;
  }
  const transfer = (amount: bigint) => t.send(governance, "token", "transfer", [account(5).address, amount]);
  const mine = (blocks = 1) => t.rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
  const caughtUp = (f: EventFollower, confirmations: number) =>
    waitUntil("the follower to catch up", async () => f.followed === (await t.client.getBlockNumber()) - BigInt(confirmations));

  before(async () => {
    t = await startTestChain();
    state = openState(":memory:");
  });
  after(async () => {
    for (const f of followers) await f.stop();
    state?.close();
    await t?.close();
  });

  it("delivers an event only once it has the configured confirmations", async () => {
    const rec = recorder();
    const f = follower(rec.subscription, { confirmations: 2 });
    f.start();
    const hash = await transfer(1n);
    await caughtUp(f, 2);
    assert.equal([...rec.byId.values()].filter((e) => e.transactionHash === hash).length, 0, "not delivered with 0 confirmations");
    await mine(2);
    const event = await waitUntil("the transfer to be delivered", () => [...rec.byId.values()].find((e) => e.transactionHash === hash));
    const args = event.args as { to: string; value: bigint };
    assert.equal(args.value, 1n);
    assert.equal(args.to, account(5).address);
    await f.stop();
  });

  it("backfills after a restart in bounded ranges, delivering each event once and in order", async () => {
    const before = state.chain.cursor()!.number;
    const hashes: Hex[] = [];
    for (let i = 0; i < 5; i++) hashes.push(await transfer(BigInt(100 + i)));
    await mine(2);
    const rec = recorder();
    const f = follower(rec.subscription, { confirmations: 2, maxBlockRange: 2 });
    let steps = 0;
    f.on("progress", () => steps++);
    f.start();
    await caughtUp(f, 2);
    await f.stop();
    assert.deepEqual([...rec.byId.values()].map((e) => e.transactionHash), hashes, "the five new transfers, in chain order, nothing older");
    assert.equal(rec.calls.length, 5, "each delivered once");
    assert.ok(steps >= 4, `read in ranges of at most 2 blocks (${steps} steps over ${(state.chain.cursor()!.number - before)} blocks)`);
  });

  it("detects a reorg, rewinds to the fork point and re-delivers idempotently", async () => {
    const rec = recorder();
    const f = follower(rec.subscription, { confirmations: 1 });
    const reorgs: Array<{ from: bigint; to: bigint | undefined }> = [];
    f.on("reorg", (r) => reorgs.push(r));
    f.start();
    await caughtUp(f, 1);

    // One signed transaction, included on both sides of the fork at different heights.
    const snapshot = await t.rpc("evm_snapshot");
    const wallet = createWalletClient({ account: governance, chain: t.client.chain, transport: http(t.chain.rpcUrl) });
    const nonce = await t.client.getTransactionCount({ address: governance.address });
    const raw = await wallet.signTransaction({
      to: t.addresses.token, nonce, gas: 100_000n, maxFeePerGas: parseGwei("100"), maxPriorityFeePerGas: parseGwei("2"),
      data: encodeFunctionData({ abi: t.abis.token, functionName: "transfer", args: [account(6).address, 7n] }),
    } as never);
    const hash = await t.client.sendRawTransaction({ serializedTransaction: raw });
    await mine(1);
    const first = await waitUntil("the transfer on the first branch", () => [...rec.byId.values()].find((e) => e.transactionHash === hash));

    await t.rpc("evm_revert", [snapshot]);
    await mine(1); // the second branch puts it one block later
    await t.client.sendRawTransaction({ serializedTransaction: raw });
    await mine(3); // and grows longer than the first
    const second = await waitUntil("re-delivery on the second branch", () => {
      const e = [...rec.byId.values()].find((x) => x.transactionHash === hash);
      return e && e.blockHash !== first.blockHash ? e : undefined;
    });
    await f.stop();

    assert.ok(reorgs.length >= 1, "a reorg was reported");
    assert.ok(rec.rewinds.length >= 1, "handlers were told to rewind");
    assert.ok(reorgs[0].to !== undefined && reorgs[0].to < first.blockNumber, "rewound to a block below the reorganised one");
    assert.equal(second.blockNumber, first.blockNumber + 1n);
    assert.equal(rec.calls.filter((id) => id === first.id || id === second.id).length, 2, "the handler ran once per branch");
    assert.equal([...rec.byId.values()].filter((e) => e.transactionHash === hash).length, 1, "and its effect exists once");
  });

  it("reads the ContributorPools address from the Settlement when the config leaves it out, and keeps a configured one", async () => {
    const { contributorPools, ...configured } = t.addresses;
    assert.match(contributorPools, /^0x[0-9a-fA-F]{40}$/);
    const resolved = await resolveProtocolAddresses(t.client, t.abis, configured);
    assert.equal(resolved.contributorPools.toLowerCase(), contributorPools.toLowerCase());
    assert.equal(resolved.settlement, t.addresses.settlement);
    const given = await resolveProtocolAddresses(t.client, t.abis, { ...configured, contributorPools: t.addresses.token });
    assert.equal(given.contributorPools, t.addresses.token, "a configured address is not overridden");
    await assert.rejects(
      resolveProtocolAddresses(t.client, t.abis, { ...configured, settlement: t.addresses.token }, { attempts: 1 }),
      /cannot read Settlement\.contributorPools\(\) at 0x[0-9a-fA-F]{40} for the ContributorPools address .*set contracts\.contributorPools \(--contributor-pools-address\)$/,
    );
  });

  it("refuses a transaction that would revert, saying why in words (custom errors from any protocol ABI)", async () => {
    const sender = new TxSender({ client: t.client, account: localAccount(7), chainId: t.chain.chainId, abis: t.abis, addresses: t.addresses, logger: quiet });
    await assert.rejects(sender.write({ contract: "models", functionName: "claimJob", args: [999n] }), (error: unknown) => {
      assert.ok(error instanceof ContractRevertError);
      assert.equal(error.message, "ModelRegistry reverted: JobNotFound(jobId=999)");
      assert.deepEqual(error.args, { jobId: 999n });
      return true;
    });
    // Raised inside the token during a NodeRegistry call: decoded with the token's ABI.
    await t.send(governance, "token", "transfer", [account(7).address, MIN_STAKE]);
    await assert.rejects(sender.write({ contract: "nodes", functionName: "register", args: ["peer", "http://x", 1n, MIN_STAKE] }),
      new RegExp(`NodeRegistry reverted: ERC20InsufficientAllowance\\(spender=${t.addresses.nodes}, allowance=0, needed=${MIN_STAKE}\\)$`));
  });

  it("decodes a revert found in a mined transaction's receipt", async () => {
    const sender = new TxSender({ client: t.client, account: localAccount(7), chainId: t.chain.chainId, abis: t.abis, addresses: t.addresses, logger: quiet });
    await assert.rejects(sender.write({ contract: "models", functionName: "claimJob", args: [42n] }, { gas: 200_000n }), (error: unknown) => {
      assert.ok(error instanceof ContractRevertError);
      assert.equal(error.message, "ModelRegistry reverted: JobNotFound(jobId=42)");
      assert.match(String(error.txHash), /^0x[0-9a-f]{64}$/);
      return true;
    });
  });

  it("replaces a stuck transaction with higher fees, keeping its nonce", async () => {
    const signed: Hex[] = [];
    let sent = 0;
    const operator = localAccount(8);
    const sender = new TxSender({
      client: t.client, account: operator, chainId: t.chain.chainId, abis: t.abis, addresses: t.addresses, logger: quiet,
      stuckAfterMs: 300, receiptPollMs: 50, metrics: { sent: () => sent++, failed: () => undefined },
    });
    await t.send(governance, "token", "transfer", [operator.address, 10n]);
    const nonceBefore = await t.client.getTransactionCount({ address: operator.address });
    await t.rpc("evm_setAutomine", [false]);
    try {
      const result = sender.write({ contract: "token", functionName: "transfer", args: [account(9).address, 3n] }, { onSigned: (h) => { signed.push(h); } });
      await waitUntil("a fee bump", () => sent >= 2);
      await t.rpc("evm_setAutomine", [true]);
      await mine(1);
      const { hash, receipt } = await result;
      assert.ok(signed.length >= 2, "the transaction was re-signed");
      assert.equal(hash, receipt.transactionHash);
      const mined = await t.client.getTransaction({ hash });
      const firstSigned = await t.client.getTransaction({ hash: signed[0] }).catch(() => undefined);
      assert.equal(mined.nonce, nonceBefore);
      assert.ok(firstSigned === undefined || firstSigned.maxFeePerGas! < mined.maxFeePerGas!, "the mined one pays more");
      assert.equal(await t.client.getTransactionCount({ address: operator.address }), nonceBefore + 1, "one nonce used");
    } finally {
      await t.rpc("evm_setAutomine", [true]).catch(() => undefined);
    }
  });

  it("survives the chain process stopping and starting again, with a warning and no crash", async () => {
    const warnings: string[] = [];
    const logger = { ...quiet, warn: (_: object, message: string) => { warnings.push(message); } };
    const rec = recorder();
    const f = follower(rec.subscription, { confirmations: 0, logger });
    let failures = 0;
    f.on("rpc-error", () => failures++);
    f.start();
    await caughtUp(f, 0);

    await t.stopChain();
    await waitUntil("failed polls while the chain is down", () => failures >= 3);
    assert.ok(f.running, "the follower keeps running");
    assert.ok(warnings.some((w) => /retrying/.test(w)), "a warning was logged");
    assert.ok(f.lastError !== undefined);

    await t.restartChain();
    const hash = await transfer(12345n);
    await waitUntil("delivery from the restarted chain", () => [...rec.byId.values()].find((e) => e.transactionHash === hash), 60_000);
    assert.equal(f.lastError, undefined);
    await f.stop();
  });
});
