import { expect } from "chai";
import { network } from "hardhat";
import { zeroAddress } from "viem";
import { DAY, MODEL_A, MODEL_B, PAYER_DEPOSIT, UNIT, deploySettlement, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);
const NO_ROOT = ("0x" + "00".repeat(32)) as `0x${string}`;

describe("Settlement channel funding", () => {
  async function redeem(ctx: Awaited<ReturnType<typeof deploy>>, cumulativeAmount: bigint) {
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: ctx.node.account.address,
      cumulativeAmount,
    });
    await ctx.settlement.write.settleBatch([[voucher], NO_ROOT, 0n, ""], { account: ctx.node.account });
  }

  it("takes channel funds from the funder's wallet, never from the escrow", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, token, payer, payer2, node } = ctx;
    const walletBefore = await token.read.balanceOf([payer2.account.address]);
    await viem.assertions.emitWithArgs(
      settlement.write.fundChannel([payer.account.address, node.account.address, MODEL_A.id, 30n * UNIT], { account: payer2.account }),
      settlement,
      "ChannelFunded",
      [payer.account.address, node.account.address, MODEL_A.id, payer2.account.address, 30n * UNIT, 30n * UNIT],
    );
    expect(walletBefore - (await token.read.balanceOf([payer2.account.address]))).to.equal(30n * UNIT);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT);
    expect(await settlement.read.escrowBalanceOf([payer2.account.address])).to.equal(PAYER_DEPOSIT);
    expect(await settlement.read.channelOf([payer.account.address, node.account.address, MODEL_A.id])).to.deep.equal([0n, 30n * UNIT]);
    expect(await settlement.read.channelOf([payer.account.address, node.account.address, MODEL_B.id])).to.deep.equal([0n, 0n]);
  });

  it("pays vouchers from the channel's funds first, then from escrow", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, payer, node } = ctx;
    const channel = [payer.account.address, node.account.address, MODEL_A.id] as const;
    await settlement.write.fundChannel([...channel, 30n * UNIT], { account: payer.account });

    await redeem(ctx, 20n * UNIT);
    expect(await settlement.read.channelOf([...channel])).to.deep.equal([20n * UNIT, 10n * UNIT]);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT);

    await redeem(ctx, 45n * UNIT);
    expect(await settlement.read.channelOf([...channel])).to.deep.equal([45n * UNIT, 0n]);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 15n * UNIT);
  });

  it("returns unspent funds to escrow after the delay, less what the node redeemed meanwhile", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, payer, node } = ctx;
    const as = { account: payer.account };
    const target = [node.account.address, MODEL_A.id] as const;
    await settlement.write.fundChannel([payer.account.address, ...target, 30n * UNIT], as);
    const requestedAt = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(requestedAt);
    await viem.assertions.emitWithArgs(
      settlement.write.requestChannelRelease([...target, 30n * UNIT], as),
      settlement,
      "ChannelReleaseRequested",
      [payer.account.address, node.account.address, MODEL_A.id, 30n * UNIT, requestedAt + DAY],
    );
    expect(await settlement.read.channelReleaseRequestOf([payer.account.address, ...target])).to.deep.equal([
      30n * UNIT,
      requestedAt + DAY,
    ]);
    await redeem(ctx, 12n * UNIT);
    await viem.assertions.revertWithCustomError(settlement.write.releaseChannel([...target], as), settlement, "WithdrawalNotYetAvailable");
    await networkHelpers.time.increaseTo(requestedAt + DAY);
    await viem.assertions.emitWithArgs(settlement.write.releaseChannel([...target], as), settlement, "ChannelReleased", [
      payer.account.address,
      node.account.address,
      MODEL_A.id,
      18n * UNIT,
    ]);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT + 18n * UNIT);
    expect(await settlement.read.channelOf([payer.account.address, ...target])).to.deep.equal([12n * UNIT, 0n]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.releaseChannel([...target], as),
      settlement,
      "NoChannelReleaseRequest",
      [payer.account.address, node.account.address, MODEL_A.id],
    );
  });

  it("rejects bad funding and release requests", async () => {
    const { settlement, payer, node } = await networkHelpers.loadFixture(deploy);
    const as = { account: payer.account };
    const channel = [payer.account.address, node.account.address, MODEL_A.id] as const;
    await viem.assertions.revertWithCustomError(settlement.write.fundChannel([...channel, 0n], as), settlement, "ZeroAmount");
    await viem.assertions.revertWithCustomError(
      settlement.write.fundChannel([zeroAddress, node.account.address, MODEL_A.id, 1n], as),
      settlement,
      "ZeroAddress",
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.fundChannel([payer.account.address, zeroAddress, MODEL_A.id, 1n], as),
      settlement,
      "ZeroAddress",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.fundChannel([...channel, 2n ** 128n], as),
      settlement,
      "SafeCastOverflowedUintDowncast",
      [128, 2n ** 128n],
    );
    await settlement.write.fundChannel([...channel, 5n], as);
    await viem.assertions.revertWithCustomError(
      settlement.write.requestChannelRelease([node.account.address, MODEL_A.id, 0n], as),
      settlement,
      "ZeroAmount",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestChannelRelease([node.account.address, MODEL_A.id, 6n], as),
      settlement,
      "InsufficientChannelFunds",
      [payer.account.address, node.account.address, MODEL_A.id, 5n, 6n],
    );
  });
});
