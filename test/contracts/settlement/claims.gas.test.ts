import { expect } from "chai";
import hre, { network } from "hardhat";
import type { Address, Hash } from "viem";
import { DAY, MODEL_A, UNIT, creditTree, deploySettlement, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();

// The whole-transaction bounds for claims, at proof depth 14: the depth of the deepest leaves of a
// 10,000-contributor tree. The tree here is full (2^14 leaves), so every proof has exactly that depth.
const FIRST_CLAIM_MAX_GAS = 80_000n;
const REPEAT_CLAIM_MAX_GAS = 65_000n;
const DEPTH = 14;
const NO_ROOT = `0x${"00".repeat(32)}` as const;

describe("Settlement claim gas", function () {
  // Coverage instrumentation adds gas to every statement, so the measurement means nothing there.
  before(function () {
    if (hre.globalOptions.coverage) this.skip();
  });

  it(`claims at proof depth ${DEPTH} in at most ${FIRST_CLAIM_MAX_GAS} gas (first) and ${REPEAT_CLAIM_MAX_GAS} (repeat)`, async () => {
    const ctx = await deploySettlement(viem);
    const { settlement, pools, token, node, publicClient } = ctx;
    const gasOf = async (sent: Promise<Hash>) => (await publicClient.waitForTransactionReceipt({ hash: await sent })).gasUsed;
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: node.account.address,
      cumulativeAmount: 100n * UNIT,
    });
    await settlement.write.settleBatch([[voucher], NO_ROOT, 0n, ""], {
      account: node.account,
    });
    const [alice, carol] = [ctx.alice.account.address, ctx.outsider.account.address];
    // Recipients that already hold the token, so the figures are the Settlement's, not an ERC-20's first balance.
    await token.write.mint([alice, 1n]);
    await token.write.mint([carol, 1n]);
    const finalRoot = async (credits: ReadonlyArray<readonly [Address, bigint]>) => {
      const tree = creditTree(credits);
      await settlement.write.settleBatch([[], tree.root, tree.total, "bafy-records"], { account: node.account });
      await networkHelpers.time.increase(DAY);
      await pools.write.finalizeCreditRoot([node.account.address]);
      return tree;
    };
    const claim = (tree: ReturnType<typeof creditTree>, account: Address, amount: bigint) =>
      gasOf(pools.write.claim([node.account.address, account, amount, tree.proofOf(account)]));

    const small = await finalRoot([[alice, UNIT], [carol, 0n]]);
    await claim(small, alice, UNIT);
    const others = Array.from({ length: 2 ** DEPTH - 2 }, (_, i) => [`0x${(i + 1).toString(16).padStart(40, "0")}` as Address, 1_000n] as const);
    const large = await finalRoot([[alice, 2n * UNIT], [carol, UNIT], ...others]);
    expect(large.proofOf(carol)).to.have.length(DEPTH);

    const repeat = await claim(large, alice, 2n * UNIT);
    const first = await claim(large, carol, UNIT);
    console.log(`      gas at proof depth ${DEPTH}: first claim ${first}, repeat claim ${repeat}`);
    expect(first <= FIRST_CLAIM_MAX_GAS, `first claim used ${first} gas`).to.equal(true);
    expect(repeat <= REPEAT_CLAIM_MAX_GAS, `repeat claim used ${repeat} gas`).to.equal(true);
  });
});
