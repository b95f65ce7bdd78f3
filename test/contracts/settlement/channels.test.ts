import { expect } from "chai";
import { network } from "hardhat";
import { zeroAddress } from "viem";
import { DAY, MODEL_A, PAYER_DEPOSIT, UNIT, deploySettlement, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);
const NO_ROOT = ("0x" + "00".repeat(32)) as `0x${string}`;

describe("Settlement channel funding", () => {
  async function redeem(ctx: Awaited<ReturnType<typeof deploy>>, cumulativeAmount: bigint, revenue: bigint) {
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: ctx.node.account.address,
      cumulativeAmount,
    });
    await ctx.settlement.write.settleBatch([[voucher], [{ modelId: MODEL_A.id, amount: revenue }], NO_ROOT, 0n, ""], {
      account: ctx.node.account,
    });
  }

  it("pays vouchers from the channel's funds first, then from escrow", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, payer, node } = ctx;
    const channel = [payer.account.address, node.account.address] as const;
    await viem.assertions.emitWithArgs(
      settlement.write.fundChannel([node.account.address, 30n * UNIT], { account: payer.account }),
      settlement,
      "ChannelFunded",
      [payer.account.address, node.account.address, 30n * UNIT, 30n * UNIT],
    );
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 30n * UNIT);

    await redeem(ctx, 20n * UNIT, 20n * UNIT);
    expect(await settlement.read.channelOf([...channel])).to.deep.equal([20n * UNIT, 10n * UNIT]);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 30n * UNIT);

    await redeem(ctx, 45n * UNIT, 25n * UNIT);
    expect(await settlement.read.channelOf([...channel])).to.deep.equal([45n * UNIT, 0n]);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 45n * UNIT);
  });

  it("returns unspent funds to escrow after the delay, less what the node redeemed meanwhile", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, payer, node } = ctx;
    const as = { account: payer.account };
    await settlement.write.fundChannel([node.account.address, 30n * UNIT], as);
    const requestedAt = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(requestedAt);
    await viem.assertions.emitWithArgs(
      settlement.write.requestChannelRelease([node.account.address, 30n * UNIT], as),
      settlement,
      "ChannelReleaseRequested",
      [payer.account.address, node.account.address, 30n * UNIT, requestedAt + DAY],
    );
    expect(await settlement.read.channelReleaseRequestOf([payer.account.address, node.account.address])).to.deep.equal([
      30n * UNIT,
      requestedAt + DAY,
    ]);
    await redeem(ctx, 12n * UNIT, 12n * UNIT);
    await viem.assertions.revertWithCustomError(
      settlement.write.releaseChannel([node.account.address], as),
      settlement,
      "WithdrawalNotYetAvailable",
    );
    await networkHelpers.time.increaseTo(requestedAt + DAY);
    await viem.assertions.emitWithArgs(
      settlement.write.releaseChannel([node.account.address], as),
      settlement,
      "ChannelReleased",
      [payer.account.address, node.account.address, 18n * UNIT],
    );
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 12n * UNIT);
    expect(await settlement.read.channelOf([payer.account.address, node.account.address])).to.deep.equal([12n * UNIT, 0n]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.releaseChannel([node.account.address], as),
      settlement,
      "NoChannelReleaseRequest",
      [payer.account.address, node.account.address],
    );
  });

  it("rejects bad funding and release requests", async () => {
    const { settlement, payer, node } = await networkHelpers.loadFixture(deploy);
    const as = { account: payer.account };
    await viem.assertions.revertWithCustomError(
      settlement.write.fundChannel([node.account.address, 0n], as),
      settlement,
      "ZeroAmount",
    );
    await viem.assertions.revertWithCustomError(settlement.write.fundChannel([zeroAddress, 1n], as), settlement, "ZeroAddress");
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.fundChannel([node.account.address, PAYER_DEPOSIT + 1n], as),
      settlement,
      "InsufficientEscrow",
      [payer.account.address, PAYER_DEPOSIT, PAYER_DEPOSIT + 1n],
    );
    await settlement.write.fundChannel([node.account.address, 5n], as);
    await viem.assertions.revertWithCustomError(
      settlement.write.requestChannelRelease([node.account.address, 0n], as),
      settlement,
      "ZeroAmount",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestChannelRelease([node.account.address, 6n], as),
      settlement,
      "InsufficientChannelFunds",
      [payer.account.address, node.account.address, 5n, 6n],
    );
  });
});
