// Gas bench of the settlement contract: deploys on Hardhat's in-process chain, performs each operation
// and prints the gas each whole transaction used. Run: node bench/gas/run.ts  (or npx hardhat run bench/gas/run.ts)
import { network } from "hardhat";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
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

const NO_ROOT = ("0x" + "00".repeat(32)) as Hex;
const { viem, networkHelpers } = await network.create();
const ctx = await deploySettlement(viem);
const { settlement, token, node, publicClient } = ctx;
const rows: Array<[string, bigint | string]> = [];

async function gasOf(hash: Promise<Hash>): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
  return receipt.gasUsed;
}

/** Payers with escrow: local accounts funded by depositFor, so they need no ether. */
async function fundPayers(count: number): Promise<PrivateKeyAccount[]> {
  const payers = Array.from({ length: count }, () => privateKeyToAccount(generatePrivateKey()));
  const total = BigInt(count) * 1_000n * UNIT;
  await token.write.mint([ctx.payer.account.address, total]);
  for (const payer of payers) {
    await settlement.write.depositFor([payer.address, 1_000n * UNIT], { account: ctx.payer.account });
  }
  return payers;
}

async function settle(payers: PrivateKeyAccount[], cumulativeAmount: bigint, root = NO_ROOT, totalCredit = 0n) {
  const vouchers: SignedVoucher[] = [];
  for (const payer of payers) {
    vouchers.push(
      await signVoucher(payer, ctx.domain, { payer: payer.address, node: node.account.address, cumulativeAmount }),
    );
  }
  let revenue = 0n;
  for (const payer of payers) {
    const redeemed = (await settlement.read.redeemedOf([payer.address, node.account.address])) as bigint;
    if (cumulativeAmount > redeemed) revenue += cumulativeAmount - redeemed;
  }
  const revenues = revenue === 0n ? [] : [{ modelId: MODEL_A.id, amount: revenue }];
  return gasOf(
    settlement.write.settleBatch([vouchers, revenues, root, totalCredit, root === NO_ROOT ? "" : "bafy-records"], {
      account: node.account,
    }),
  );
}

const sizes = [1, 10, 50] as const;
const payersBySize = new Map<number, PrivateKeyAccount[]>();
for (const size of sizes) payersBySize.set(size, await fundPayers(size));

const newChannel = new Map<number, bigint>();
const repeatChannel = new Map<number, bigint>();
for (const size of sizes) newChannel.set(size, await settle(payersBySize.get(size)!, 10n * UNIT));
for (const size of sizes) repeatChannel.set(size, await settle(payersBySize.get(size)!, 20n * UNIT));
for (const size of sizes) rows.push([`settleBatch, ${size} voucher(s), new channels`, newChannel.get(size)!]);
for (const size of sizes) rows.push([`settleBatch, ${size} voucher(s), repeat channels`, repeatChannel.get(size)!]);
const marginal = (gas: Map<number, bigint>) => (gas.get(50)! - gas.get(10)!) / 40n;
rows.push(["marginal gas per voucher, new channel ((g50 - g10) / 40)", marginal(newChannel)]);
rows.push(["marginal gas per voucher, repeat channel ((g50 - g10) / 40)", marginal(repeatChannel)]);

// Channels the payers funded ahead (fundChannel): a redemption within the channel's funds touches one
// storage word instead of two.
{
  const payers = await fundPayers(50);
  for (const payer of payers) {
    await ctx.payer.sendTransaction({ to: payer.address, value: 10n ** 16n });
    await settlement.write.fundChannel([node.account.address, 100n * UNIT], { account: payer });
  }
  await settle(payers, 10n * UNIT);
  const funded = new Map<number, bigint>();
  funded.set(10, await settle(payers.slice(0, 10), 20n * UNIT));
  funded.set(50, await settle(payers, 30n * UNIT));
  rows.push(["settleBatch, 10 vouchers, repeat channels funded ahead", funded.get(10)!]);
  rows.push(["settleBatch, 50 vouchers, repeat channels funded ahead", funded.get(50)!]);
  rows.push(["marginal gas per voucher, repeat channel funded ahead", marginal(funded)]);
}

// Session-key vouchers: one extra storage read per voucher.
{
  const payers = await fundPayers(50);
  const keys = payers.map(() => privateKeyToAccount(generatePrivateKey()));
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
    const revenue = size === 10 ? 10n * 5n * UNIT : 10n * 5n * UNIT + 40n * 10n * UNIT;
    bySize.set(
      size,
      await gasOf(
        settlement.write.settleBatch([vouchers, [{ modelId: MODEL_A.id, amount: revenue }], NO_ROOT, 0n, ""], {
          account: node.account,
        }),
      ),
    );
  }
  rows.push(["settleBatch, 50 session-key vouchers, repeat channels", bySize.get(50)!]);
}

// Credit roots: 10 versus 10,000 contributors credited cost the same (one root, one total, no loop).
const randomAddress = () => privateKeyToAccount(generatePrivateKey()).address;
const alice = ctx.alice.account.address;
const carol = ctx.outsider.account.address;
const bob = randomAddress(); // holds no tokens before its first claim
await token.write.mint([alice, 1n]);
await token.write.mint([carol, 1n]);

const othersOf = (count: number, amount: bigint) => Array.from({ length: count }, () => [randomAddress(), amount] as const);
const tenContributors = creditTree([[alice, UNIT], ...othersOf(9, UNIT)]);
rows.push(["settleBatch, credit root only, 10 contributors", await settle([], 0n, tenContributors.root, tenContributors.total)]);
await networkHelpers.time.increase(DAY);
await settlement.write.finalizeCreditRoot([node.account.address]);
rows.push([
  "claim, first, 10-contributor root (proof depth 4)",
  await gasOf(settlement.write.claim([node.account.address, alice, UNIT, tenContributors.proofOf(alice)])),
]);

const manyContributors = creditTree([[alice, 2n * UNIT], [carol, UNIT], [bob, UNIT], ...othersOf(9_997, 10n ** 15n)]);
rows.push([
  "settleBatch, credit root only, 10,000 contributors",
  await settle([], 0n, manyContributors.root, manyContributors.total),
]);
await networkHelpers.time.increase(DAY);
await settlement.write.finalizeCreditRoot([node.account.address]);
rows.push([
  "claim, repeat, 10,000-contributor root (proof depth 14)",
  await gasOf(settlement.write.claim([node.account.address, alice, 2n * UNIT, manyContributors.proofOf(alice)])),
]);
rows.push([
  "claim, first, 10,000-contributor root (depth 14)",
  await gasOf(settlement.write.claim([node.account.address, carol, UNIT, manyContributors.proofOf(carol)])),
]);
rows.push([
  "claim, first, recipient holds no tokens yet (depth 14)",
  await gasOf(settlement.write.claim([node.account.address, bob, UNIT, manyContributors.proofOf(bob)])),
]);

const tenAgain = creditTree([[alice, 3n * UNIT], ...othersOf(9, 2n * UNIT)]);
await settle([], 0n, tenAgain.root, tenAgain.total);
await networkHelpers.time.increase(DAY);
await settlement.write.finalizeCreditRoot([node.account.address]);
rows.push([
  "claim, repeat, 10-contributor root (depth 4)",
  await gasOf(settlement.write.claim([node.account.address, alice, 3n * UNIT, tenAgain.proofOf(alice)])),
]);

// Escrow.
const payer = ctx.payer2.account;
rows.push(["deposit (payer with escrow)", await gasOf(settlement.write.deposit([UNIT], { account: payer }))]);
rows.push(["requestWithdrawal", await gasOf(settlement.write.requestWithdrawal([UNIT], { account: payer }))]);
await networkHelpers.time.increase(DAY);
const callWithoutArgs = (account: typeof payer, functionName: "withdraw" | "withdrawEarnings") =>
  ctx.payer2.writeContract({ address: settlement.address, abi: settlement.abi, functionName, account, chain: ctx.payer2.chain });
rows.push(["withdraw", await gasOf(callWithoutArgs(payer, "withdraw"))]);
rows.push(["withdrawEarnings (node)", await gasOf(callWithoutArgs(node.account, "withdrawEarnings"))]);

const width = Math.max(...rows.map(([label]) => label.length));
console.log(`| ${"operation".padEnd(width)} | gas (whole tx) |`);
console.log(`| ${"-".repeat(width)} | -------------: |`);
for (const [label, gas] of rows) console.log(`| ${label.padEnd(width)} | ${gas.toLocaleString("en-US").padStart(14)} |`);
