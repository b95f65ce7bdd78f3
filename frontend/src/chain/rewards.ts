/**
 * ContributorPools (through `Settlement.contributorPools()`): a node's credit roots, what an account claimed, and
 * `claimMany`; plus the Settlement's BatchSettled events that name each credit batch's document on IPFS.
 */
import type { Address, Hex, PublicClient } from "viem";
import type { CreditBatch, NodeClaim, NodeCreditState } from "../lib/rewards.ts";
import type { ContractCall } from "./calls.ts";
import { addressOf } from "./deployment.ts";
import { contributorPoolsAbi, settlementAbi } from "./generated/contracts.ts";

export function contributorPoolsAddress(client: PublicClient): Promise<Address> {
  return client.readContract({ address: addressOf("settlement"), abi: settlementAbi, functionName: "contributorPools" });
}

export async function creditsOf(client: PublicClient, pools: Address, node: Address): Promise<NodeCreditState> {
  const [finalizedRoot, finalizedTotal, claimedTotal, pool, pendingRoot, pendingBatchId, pendingUntil, pendingChallenged] = await client.readContract({
    address: pools,
    abi: contributorPoolsAbi,
    functionName: "creditsOf",
    args: [node],
  });
  return { finalizedRoot, finalizedTotal, claimedTotal, pool, pendingRoot, pendingBatchId: BigInt(pendingBatchId), pendingUntil, pendingChallenged };
}

export function claimedOf(client: PublicClient, pools: Address, node: Address, account: Address): Promise<bigint> {
  return client.readContract({ address: pools, abi: contributorPoolsAbi, functionName: "claimedOf", args: [node, account] });
}

export interface SettledBatch {
  batchId: bigint;
  node: Address;
  creditRoot: Hex;
  redeemed: bigint;
  /** What a redeem batch put in the node's contributor pool (0 for a credit batch). */
  contributorPool: bigint;
  /** What a credit batch's root credits in all, cumulative over the node's batches (0 for a redeem batch). */
  totalCredit: bigint;
  disputeUntil: bigint;
  recordsCid: string;
  blockNumber: bigint;
}

/** Every batch the Settlement recorded, oldest first (redeem batches have a zero credit root). */
export async function settledBatches(client: PublicClient, node?: Address): Promise<SettledBatch[]> {
  const logs = await client.getContractEvents({ address: addressOf("settlement"), abi: settlementAbi, eventName: "BatchSettled", args: node ? { node } : undefined, fromBlock: 0n });
  return logs.map((log) => ({
    batchId: BigInt(log.args.batchId!),
    node: log.args.node as Address,
    creditRoot: log.args.creditRoot as Hex,
    redeemed: log.args.redeemed!,
    contributorPool: log.args.contributorPool!,
    totalCredit: log.args.totalCredit ?? 0n,
    disputeUntil: log.args.disputeUntil!,
    recordsCid: log.args.recordsCid!,
    blockNumber: log.blockNumber ?? 0n,
  }));
}

export function isCreditBatch(batch: SettledBatch): boolean {
  return !/^0x0+$/.test(batch.creditRoot);
}

export type { CreditBatch };

export function claimManyCall(pools: Address, account: Address, claims: readonly NodeClaim[]): ContractCall {
  return {
    address: pools,
    abi: contributorPoolsAbi,
    functionName: "claimMany",
    args: [account, claims.map((c) => ({ node: c.node, cumulativeAmount: c.cumulativeAmount, proof: c.proof }))],
    label: claims.length === 1 ? "Claim from 1 node" : `Claim from ${claims.length} nodes in one transaction`,
  };
}

export interface BatchDispute {
  batchId: bigint;
  node: Address;
  challenger: Address;
  outcome: "open" | "upheld" | "rejected";
}

/** Challenges of a node's credit batches and their rulings (ContributorPools' BatchDisputes events). */
export async function batchDisputes(client: PublicClient, pools: Address, node: Address): Promise<BatchDispute[]> {
  const [challenged, upheld, rejected] = await Promise.all(
    (["BatchChallenged", "ChallengeUpheld", "ChallengeRejected"] as const).map((eventName) =>
      client.getContractEvents({ address: pools, abi: contributorPoolsAbi, eventName, args: { node }, fromBlock: 0n }),
    ),
  );
  const ruled = (logs: typeof upheld, batchId: bigint) => logs.some((log) => BigInt((log.args as { batchId?: bigint }).batchId ?? -1n) === batchId);
  return challenged.map((log) => {
    const args = log.args as { batchId?: bigint; challenger?: Address };
    const batchId = BigInt(args.batchId ?? 0n);
    return { batchId, node, challenger: args.challenger as Address, outcome: ruled(upheld, batchId) ? "upheld" : ruled(rejected, batchId) ? "rejected" : "open" };
  });
}
