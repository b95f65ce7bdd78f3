import { expect } from "chai";
import { network } from "hardhat";
import { zeroAddress } from "viem";
import {
  DAY,
  MODEL_A,
  MODEL_B,
  PROTOCOL_FEE_BPS,
  SKIP,
  UNIT,
  deploySettlement,
  expectedSplit,
  settlementParams,
  signVoucher,
} from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);
const NO_ROOT = "0x0000000000000000000000000000000000000000000000000000000000000000";
const SOME_ROOT = "0x1111111111111111111111111111111111111111111111111111111111111111";

describe("Settlement batches", () => {
  async function twoVouchers(ctx: Awaited<ReturnType<typeof deploy>>, first: bigint, second: bigint) {
    const node = ctx.node.account.address;
    return [
      await signVoucher(ctx.payer, ctx.domain, { payer: ctx.payer.account.address, node, cumulativeAmount: first }),
      await signVoucher(ctx.payer2, ctx.domain, { payer: ctx.payer2.account.address, node, cumulativeAmount: second }),
    ];
  }

  it("splits each model's revenue, as the vouchers signed it, into protocol fee, owner, contributor pool and node share", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, pools, node, modelOwner, payer, payer2, domain } = ctx;
    const revenueA = 70n * UNIT + 3n;
    const revenueB = 30n * UNIT + 4n;
    const at = node.account.address;
    // Two vouchers for model A (one per payer) and one for model B: revenue comes from the vouchers themselves.
    const vouchers = [
      await signVoucher(payer, domain, { payer: payer.account.address, node: at, modelId: MODEL_A.id, cumulativeAmount: 60n * UNIT }),
      await signVoucher(payer2, domain, { payer: payer2.account.address, node: at, modelId: MODEL_A.id, cumulativeAmount: 10n * UNIT + 3n }),
      await signVoucher(payer2, domain, { payer: payer2.account.address, node: at, modelId: MODEL_B.id, cumulativeAmount: revenueB }),
    ];
    const a = expectedSplit(revenueA, PROTOCOL_FEE_BPS, MODEL_A.ownerBps, MODEL_A.contributorBps);
    const b = expectedSplit(revenueB, PROTOCOL_FEE_BPS, MODEL_B.ownerBps, MODEL_B.contributorBps);
    const settle = settlement.write.settleBatch([vouchers, NO_ROOT, 0n, ""], { account: node.account });
    await viem.assertions.emitWithArgs(settle, settlement, "ModelRevenueSplit", [
      MODEL_A.id,
      node.account.address,
      modelOwner.account.address,
      MODEL_A.version,
      revenueA,
      a.protocolFee,
      a.owner,
      a.contributors,
      a.node,
    ]);
    expect(await settlement.getEvents.ModelRevenueSplit({}, { fromBlock: "latest" })).to.have.length(2);
    expect(await settlement.read.earningsOf([modelOwner.account.address])).to.equal(a.owner + b.owner);
    expect(await settlement.read.earningsOf([node.account.address])).to.equal(a.node + b.node);
    expect(await settlement.read.protocolFeesAccrued()).to.equal(a.protocolFee + b.protocolFee);
    const [, , , pool] = await pools.read.creditsOf([node.account.address]);
    expect(pool).to.equal(a.contributors + b.contributors);
    expect(a.protocolFee + a.owner + a.contributors + a.node + b.protocolFee + b.owner + b.contributors + b.node).to.equal(
      revenueA + revenueB,
    );
  });

  it("splits each payment by the terms version its voucher signed", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, pools, models, node, modelOwner, payer, domain } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    const underV1 = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 10n * UNIT });
    // The owner moves to 100 % owner (version 2); a later voucher signs version 2.
    await models.write.setTerms([MODEL_A.id, modelOwner.account.address, MODEL_A.price, 10_000, 0, 0]);
    const underV2 = await signVoucher(payer, domain, { ...channel, termsVersion: 2n, cumulativeAmount: 30n * UNIT });
    await settlement.write.settleBatch([[underV1, underV2], NO_ROOT, 0n, ""], { account: node.account });
    const v1 = expectedSplit(10n * UNIT, PROTOCOL_FEE_BPS, MODEL_A.ownerBps, MODEL_A.contributorBps);
    const v2 = expectedSplit(20n * UNIT, PROTOCOL_FEE_BPS, 10_000, 0);
    expect(await settlement.read.earningsOf([node.account.address])).to.equal(v1.node);
    expect(await settlement.read.earningsOf([modelOwner.account.address])).to.equal(v1.owner + v2.owner);
  });

  it("accepts a superseded terms version only within the withdrawal delay", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, pools, models, node, modelOwner, payer, domain } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    await models.write.setTerms([MODEL_A.id, modelOwner.account.address, MODEL_A.price, 2_000, 5_000, 3_000]);
    const supersededAt = BigInt(await networkHelpers.time.latest());
    await networkHelpers.time.setNextBlockTimestamp(supersededAt + DAY - 1n);
    await settlement.write.settleBatch([[await signVoucher(payer, domain, { ...channel, cumulativeAmount: UNIT })], NO_ROOT, 0n, ""], {
      account: node.account,
    });
    expect(await settlement.read.redeemedOf([channel.payer, channel.node, MODEL_A.id])).to.equal(UNIT);
    const late = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 2n * UNIT });
    await viem.assertions.emitWithArgs(
      settlement.write.settleBatch([[late], NO_ROOT, 0n, ""], { account: node.account }),
      settlement,
      "VoucherSkipped",
      [2n, channel.payer, MODEL_A.id, 2n * UNIT, SKIP.termsSuperseded],
    );
    expect(await settlement.read.redeemedOf([channel.payer, channel.node, MODEL_A.id])).to.equal(UNIT);
  });

  it("pays earnings and protocol fees out", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, pools, token, node, modelOwner, governance, outsider } = ctx;
    const vouchers = await twoVouchers(ctx, 10n * UNIT, 10n * UNIT);
    await settlement.write.settleBatch([vouchers, NO_ROOT, 0n, ""], {
      account: node.account,
    });
    const split = expectedSplit(20n * UNIT, PROTOCOL_FEE_BPS, MODEL_A.ownerBps, MODEL_A.contributorBps);
    await viem.assertions.emitWithArgs(
      settlement.write.withdrawEarnings({ account: modelOwner.account }),
      settlement,
      "EarningsWithdrawn",
      [modelOwner.account.address, split.owner],
    );
    expect(await token.read.balanceOf([modelOwner.account.address])).to.equal(split.owner);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.withdrawEarnings({ account: modelOwner.account }),
      settlement,
      "NoEarnings",
      [modelOwner.account.address],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.collectProtocolFees([outsider.account.address], { account: outsider.account }),
      settlement,
      "OwnableUnauthorizedAccount",
      [outsider.account.address],
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.collectProtocolFees([zeroAddress], { account: governance.account }),
      settlement,
      "ZeroAddress",
    );
    await viem.assertions.emitWithArgs(
      settlement.write.collectProtocolFees([outsider.account.address], { account: governance.account }),
      settlement,
      "ProtocolFeesCollected",
      [outsider.account.address, split.protocolFee],
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.collectProtocolFees([outsider.account.address], { account: governance.account }),
      settlement,
      "ZeroAmount",
    );
  });

  it("lets governance set the protocol fee up to 10 %", async () => {
    const { settlement, pools, governance, outsider } = await networkHelpers.loadFixture(deploy);
    await viem.assertions.emitWithArgs(
      settlement.write.setProtocolFeeBps([1_000n], { account: governance.account }),
      settlement,
      "ProtocolFeeUpdated",
      [PROTOCOL_FEE_BPS, 1_000n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.setProtocolFeeBps([1_001n], { account: governance.account }),
      settlement,
      "ProtocolFeeTooHigh",
      [1_001n, 1_000n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.setProtocolFeeBps([0n], { account: outsider.account }),
      settlement,
      "OwnableUnauthorizedAccount",
      [outsider.account.address],
    );
  });

  it("rejects an inactive node, an empty batch and an inconsistent credit commitment", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, pools, node, outsider } = ctx;
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.settleBatch([[], SOME_ROOT, 0n, "cid"], { account: outsider.account }),
      settlement,
      "NodeNotActive",
      [outsider.account.address],
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.settleBatch([[], NO_ROOT, 0n, ""], { account: node.account }),
      settlement,
      "EmptyBatch",
    );
    const vouchers = await twoVouchers(ctx, UNIT, UNIT);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.settleBatch([vouchers, NO_ROOT, 1n, ""], { account: node.account }),
      settlement,
      "CreditCommitmentInvalid",
      [NO_ROOT, 1n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.settleBatch([vouchers, SOME_ROOT, 1n, ""], { account: node.account }),
      settlement,
      "CreditCommitmentInvalid",
      [SOME_ROOT, 1n],
    );
  });

  it("accepts a root-only batch", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const vouchers = await twoVouchers(ctx, 10n * UNIT, 10n * UNIT);
    await ctx.settlement.write.settleBatch(
      [vouchers, NO_ROOT, 0n, ""],
      { account: ctx.node.account },
    );
    const [, , , pool] = await ctx.pools.read.creditsOf([ctx.node.account.address]);
    const now = BigInt(await networkHelpers.time.latest());
    await viem.assertions.emitWithArgs(
      ctx.settlement.write.settleBatch([[], SOME_ROOT, pool, "bafy-records"], { account: ctx.node.account }),
      ctx.settlement,
      "BatchSettled",
      [2n, ctx.node.account.address, SOME_ROOT, 0n, 0n, 0n, pool, now + 1n + DAY, "bafy-records"],
    );
  });

  it("skips a voucher signed for another Settlement instance", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const twin = await viem.deployContract("Settlement", [
      settlementParams({
        token: ctx.token.address, nodes: ctx.nodes.address, models: ctx.models.address,
        governance: ctx.governance.account.address, arbiter: ctx.arbiter.account.address,
      }),
    ]);
    await ctx.token.write.approve([twin.address, 10n * UNIT], { account: ctx.payer.account });
    await twin.write.deposit([10n * UNIT], { account: ctx.payer.account });
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: ctx.node.account.address,
      cumulativeAmount: UNIT,
    });
    await viem.assertions.emitWithArgs(
      twin.write.settleBatch([[voucher], NO_ROOT, 0n, ""], { account: ctx.node.account }),
      twin,
      "VoucherSkipped",
      [1n, ctx.payer.account.address, MODEL_A.id, UNIT, SKIP.signerNotAuthorized],
    );
    expect(await twin.read.escrowBalanceOf([ctx.payer.account.address])).to.equal(10n * UNIT);
  });

  it("validates deployment parameters", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const params = settlementParams({
      token: ctx.token.address, nodes: ctx.nodes.address, models: ctx.models.address,
      governance: ctx.governance.account.address, arbiter: ctx.arbiter.account.address,
    });
    for (const broken of [
      { ...params, token: zeroAddress },
      { ...params, nodes: zeroAddress },
      { ...params, models: zeroAddress },
      { ...params, arbiter: zeroAddress },
    ]) {
      await viem.assertions.revertWithCustomError(viem.deployContract("Settlement", [broken]), ctx.settlement, "ZeroAddress");
    }
    await viem.assertions.revertWithCustomErrorWithArgs(
      viem.deployContract("Settlement", [{ ...params, protocolFeeBps: 1_001n }]),
      ctx.settlement,
      "ProtocolFeeTooHigh",
      [1_001n, 1_000n],
    );
  });
});
