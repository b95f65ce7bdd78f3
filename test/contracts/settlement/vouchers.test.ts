import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DAY, HOUR, MODEL_A, PAYER_DEPOSIT, UNIT, deploySettlement, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);
const NO_ROOT = "0x0000000000000000000000000000000000000000000000000000000000000000";

describe("Settlement vouchers", () => {
  async function settleOne(ctx: Awaited<ReturnType<typeof deploy>>, voucher: Parameters<typeof ctx.settlement.write.settleBatch>[0][0][number], revenue: bigint) {
    return ctx.settlement.write.settleBatch([[voucher], [{ modelId: MODEL_A.id, amount: revenue }], NO_ROOT, 0n, ""], {
      account: ctx.node.account,
    });
  }

  it("redeems the payer's voucher and only the increment of a later one", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    const first = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 10n * UNIT });
    await settleOne(ctx, first, 10n * UNIT);
    expect(await settlement.read.redeemedOf([payer.account.address, node.account.address])).to.equal(10n * UNIT);
    const second = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 25n * UNIT });
    await viem.assertions.emitWithArgs(settleOne(ctx, second, 15n * UNIT), settlement, "BatchSettled", [
      2n,
      node.account.address,
      NO_ROOT,
      1n,
      15n * UNIT,
      anyValue,
      0n,
      0n,
      "",
    ]);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 25n * UNIT);
  });

  it("pays nothing for a replayed or stale voucher", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    const older = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 5n * UNIT });
    const latest = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 8n * UNIT });
    await settleOne(ctx, latest, 8n * UNIT);
    await viem.assertions.revertWithCustomErrorWithArgs(settleOne(ctx, latest, 8n * UNIT), settlement, "RevenueMismatch", [
      8n * UNIT,
      0n,
    ]);
    await settlement.write.settleBatch([[latest, older], [], NO_ROOT, 0n, ""], { account: node.account });
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 8n * UNIT);
  });

  it("rejects a voucher signed for another chain, another contract or another channel", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, payer2, node, outsider } = ctx;
    const message = { payer: payer.account.address, node: node.account.address, cumulativeAmount: UNIT };
    const otherChain = await signVoucher(payer, { ...domain, chainId: domain.chainId + 1 }, message);
    const otherContract = await signVoucher(payer, { ...domain, verifyingContract: ctx.token.address }, message);
    const otherNode = await signVoucher(payer, domain, { ...message, node: outsider.account.address });
    const otherPayerClaimed = { ...(await signVoucher(payer, domain, message)), payer: payer2.account.address };
    for (const voucher of [otherChain, otherContract, otherNode, otherPayerClaimed]) {
      await viem.assertions.revertWithCustomErrorWithArgs(settleOne(ctx, voucher, UNIT), settlement, "VoucherSignerNotAuthorized", [
        voucher.payer,
        anyValue,
      ]);
    }
  });

  it("rejects a malformed or malleable signature", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: ctx.node.account.address,
      cumulativeAmount: UNIT,
    });
    const broken = { ...voucher, r: "0x0000000000000000000000000000000000000000000000000000000000000000" as const };
    await viem.assertions.revertWithCustomError(settleOne(ctx, broken, UNIT), ctx.settlement, "ECDSAInvalidSignature");
    // An s in the upper half of the curve order is the malleable twin of a valid signature.
    const highS = `0x7${"f".repeat(63)}` as const;
    await viem.assertions.revertWithCustomErrorWithArgs(
      settleOne(ctx, { ...voucher, yParityAndS: highS }, UNIT),
      ctx.settlement,
      "ECDSAInvalidSignatureS",
      [highS],
    );
  });

  it("rejects a voucher above the payer's escrow", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const amount = PAYER_DEPOSIT + 1n;
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: ctx.node.account.address,
      cumulativeAmount: amount,
    });
    await viem.assertions.revertWithCustomErrorWithArgs(settleOne(ctx, voucher, amount), ctx.settlement, "InsufficientEscrow", [
      ctx.payer.account.address,
      PAYER_DEPOSIT,
      amount,
    ]);
  });

  it("lets vouchers draw the escrow down during a withdrawal delay", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    await settlement.write.requestWithdrawal([PAYER_DEPOSIT], { account: payer.account });
    const voucher = await signVoucher(payer, domain, {
      payer: payer.account.address,
      node: node.account.address,
      cumulativeAmount: 300n * UNIT,
    });
    await settleOne(ctx, voucher, 300n * UNIT);
    await networkHelpers.time.increase(DAY);
    await viem.assertions.emitWithArgs(settlement.write.withdraw({ account: payer.account }), settlement, "Withdrawn", [
      payer.account.address,
      PAYER_DEPOSIT - 300n * UNIT,
    ]);
  });

  describe("session keys", () => {
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    const CAP = 50n * UNIT;

    async function withSessionKey() {
      const ctx = await networkHelpers.loadFixture(deploy);
      const expiresAt = BigInt(await networkHelpers.time.latest()) + HOUR;
      await ctx.settlement.write.authorizeSessionKey([sessionKey.address, CAP, expiresAt], { account: ctx.payer.account });
      const sign = (cumulativeAmount: bigint) =>
        signVoucher(sessionKey, ctx.domain, {
          payer: ctx.payer.account.address,
          node: ctx.node.account.address,
          cumulativeAmount,
        });
      return { ...ctx, expiresAt, sign };
    }

    it("authorizes a key and redeems its voucher up to the cap", async () => {
      const ctx = await networkHelpers.loadFixture(deploy);
      const expiresAt = BigInt(await networkHelpers.time.latest()) + HOUR;
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.authorizeSessionKey([sessionKey.address, CAP, expiresAt], { account: ctx.payer.account }),
        ctx.settlement,
        "SessionKeyAuthorized",
        [ctx.payer.account.address, sessionKey.address, CAP, expiresAt],
      );
      expect(await ctx.settlement.read.sessionKeyOf([ctx.payer.account.address, sessionKey.address])).to.deep.equal([
        CAP,
        expiresAt,
      ]);
      const voucher = await signVoucher(sessionKey, ctx.domain, {
        payer: ctx.payer.account.address,
        node: ctx.node.account.address,
        cumulativeAmount: CAP,
      });
      await settleOne(ctx, voucher, CAP);
      expect(await ctx.settlement.read.redeemedOf([ctx.payer.account.address, ctx.node.account.address])).to.equal(CAP);
    });

    it("rejects a voucher above the key's cap", async () => {
      const ctx = await withSessionKey();
      await viem.assertions.revertWithCustomErrorWithArgs(
        settleOne(ctx, await ctx.sign(CAP + 1n), CAP + 1n),
        ctx.settlement,
        "SessionKeyCapExceeded",
        [ctx.payer.account.address, sessionKey.address, CAP, CAP + 1n],
      );
    });

    it("rejects a voucher from an expired key", async () => {
      const ctx = await withSessionKey();
      await networkHelpers.time.increaseTo(ctx.expiresAt);
      await viem.assertions.revertWithCustomErrorWithArgs(
        settleOne(ctx, await ctx.sign(UNIT), UNIT),
        ctx.settlement,
        "SessionKeyExpired",
        [ctx.payer.account.address, sessionKey.address, ctx.expiresAt],
      );
    });

    it("rejects a voucher from a revoked key", async () => {
      const ctx = await withSessionKey();
      const voucher = await ctx.sign(UNIT);
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.revokeSessionKey([sessionKey.address], { account: ctx.payer.account }),
        ctx.settlement,
        "SessionKeyRevoked",
        [ctx.payer.account.address, sessionKey.address],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(settleOne(ctx, voucher, UNIT), ctx.settlement, "VoucherSignerNotAuthorized", [
        ctx.payer.account.address,
        sessionKey.address,
      ]);
    });

    it("rejects a key of another payer", async () => {
      const ctx = await withSessionKey();
      const voucher = await signVoucher(sessionKey, ctx.domain, {
        payer: ctx.payer2.account.address,
        node: ctx.node.account.address,
        cumulativeAmount: UNIT,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(settleOne(ctx, voucher, UNIT), ctx.settlement, "VoucherSignerNotAuthorized", [
        ctx.payer2.account.address,
        sessionKey.address,
      ]);
    });

    it("validates authorizations and revocations", async () => {
      const { settlement, payer } = await networkHelpers.loadFixture(deploy);
      const now = BigInt(await networkHelpers.time.latest());
      const as = { account: payer.account };
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.authorizeSessionKey([payer.account.address, CAP, now + HOUR], as),
        settlement,
        "SessionKeyInvalid",
        [payer.account.address],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.authorizeSessionKey(["0x0000000000000000000000000000000000000000", CAP, now + HOUR], as),
        settlement,
        "SessionKeyInvalid",
        ["0x0000000000000000000000000000000000000000"],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.authorizeSessionKey([sessionKey.address, 0n, now + HOUR], as),
        settlement,
        "SessionKeyCapInvalid",
        [0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.authorizeSessionKey([sessionKey.address, 2n ** 128n, now + HOUR], as),
        settlement,
        "SessionKeyCapInvalid",
        [2n ** 128n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.authorizeSessionKey([sessionKey.address, CAP, 2n ** 64n], as),
        settlement,
        "SessionKeyExpiryInvalid",
        [2n ** 64n, anyValue],
      );
      await networkHelpers.time.setNextBlockTimestamp(now + 5n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.authorizeSessionKey([sessionKey.address, CAP, now + 5n], as),
        settlement,
        "SessionKeyExpiryInvalid",
        [now + 5n, now + 5n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.revokeSessionKey([sessionKey.address], as),
        settlement,
        "SessionKeyNotFound",
        [payer.account.address, sessionKey.address],
      );
    });
  });

  it("exposes the digest a wallet signs", async () => {
    const { settlement, domain, payer, node } = await networkHelpers.loadFixture(deploy);
    const { hashTypedData, keccak256, toHex } = await import("viem");
    expect(await settlement.read.VOUCHER_TYPEHASH()).to.equal(
      keccak256(toHex("Voucher(address payer,address node,uint256 cumulativeAmount)")),
    );
    const message = { payer: payer.account.address, node: node.account.address, cumulativeAmount: 7n };
    expect(await settlement.read.voucherDigest([message.payer, message.node, message.cumulativeAmount])).to.equal(
      hashTypedData({
        domain: { name: "Tributary", version: "1", ...domain },
        types: { Voucher: [
          { name: "payer", type: "address" },
          { name: "node", type: "address" },
          { name: "cumulativeAmount", type: "uint256" },
        ] },
        primaryType: "Voucher",
        message,
      }),
    );
  });
});
