// Gas of the settlement operations: deploys the Settlement with test doubles of the registries and
// performs each operation (vouchers signed with viem signTypedData, credit trees built with
// @openzeppelin/merkle-tree). Called by run.ts.
import type { NetworkConnection } from "hardhat/types/network";
import type { PrivateKeyAccount } from "viem/accounts";
import type { Address, Hash, Hex } from "viem";
import {
  DAY,
  MODEL_A,
  UNIT,
  creditTree,
  deploySettlement,
  signVoucher,
  type SignedVoucher,
} from "../../test/contracts/settlement/fixture.ts";
import { gasUsed, type GasRow } from "./gas-table.ts";
import { seededAccounts } from "./seeded-accounts.ts";

const NO_ROOT = ("0x" + "00".repeat(32)) as Hex;

/** The bounds: a new channel's voucher, a repeat channel's voucher, a first and a repeat claim. */
const NEW_CHANNEL_VOUCHER_MAX_GAS = 40_000n;
const REPEAT_CHANNEL_VOUCHER_MAX_GAS = 15_000n;
const FIRST_CLAIM_MAX_GAS = 80_000n;
const REPEAT_CLAIM_MAX_GAS = 65_000n;

export async function measureSettlementGas({ viem, networkHelpers }: NetworkConnection): Promise<GasRow[]> {
  const ctx = await deploySettlement(viem);
  const { settlement, pools, token, node, publicClient } = ctx;
  const rows: GasRow[] = [];
  const newAccount = seededAccounts(`tributary gas bench: settlement`);
  const gasOf = (sent: Promise<Hash>) => gasUsed(publicClient, "a settlement transaction", sent);

  /** Payers with escrow: local accounts funded by depositFor, so they need no ether. */
  async function fundPayers(count: number): Promise<PrivateKeyAccount[]> {
    const payers = Array.from({ length: count }, () => newAccount());
    const total = BigInt(count) * 1_000n * UNIT;
    await token.write.mint([ctx.payer.account.address, total]);
    for (const payer of payers) {
      await settlement.write.depositFor([payer.address, 1_000n * UNIT], { account: ctx.payer.account });
    }
    return payers;
  }

  /** Settles one voucher per payer on its (payer, node, MODEL_A) channel; the batch must skip none. */
  async function settle(payers: PrivateKeyAccount[], cumulativeAmount: bigint, root = NO_ROOT, totalCredit = 0n) {
    const vouchers: SignedVoucher[] = [];
    for (const payer of payers) {
      vouchers.push(
        await signVoucher(payer, ctx.domain, { payer: payer.address, node: node.account.address, cumulativeAmount }),
      );
    }
    return settleVouchers(vouchers, root, totalCredit);
  }

  /** The gas of one batch; a skipped voucher is an error, never a row (it would measure the skip, not a redemption). */
  async function settleVouchers(vouchers: SignedVoucher[], root = NO_ROOT, totalCredit = 0n) {
    const sent = settlement.write.settleBatch([vouchers, root, totalCredit, root === NO_ROOT ? "" : "bafy-records"], {
      account: node.account,
    });
    const gas = await gasOf(sent);
    const skipped = await settlement.getEvents.VoucherSkipped({}, { fromBlock: "latest", toBlock: "latest" });
    if (skipped.length > 0) throw new Error(`the bench's batch skipped ${skipped.length} voucher(s), reason ${skipped[0].args.reason}`);
    return gas;
  }

  const sizes = [1, 10, 50] as const;
  const payersBySize = new Map<number, PrivateKeyAccount[]>();
  for (const size of sizes) payersBySize.set(size, await fundPayers(size));

  const newChannel = new Map<number, bigint>();
  const repeatChannel = new Map<number, bigint>();
  for (const size of sizes) newChannel.set(size, await settle(payersBySize.get(size)!, 10n * UNIT));
  for (const size of sizes) repeatChannel.set(size, await settle(payersBySize.get(size)!, 20n * UNIT));
  for (const size of sizes) rows.push({ operation: `settleBatch, ${size} voucher(s), new channels`, gas: newChannel.get(size)! });
  for (const size of sizes) rows.push({ operation: `settleBatch, ${size} voucher(s), repeat channels`, gas: repeatChannel.get(size)! });
  const marginal = (gas: Map<number, bigint>) => (gas.get(50)! - gas.get(10)!) / 40n;
  rows.push({
    operation: "per voucher, new channel ((g50 - g10) / 40)",
    gas: marginal(newChannel),
    target: NEW_CHANNEL_VOUCHER_MAX_GAS,
  });
  rows.push({
    operation: "per voucher, repeat channel paid from the shared escrow",
    gas: marginal(repeatChannel),
    target: REPEAT_CHANNEL_VOUCHER_MAX_GAS,
  });

  // Channels funded ahead (fundChannel, a deposit into the channel): a redemption within the channel's funds
  // touches one storage word instead of two.
  {
    const payers = await fundPayers(50);
    await token.write.mint([ctx.payer.account.address, 50n * 100n * UNIT]);
    for (const payer of payers) {
      await settlement.write.fundChannel([payer.address, node.account.address, MODEL_A.id, 100n * UNIT], { account: ctx.payer.account });
    }
    await settle(payers, 10n * UNIT);
    const funded = new Map<number, bigint>();
    funded.set(10, await settle(payers.slice(0, 10), 20n * UNIT));
    funded.set(50, await settle(payers, 30n * UNIT));
    rows.push({ operation: "settleBatch, 10 vouchers, repeat channels funded ahead", gas: funded.get(10)! });
    rows.push({ operation: "settleBatch, 50 vouchers, repeat channels funded ahead", gas: funded.get(50)! });
    rows.push({
      operation: "per voucher, repeat channel funded ahead (fundChannel)",
      gas: marginal(funded),
      target: REPEAT_CHANNEL_VOUCHER_MAX_GAS,
    });
  }

  // Session-key vouchers: one extra storage word per voucher (the key's cap, spending and expiry), read and written.
  {
    const payers = await fundPayers(50);
    const keys = payers.map(() => newAccount());
    const expiresAt = BigInt(await networkHelpers.time.latest()) + 30n * DAY;
    await settle(payers, 10n * UNIT);
    const bySize = new Map<number, bigint>();
    for (const size of [10, 50]) {
      const group = payers.slice(0, size);
      const vouchers: SignedVoucher[] = [];
      for (const [index, payer] of group.entries()) {
        await ctx.payer.sendTransaction({ to: payer.address, value: 10n ** 16n });
        await settlement.write.authorizeSessionKey([keys[index].address, 10_000n * UNIT, expiresAt], { account: payer });
        const cumulativeAmount = size === 10 ? 15n * UNIT : 20n * UNIT;
        vouchers.push(await signVoucher(keys[index], ctx.domain, { payer: payer.address, node: node.account.address, cumulativeAmount }));
      }
      bySize.set(size, await settleVouchers(vouchers));
    }
    rows.push({ operation: "settleBatch, 50 session-key vouchers, repeat channels", gas: bySize.get(50)! });
    rows.push({ operation: "per voucher, session key, repeat channel ((g50 - g10) / 40)", gas: marginal(bySize) });
  }

  // Credit roots: 16 versus 16,384 contributors credited cost the same (one root, one total, no loop). Full
  // trees, so every proof has the same depth: 4, and 14, the depth of the deepest leaves of a 10,000-contributor
  // tree (the case; there only 36 % of the leaves are that deep).
  const contributorAddress = () => newAccount().address;
  const alice = ctx.alice.account.address;
  const carol = ctx.outsider.account.address;
  const bob = contributorAddress(); // holds no tokens before its first claim
  await token.write.mint([alice, 1n]);
  await token.write.mint([carol, 1n]);

  const othersOf = (count: number, amount: bigint) => Array.from({ length: count }, () => [contributorAddress(), amount] as const);
  type CreditTree = ReturnType<typeof creditTree>;
  const claimRow = async (operation: string, tree: CreditTree, account: Address, amount: bigint, target?: bigint) => {
    const proof = tree.proofOf(account);
    rows.push({
      operation: `${operation} (proof depth ${proof.length})`,
      gas: await gasOf(pools.write.claim([node.account.address, account, amount, proof])),
      target,
    });
  };
  /** Settles a root-only batch and finalizes the root after the dispute window; returns both gas figures. */
  const proposeAndFinalize = async (tree: CreditTree) => {
    const settled = await settle([], 0n, tree.root, tree.total);
    await networkHelpers.time.increase(DAY);
    const finalized = await gasOf(pools.write.finalizeCreditRoot([node.account.address]));
    return { settled, finalized };
  };

  const small = creditTree([[alice, UNIT], ...othersOf(15, UNIT)]);
  rows.push({ operation: "settleBatch, credit root only, 16 contributors", gas: (await proposeAndFinalize(small)).settled });
  await claimRow("claim, first, 16-contributor root", small, alice, UNIT, FIRST_CLAIM_MAX_GAS);

  const large = creditTree([[alice, 2n * UNIT], [carol, UNIT], [bob, UNIT], ...othersOf(2 ** 14 - 3, 10n ** 15n)]);
  const largeRoot = await proposeAndFinalize(large);
  rows.push({ operation: "settleBatch, credit root only, 16,384 contributors", gas: largeRoot.settled });
  rows.push({ operation: "finalizeCreditRoot (a node's second root)", gas: largeRoot.finalized });
  await claimRow("claim, repeat, 16,384-contributor root", large, alice, 2n * UNIT, REPEAT_CLAIM_MAX_GAS);
  await claimRow("claim, first, 16,384-contributor root", large, carol, UNIT, FIRST_CLAIM_MAX_GAS);
  // No target: the extra ~17k is the ERC-20 creating the recipient's balance word, outside the Settlement.
  await claimRow("claim, first, recipient holds no tokens yet", large, bob, UNIT);

  const smallAgain = creditTree([[alice, 3n * UNIT], ...othersOf(15, 2n * UNIT)]);
  await proposeAndFinalize(smallAgain);
  await claimRow("claim, repeat, 16-contributor root", smallAgain, alice, 3n * UNIT, REPEAT_CLAIM_MAX_GAS);

  // Escrow.
  const payer = ctx.payer2.account;
  rows.push({ operation: "deposit (payer with escrow)", gas: await gasOf(settlement.write.deposit([UNIT], { account: payer })) });
  rows.push({ operation: "requestWithdrawal", gas: await gasOf(settlement.write.requestWithdrawal([UNIT], { account: payer })) });
  await networkHelpers.time.increase(DAY);
  const callWithoutArgs = (account: typeof payer, functionName: "withdraw" | "withdrawEarnings") =>
    ctx.payer2.writeContract({ address: settlement.address, abi: settlement.abi, functionName, account, chain: ctx.payer2.chain });
  rows.push({ operation: "withdraw", gas: await gasOf(callWithoutArgs(payer, "withdraw")) });
  rows.push({ operation: "withdrawEarnings (node)", gas: await gasOf(callWithoutArgs(node.account, "withdrawEarnings")) });
  return rows;
}
