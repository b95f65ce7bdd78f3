import { expect } from "chai";
import { network } from "hardhat";
import { DAY, PAYER_DEPOSIT, UNIT, deploySettlement } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);

describe("Settlement escrow", () => {
  it("credits deposits and deposits made for another payer", async () => {
    const { settlement, token, payer, outsider } = await networkHelpers.loadFixture(deploy);
    await viem.assertions.emitWithArgs(
      settlement.write.deposit([5n * UNIT], { account: payer.account }),
      settlement,
      "Deposited",
      [payer.account.address, payer.account.address, 5n * UNIT],
    );
    await viem.assertions.emitWithArgs(
      settlement.write.depositFor([outsider.account.address, 3n * UNIT], { account: payer.account }),
      settlement,
      "Deposited",
      [outsider.account.address, payer.account.address, 3n * UNIT],
    );
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT + 5n * UNIT);
    expect(await settlement.read.escrowBalanceOf([outsider.account.address])).to.equal(3n * UNIT);
    expect(await token.read.balanceOf([settlement.address])).to.equal(2n * PAYER_DEPOSIT + 8n * UNIT);
  });

  it("rejects zero deposits and deposits for the zero address", async () => {
    const { settlement, payer } = await networkHelpers.loadFixture(deploy);
    await viem.assertions.revertWithCustomError(
      settlement.write.deposit([0n], { account: payer.account }),
      settlement,
      "ZeroAmount",
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.depositFor(["0x0000000000000000000000000000000000000000", 1n], { account: payer.account }),
      settlement,
      "ZeroAddress",
    );
  });

  it("withdraws only after the delay", async () => {
    const { settlement, token, payer } = await networkHelpers.loadFixture(deploy);
    const amount = 400n * UNIT;
    const requestedAt = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(requestedAt);
    await viem.assertions.emitWithArgs(
      settlement.write.requestWithdrawal([amount], { account: payer.account }),
      settlement,
      "WithdrawalRequested",
      [payer.account.address, amount, requestedAt + DAY],
    );
    expect(await settlement.read.withdrawalRequestOf([payer.account.address])).to.deep.equal([amount, requestedAt + DAY]);
    await networkHelpers.time.setNextBlockTimestamp(requestedAt + 10n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.withdraw({ account: payer.account }),
      settlement,
      "WithdrawalNotYetAvailable",
      [payer.account.address, requestedAt + DAY, requestedAt + 10n],
    );
    await networkHelpers.time.increaseTo(requestedAt + DAY);
    const before = await token.read.balanceOf([payer.account.address]);
    await viem.assertions.emitWithArgs(
      settlement.write.withdraw({ account: payer.account }),
      settlement,
      "Withdrawn",
      [payer.account.address, amount],
    );
    expect((await token.read.balanceOf([payer.account.address])) - before).to.equal(amount);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - amount);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.withdraw({ account: payer.account }),
      settlement,
      "NoWithdrawalRequest",
      [payer.account.address],
    );
  });

  it("rejects withdrawal requests of zero or above the balance", async () => {
    const { settlement, payer } = await networkHelpers.loadFixture(deploy);
    await viem.assertions.revertWithCustomError(
      settlement.write.requestWithdrawal([0n], { account: payer.account }),
      settlement,
      "ZeroAmount",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestWithdrawal([PAYER_DEPOSIT + 1n], { account: payer.account }),
      settlement,
      "InsufficientEscrow",
      [payer.account.address, PAYER_DEPOSIT, PAYER_DEPOSIT + 1n],
    );
  });

  it("cancels a pending request and refuses to cancel none", async () => {
    const { settlement, payer } = await networkHelpers.loadFixture(deploy);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.cancelWithdrawal({ account: payer.account }),
      settlement,
      "NoWithdrawalRequest",
      [payer.account.address],
    );
    await settlement.write.requestWithdrawal([UNIT], { account: payer.account });
    await viem.assertions.emitWithArgs(
      settlement.write.cancelWithdrawal({ account: payer.account }),
      settlement,
      "WithdrawalCancelled",
      [payer.account.address],
    );
    expect(await settlement.read.withdrawalRequestOf([payer.account.address])).to.deep.equal([0n, 0n]);
  });
});
