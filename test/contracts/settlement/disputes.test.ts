import { expect } from "chai";
import { network } from "hardhat";
import { zeroAddress } from "viem";
import { CHALLENGE_BOND, DAY, MODEL_A, NODE_STAKE, SLASH_AMOUNT, UNIT, creditTree, deploySettlement, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const NO_ROOT = ("0x" + "00".repeat(32)) as `0x${string}`;
/** The challenger's share of an upheld slash (CHALLENGER_REWARD_BPS = 10 %). */
const REWARD = SLASH_AMOUNT / 10n;

/** A node with a pool and a pending root (batch 2) crediting alice. */
async function deployWithPendingRoot() {
  const ctx = await deploySettlement(viem);
  const voucher = await signVoucher(ctx.payer, ctx.domain, {
    payer: ctx.payer.account.address,
    node: ctx.node.account.address,
    cumulativeAmount: 100n * UNIT,
  });
  await ctx.settlement.write.settleBatch([[voucher], NO_ROOT, 0n, ""], {
    account: ctx.node.account,
  });
  const tree = creditTree([[ctx.alice.account.address, 10n * UNIT], [ctx.bob.account.address, 2n * UNIT]]);
  await ctx.settlement.write.settleBatch([[], tree.root, tree.total, "bafy-records"], { account: ctx.node.account });
  return { ...ctx, tree, batchId: 2n };
}

describe("Settlement disputes", () => {
  it("upholds a challenge: discards the root, returns the bond plus the reward and slashes the node into its pool", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPendingRoot);
    const { settlement, pools, token, nodes, node, challenger, arbiter, batchId } = ctx;
    const before = await token.read.balanceOf([challenger.account.address]);
    await viem.assertions.emitWithArgs(
      pools.write.challenge([node.account.address, batchId], { account: challenger.account }),
      pools,
      "BatchChallenged",
      [batchId, node.account.address, challenger.account.address, CHALLENGE_BOND],
    );
    expect(await pools.read.challengeOf([node.account.address, batchId, challenger.account.address])).to.deep.equal([true, CHALLENGE_BOND]);
    const [, , , poolBefore] = await pools.read.creditsOf([node.account.address]);
    await networkHelpers.time.increase(2n * DAY);
    const [, , , , pendingRoot, , , challenged] = await pools.read.creditsOf([node.account.address]);
    expect([pendingRoot, challenged]).to.deep.equal([ctx.tree.root, true]);
    await viem.assertions.emitWithArgs(
      pools.write.resolveChallenge([node.account.address, batchId, challenger.account.address, true], { account: arbiter.account }),
      pools,
      "ChallengeUpheld",
      [batchId, node.account.address, challenger.account.address, SLASH_AMOUNT, REWARD],
    );
    // The bond came back (so the balance is as before the challenge) plus the reward; the rest went to the pool.
    expect((await token.read.balanceOf([challenger.account.address])) - before).to.equal(REWARD);
    expect(await nodes.read.stakeOf([node.account.address])).to.equal(NODE_STAKE - SLASH_AMOUNT);
    const [finalRoot, , , pool, rootAfter] = await pools.read.creditsOf([node.account.address]);
    expect([finalRoot, rootAfter]).to.deep.equal([NO_ROOT, NO_ROOT]);
    expect(pool).to.equal(poolBefore + SLASH_AMOUNT - REWARD);
    expect(await pools.read.challengeOf([node.account.address, batchId, challenger.account.address])).to.deep.equal([false, 0n]);
    // The pool is still there for a corrected root.
    const corrected = creditTree([[ctx.alice.account.address, 4n * UNIT]]);
    await settlement.write.settleBatch([[], corrected.root, corrected.total, "bafy-fixed"], { account: node.account });
  });

  it("rejects a challenge: the bond goes to the node and the root is final at the end of its window", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPendingRoot);
    const { settlement, pools, node, challenger, arbiter, batchId, tree, alice } = ctx;
    await pools.write.challenge([node.account.address, batchId], { account: challenger.account });
    await viem.assertions.emitWithArgs(
      pools.write.resolveChallenge([node.account.address, batchId, challenger.account.address, false], { account: arbiter.account }),
      pools,
      "ChallengeRejected",
      [batchId, node.account.address, challenger.account.address, CHALLENGE_BOND],
    );
    // Another challenger may still come within the window, so the root is not final yet.
    const [rootNow, , , , pending, , , challenged] = await pools.read.creditsOf([node.account.address]);
    expect([rootNow, pending, challenged]).to.deep.equal([NO_ROOT, tree.root, false]);
    await networkHelpers.time.increase(DAY);
    const [finalRoot] = await pools.read.creditsOf([node.account.address]);
    expect(finalRoot).to.equal(tree.root);
    await pools.write.claim([node.account.address, alice.account.address, 10n * UNIT, tree.proofOf(alice.account.address)]);
    const nodeEarnings = await settlement.read.earningsOf([node.account.address]);
    expect(nodeEarnings >= CHALLENGE_BOND).to.equal(true);
  });

  it("refuses challenges of unknown, final or already challenged roots", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPendingRoot);
    const { settlement, pools, node, challenger, batchId } = ctx;
    const as = { account: challenger.account };
    for (const id of [0n, 1n, 3n]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.challenge([node.account.address, id], as),
        pools,
        "BatchNotChallengeable",
        [node.account.address, id],
      );
    }
    await pools.write.challenge([node.account.address, batchId], as);
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.challenge([node.account.address, batchId], as),
      pools,
      "AlreadyChallenged",
      [node.account.address, batchId, challenger.account.address],
    );
  });

  it("refuses a challenge after the dispute window", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPendingRoot);
    await networkHelpers.time.increase(DAY);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.pools.write.challenge([ctx.node.account.address, ctx.batchId], { account: ctx.challenger.account }),
      ctx.pools,
      "BatchNotChallengeable",
      [ctx.node.account.address, ctx.batchId],
    );
  });

  it("lets only the arbiter resolve, and only an open challenge", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPendingRoot);
    const { settlement, pools, node, arbiter, outsider, challenger, batchId } = ctx;
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.resolveChallenge([node.account.address, batchId, challenger.account.address, true], { account: outsider.account }),
      pools,
      "NotArbiter",
      [outsider.account.address],
    );
    for (const id of [0n, batchId]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.resolveChallenge([node.account.address, id, challenger.account.address, true], { account: arbiter.account }),
        pools,
        "NoOpenChallenge",
        [node.account.address, id, challenger.account.address],
      );
    }
  });

  it("works with a zero bond and a zero slash", async () => {
    const ctx = await networkHelpers.loadFixture(deployWithPendingRoot);
    const { settlement, pools, governance, node, challenger, arbiter, batchId } = ctx;
    await pools.write.setChallengeBond([0n], { account: governance.account });
    await pools.write.setSlashAmount([0n], { account: governance.account });
    await pools.write.challenge([node.account.address, batchId], { account: challenger.account });
    await viem.assertions.emitWithArgs(
      pools.write.resolveChallenge([node.account.address, batchId, challenger.account.address, true], { account: arbiter.account }),
      pools,
      "ChallengeUpheld",
      [batchId, node.account.address, challenger.account.address, 0n, 0n],
    );
  });

  it("lets governance set arbiter, bond and slash amount", async () => {
    const { settlement, pools, governance, arbiter, outsider } = await networkHelpers.loadFixture(deployWithPendingRoot);
    const gov = { account: governance.account };
    await viem.assertions.emitWithArgs(
      pools.write.setArbiter([outsider.account.address], gov),
      pools,
      "ArbiterUpdated",
      [arbiter.account.address, outsider.account.address],
    );
    await viem.assertions.revertWithCustomError(pools.write.setArbiter([zeroAddress], gov), settlement, "ZeroAddress");
    await viem.assertions.emitWithArgs(pools.write.setChallengeBond([7n], gov), pools, "ChallengeBondUpdated", [
      CHALLENGE_BOND,
      7n,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      pools.write.setChallengeBond([2n ** 96n], gov),
      settlement,
      "SafeCastOverflowedUintDowncast",
      [96, 2n ** 96n],
    );
    await viem.assertions.emitWithArgs(pools.write.setSlashAmount([9n], gov), pools, "SlashAmountUpdated", [
      SLASH_AMOUNT,
      9n,
    ]);
    for (const write of [
      pools.write.setArbiter([outsider.account.address], { account: outsider.account }),
      pools.write.setChallengeBond([1n], { account: outsider.account }),
      pools.write.setSlashAmount([1n], { account: outsider.account }),
    ]) {
      await viem.assertions.revertWithCustomErrorWithArgs(write, settlement, "OwnableUnauthorizedAccount", [
        outsider.account.address,
      ]);
    }
  });
});
