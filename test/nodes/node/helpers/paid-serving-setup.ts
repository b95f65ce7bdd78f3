/**
 * The on-chain steps the paid-serving tests take before a request can be paid for, shared so the fixtures that
 * start a paid node (serve/serving-node.ts, settle/settle-fixture.ts, settle/paid-node-fixture.ts, the story) set
 * the chain up the same way. Governance is account 0 and holds the tokens, as in prepareJobMarket.
 */
import { keccak256, parseEther, toHex, type Address, type Hex } from "viem";
import type { HDAccount } from "viem/accounts";
import { MIN_STAKE, account, type TestChain } from "./local-chain.ts";

/** Datanet 2 (the one after prepareJobMarket's), with one accepted contribution and version 1 published as `root` / `manifestCid`. */
export async function publishSecondDatanet(t: TestChain, root: Hex, manifestCid: string): Promise<bigint> {
  const datanetId = 2n;
  const governance = account(0);
  await t.send(governance, "datanets", "createDatanet", ["bafy-datanet-2", "CC-BY-4.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
  const digest = keccak256(toHex("contribution-2"));
  await t.send(governance, "datanets", "contribute", [datanetId, digest, 10n, "bafy-contribution-2", 0n, false]);
  const contributionId = (await t.client.readContract({ address: t.addresses.datanets, abi: t.abis.datanets, functionName: "contributionIdOf", args: [datanetId, digest, governance.address] })) as bigint;
  await t.send(governance, "datanets", "acceptContributions", [datanetId, [contributionId]]);
  await t.send(governance, "datanets", "publishVersion", [datanetId, root, manifestCid, 1, 1]);
  return datanetId;
}

/** Registers `operator` as a node (peer `peerId`) with the minimum stake, funded by governance. */
export async function registerNode(t: TestChain, operator: HDAccount, peerId: string): Promise<void> {
  await t.send(account(0), "token", "transfer", [operator.address, MIN_STAKE * 2n]);
  await t.send(operator, "token", "approve", [t.addresses.nodes, MIN_STAKE]);
  await t.send(operator, "nodes", "register", [peerId, "http://127.0.0.1", 3n, MIN_STAKE]);
}

/** Gives `payer` 100 tokens, 10 of them in Settlement escrow, and authorizes `sessionKey` to sign vouchers up to `cap` until `expiresAt`. */
export async function fundPayer(t: TestChain, payer: HDAccount, sessionKey: Address, cap: bigint, expiresAt: bigint): Promise<void> {
  await t.send(account(0), "token", "transfer", [payer.address, parseEther("100")]);
  await t.send(payer, "token", "approve", [t.addresses.settlement, parseEther("100")]);
  await t.send(payer, "settlement", "deposit", [parseEther("10")]);
  await t.send(payer, "settlement", "authorizeSessionKey", [sessionKey, cap, expiresAt]);
}
