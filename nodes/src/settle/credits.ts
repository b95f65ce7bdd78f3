/**
 * A contributor's credit from one node and the claim that pays it. The proof comes from the node's settled
 * credit document (served as `GET /v1/credits/:account`, or read from IPFS by the CID on-chain); the claim is
 * checked against the chain's final root before it is sent, so a stale or forged proof fails with a reason
 * instead of a revert.
 */
import { getAddress, zeroHash, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { SettlementScheduler } from "./settlement-scheduler.ts";

export interface CreditEntry {
  node: Address;
  account: Address;
  /** Cumulative credit in the final root: what the account may have claimed in total. */
  cumulative: string;
  proof: Hex[];
  root: Hex;
  batchId: string;
  recordsCid: string;
}

export class CreditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CreditError";
  }
}

/** The account's entry in the node's final credit root, or undefined when the final root does not credit it. */
export async function creditOf(scheduler: SettlementScheduler, account: Address): Promise<CreditEntry | undefined> {
  const { finalizedRoot } = await scheduler.credits();
  if (finalizedRoot === zeroHash) return undefined;
  const found = scheduler.documentForRoot(finalizedRoot);
  if (found === undefined) return undefined;
  const credit = found.document.batch.credits.find((c) => c.account.toLowerCase() === account.toLowerCase());
  if (credit === undefined) return undefined;
  return {
    node: scheduler.node, account: getAddress(account), cumulative: credit.cumulative, proof: credit.proof, root: finalizedRoot,
    batchId: found.chainBatchId.toString(), recordsCid: found.cid,
  };
}

/** Claims `entry` from the node's pool for its account; returns what was paid (0 when already claimed). */
export async function claimCredit(
  wallet: WalletClient, client: PublicClient, pools: Address, poolsAbi: Abi, entry: CreditEntry,
): Promise<{ paid: bigint; txHash?: Hex }> {
  const [finalizedRoot] = (await client.readContract({ address: pools, abi: poolsAbi, functionName: "creditsOf", args: [entry.node] })) as [Hex];
  if (finalizedRoot.toLowerCase() !== entry.root.toLowerCase()) {
    throw new CreditError(`The proof is for root ${entry.root}, but node ${entry.node}'s final root is ${finalizedRoot}: fetch the credit again.`);
  }
  const claimed = (await client.readContract({ address: pools, abi: poolsAbi, functionName: "claimedOf", args: [entry.node, entry.account] })) as bigint;
  const cumulative = BigInt(entry.cumulative);
  if (claimed >= cumulative) return { paid: 0n };
  const txHash = await wallet.writeContract({
    address: pools, abi: poolsAbi, functionName: "claim", args: [entry.node, entry.account, cumulative, entry.proof], account: wallet.account!, chain: wallet.chain,
  });
  const receipt = await client.waitForTransactionReceipt({ hash: txHash, pollingInterval: 100 });
  if (receipt.status !== "success") throw new CreditError(`The claim transaction ${txHash} reverted.`);
  return { paid: cumulative - claimed, txHash };
}
