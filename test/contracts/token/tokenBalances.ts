import assert from "node:assert/strict";
import type { Address, Hash } from "viem";

/** Any viem contract instance exposing ERC-20 `balanceOf`. */
export interface BalanceReader {
  read: { balanceOf: (args: readonly [Address]) => Promise<bigint> };
}

/** A public client able to wait for a receipt. */
export interface ReceiptWaiter {
  waitForTransactionReceipt: (args: { hash: Hash }) => Promise<{ status: "success" | "reverted" }>;
}

/**
 * Asserts that a transaction changed ERC-20 balances by exactly the given deltas.
 * hardhat-viem-assertions' `balancesHaveChanged` only covers ether, so token movements are checked here
 * by reading balances before and after the transaction.
 */
export async function tokenBalancesHaveChanged(
  publicClient: ReceiptWaiter,
  token: BalanceReader,
  send: () => Promise<Hash>,
  changes: ReadonlyArray<{ address: Address; amount: bigint }>,
): Promise<void> {
  const before = await Promise.all(changes.map((c) => token.read.balanceOf([c.address])));
  const hash = await send();
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success", "transaction reverted");
  const after = await Promise.all(changes.map((c) => token.read.balanceOf([c.address])));
  changes.forEach((change, i) => {
    assert.equal(after[i] - before[i], change.amount, `token balance change of ${change.address}`);
  });
}
