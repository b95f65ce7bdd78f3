import { expect } from "chai";
import { network } from "hardhat";
import type { Address } from "viem";
import { DAY, MODEL_A, PROTOCOL_FEE_BPS, UNIT, creditTree, deploySettlement, expectedSplit, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const REVENUE = 100n * UNIT;
const POOL = expectedSplit(REVENUE, PROTOCOL_FEE_BPS, MODEL_A.ownerBps, MODEL_A.contributorBps).contributors;

/** A node that has settled one batch of REVENUE, so its contributor pool holds POOL. */
async function deployWithPool() {
  const ctx = await deploySettlement(viem);
  const voucher = await signVoucher(ctx.payer, ctx.domain, {
    payer: ctx.payer.account.address,
    node: ctx.node.account.address,
    cumulativeAmount: REVENUE,
  });
  await ctx.settlement.write.settleBatch(
    [[voucher], "0x" + "00".repeat(32) as `0x${string}`, 0n, ""],
    { account: ctx.node.account },
  );
  const proposeRoot = (credits: ReadonlyArray<readonly [Address, bigint]>, declared?: bigint) => {
    const tree = creditTree(credits);
    const write = ctx.settlement.write.settleBatch([[], tree.root, declared ?? tree.total, "bafy-records"], {
      account: ctx.node.account,
    });
    return { tree, write };
  };
  return { ...ctx, proposeRoot };
}

describe("Settlement contributor credits", () => {
  it("pays a first and a repeat claim against cumulative roots", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const { settlement, pools, token, node, alice, bob } = ctx;
    const [a, b] = [alice.account.address, bob.account.address];
    const first = ctx.proposeRoot([[a, 10n * UNIT], [b, 5n * UNIT]]);
    await first.write;
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.claim([node.account.address, a, 10n * UNIT, first.tree.proofOf(a)]),
      pools,
      "NoFinalizedCreditRoot",
      [node.account.address],
    );
    await networkHelpers.time.increase(DAY);
    await viem.assertions.emitWithArgs(
      pools.write.claim([node.account.address, a, 10n * UNIT, first.tree.proofOf(a)], { account: bob.account }),
      pools,
      "CreditsClaimed",
      [node.account.address, a, 10n * UNIT],
    );
    expect(await token.read.balanceOf([a])).to.equal(10n * UNIT);
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.claim([node.account.address, a, 10n * UNIT, first.tree.proofOf(a)]),
      pools,
      "NothingToClaim",
      [node.account.address, a, 10n * UNIT, 10n * UNIT],
    );

    const second = ctx.proposeRoot([[a, 25n * UNIT], [b, 5n * UNIT]]);
    await second.write;
    await networkHelpers.time.increase(DAY);
    await pools.write.claim([node.account.address, a, 25n * UNIT, second.tree.proofOf(a)]);
    expect(await token.read.balanceOf([a])).to.equal(25n * UNIT);
    expect(await pools.read.claimedOf([node.account.address, a])).to.equal(25n * UNIT);
    const [root, total, claimed, pool] = await pools.read.creditsOf([node.account.address]);
    expect([root, total, claimed, pool]).to.deep.equal([second.tree.root, 30n * UNIT, 25n * UNIT, POOL]);
  });

  it("claims from several nodes in one call", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const { settlement, pools, nodes, token, outsider, alice } = ctx;
    const node2 = outsider;
    await nodes.write.setActive([node2.account.address, true]);
    const voucher = await signVoucher(ctx.payer2, ctx.domain, {
      payer: ctx.payer2.account.address,
      node: node2.account.address,
      cumulativeAmount: REVENUE,
    });
    const a = alice.account.address;
    const tree2 = creditTree([[a, 3n * UNIT], [ctx.bob.account.address, UNIT]]);
    await settlement.write.settleBatch([[voucher], tree2.root, tree2.total, "r2"], {
      account: node2.account,
    });
    const tree1 = ctx.proposeRoot([[a, 7n * UNIT], [ctx.bob.account.address, UNIT]]);
    await tree1.write;
    await networkHelpers.time.increase(DAY);
    await viem.assertions.revertWithCustomError(pools.write.claimMany([a, []]), pools, "EmptyClaim");
    await pools.write.claimMany([
      a,
      [
        { node: ctx.node.account.address, cumulativeAmount: 7n * UNIT, proof: tree1.tree.proofOf(a) },
        { node: node2.account.address, cumulativeAmount: 3n * UNIT, proof: tree2.proofOf(a) },
      ],
    ]);
    expect(await token.read.balanceOf([a])).to.equal(10n * UNIT);
  });

  it("rejects a wrong proof and an amount the root does not hold", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const [a, b] = [ctx.alice.account.address, ctx.bob.account.address];
    const { tree, write } = ctx.proposeRoot([[a, 10n * UNIT], [b, 5n * UNIT]]);
    await write;
    await networkHelpers.time.increase(DAY);
    for (const [account, amount, proof] of [
      [a, 11n * UNIT, tree.proofOf(a)],
      [a, 10n * UNIT, tree.proofOf(b)],
      [b, 10n * UNIT, tree.proofOf(a)],
    ] as const) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.pools.write.claim([ctx.node.account.address, account, amount, proof]),
        ctx.pools,
        "InvalidCreditProof",
        [ctx.node.account.address, account, amount],
      );
    }
  });

  it("never pays out more than the root declared, even if its leaves say more", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const [a, b] = [ctx.alice.account.address, ctx.bob.account.address];
    const { tree, write } = ctx.proposeRoot([[a, 10n * UNIT], [b, 5n * UNIT]], 12n * UNIT);
    await write;
    await networkHelpers.time.increase(DAY);
    await ctx.pools.write.claim([ctx.node.account.address, a, 10n * UNIT, tree.proofOf(a)]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.pools.write.claim([ctx.node.account.address, b, 5n * UNIT, tree.proofOf(b)]),
      ctx.pools,
      "ClaimsExceedCredited",
      [ctx.node.account.address, 12n * UNIT, 15n * UNIT],
    );
  });

  it("bounds new roots by the pool, keeps them cumulative and one pending at a time", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const { settlement, pools, node, alice } = ctx;
    const a = alice.account.address;
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.proposeRoot([[a, POOL + 1n]]).write,
      pools,
      "CreditTotalExceedsPool",
      [node.account.address, POOL + 1n, POOL],
    );
    await ctx.proposeRoot([[a, 10n * UNIT]]).write;
    const [, , , , , pendingBatchId, pendingUntil] = await pools.read.creditsOf([node.account.address]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.proposeRoot([[a, 11n * UNIT]]).write,
      pools,
      "CreditRootPending",
      [node.account.address, pendingBatchId, pendingUntil],
    );
    await networkHelpers.time.increase(DAY);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.proposeRoot([[a, 9n * UNIT]]).write,
      pools,
      "CreditTotalDecreased",
      [node.account.address, 10n * UNIT, 9n * UNIT],
    );
  });

  it("finalizes a root explicitly once its window has passed", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const { settlement, pools, node, alice } = ctx;
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.finalizeCreditRoot([node.account.address]),
      pools,
      "NothingToFinalize",
      [node.account.address],
    );
    const { tree, write } = ctx.proposeRoot([[alice.account.address, UNIT]]);
    await write;
    await viem.assertions.revertWithCustomError(
      pools.write.finalizeCreditRoot([node.account.address]),
      pools,
      "NothingToFinalize",
    );
    await networkHelpers.time.increase(DAY);
    const [viewRoot] = await pools.read.creditsOf([node.account.address]);
    expect(viewRoot).to.equal(tree.root);
    await viem.assertions.emitWithArgs(
      pools.write.finalizeCreditRoot([node.account.address]),
      pools,
      "CreditRootFinalized",
      [node.account.address, 2n, tree.root, UNIT],
    );
  });

  it("proves claims against the current final root only, carrying the claimed total from root to root", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const { settlement, pools, node, alice, bob } = ctx;
    const [a, b] = [alice.account.address, bob.account.address];
    const claim = (account: Address, amount: bigint, proof: `0x${string}`[]) =>
      pools.write.claim([node.account.address, account, amount, proof]);
    const first = ctx.proposeRoot([[a, 10n * UNIT], [b, 5n * UNIT]]);
    await first.write;
    await networkHelpers.time.increase(DAY);
    await claim(a, 10n * UNIT, first.tree.proofOf(a));

    // While the next root is pending, the final one still pays.
    const second = ctx.proposeRoot([[a, 25n * UNIT], [b, 5n * UNIT]]);
    await second.write;
    await claim(b, 5n * UNIT, first.tree.proofOf(b));
    await networkHelpers.time.increase(DAY);
    await claim(a, 25n * UNIT, second.tree.proofOf(a));
    // Once the next root is final, proofs against the one before no longer verify.
    await viem.assertions.revertWithCustomErrorWithArgs(
      claim(a, 10n * UNIT, first.tree.proofOf(a)),
      pools,
      "InvalidCreditProof",
      [node.account.address, a, 10n * UNIT],
    );

    // The same root proposed again keeps what was claimed under it.
    const again = ctx.proposeRoot([[a, 25n * UNIT], [b, 5n * UNIT]]);
    expect(again.tree.root).to.equal(second.tree.root);
    await again.write;
    await networkHelpers.time.increase(DAY);
    await pools.write.finalizeCreditRoot([node.account.address]);
    const [root, total, claimed] = await pools.read.creditsOf([node.account.address]);
    expect([root, total, claimed]).to.deep.equal([second.tree.root, 30n * UNIT, 30n * UNIT]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      claim(a, 25n * UNIT, second.tree.proofOf(a)),
      pools,
      "NothingToClaim",
      [node.account.address, a, 25n * UNIT, 25n * UNIT],
    );
  });

  it("pays nothing from a final root that credits nothing", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const a = ctx.alice.account.address;
    const { tree, write } = ctx.proposeRoot([[a, UNIT]], 0n);
    await write;
    await networkHelpers.time.increase(DAY);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.pools.write.claim([ctx.node.account.address, a, UNIT, tree.proofOf(a)]),
      ctx.pools,
      "ClaimsExceedCredited",
      [ctx.node.account.address, 0n, UNIT],
    );
  });

  it("costs the same to settle a root over 10 or 2,000 contributors", async () => {
    const contributors = (count: number) =>
      Array.from({ length: count }, (_, i) => [`0x${(i + 1).toString(16).padStart(40, "0")}` as Address, UNIT / 100n] as const);
    const gasToPropose = async (count: number) => {
      const ctx = await networkHelpers.loadFixture(deployWithPool);
      const hash = await ctx.proposeRoot(contributors(count)).write;
      return (await ctx.publicClient.waitForTransactionReceipt({ hash })).gasUsed;
    };
    const few = await gasToPropose(10);
    const many = await gasToPropose(2_000);
    // Only the calldata bytes of the root and the declared total differ.
    expect(Number(many > few ? many - few : few - many)).to.be.lessThan(200);
  });

  it("lets only the Settlement feed the pools, and only the pools credit Settlement earnings", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPool);
    const { settlement, pools, token, node, outsider } = ctx;
    expect((await pools.read.settlement()).toLowerCase()).to.equal(settlement.address.toLowerCase());
    const [, , , poolBefore] = await pools.read.creditsOf([node.account.address]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.recordBatch([node.account.address, UNIT, "0x" + "11".repeat(32) as `0x${string}`, UNIT], { account: outsider.account }),
      pools,
      "NotSettlement",
      [outsider.account.address],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.addToPool([node.account.address, UNIT], { account: outsider.account }),
      pools,
      "NotSettlement",
      [outsider.account.address],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.creditEarnings([outsider.account.address, UNIT], { account: outsider.account }),
      settlement,
      "NotContributorPools",
      [outsider.account.address],
    );
    expect((await pools.read.creditsOf([node.account.address]))[3]).to.equal(poolBefore);
    expect(await settlement.read.earningsOf([outsider.account.address])).to.equal(0n);
    // The two contracts hold exactly their ledgers: the pool here, nothing of it in the Settlement.
    expect(await token.read.balanceOf([pools.address])).to.equal(POOL);
  });
});
