import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import { hashTypedData, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  DAY,
  HOUR,
  MODEL_A,
  MODEL_B,
  PAYER_DEPOSIT,
  SKIP,
  UNIT,
  VOUCHER_TYPES,
  deploySettlement,
  signVoucher,
  type SignedVoucher,
} from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);
const NO_ROOT = "0x0000000000000000000000000000000000000000000000000000000000000000";

describe("Settlement vouchers", () => {
  type Ctx = Awaited<ReturnType<typeof deploy>>;
  const settle = (ctx: Ctx, vouchers: SignedVoucher[]) =>
    ctx.settlement.write.settleBatch([vouchers, NO_ROOT, 0n, ""], { account: ctx.node.account });
  const settleOne = (ctx: Ctx, voucher: SignedVoucher) => settle(ctx, [voucher]);
  /** Settles one voucher and expects it skipped for `reason`, with an otherwise empty batch settled. */
  async function expectSkipped(ctx: Ctx, voucher: SignedVoucher, reason: number) {
    const batchId = (await ctx.settlement.read.batchCount()) + 1n;
    const write = settleOne(ctx, voucher);
    await viem.assertions.emitWithArgs(write, ctx.settlement, "VoucherSkipped", [
      batchId,
      voucher.payer,
      voucher.modelId,
      voucher.cumulativeAmount,
      reason,
    ]);
    const [, , , , redeemed] = await lastBatch(ctx);
    expect(redeemed).to.equal(0n);
  }
  async function lastBatch(ctx: Ctx) {
    const [event] = await ctx.settlement.getEvents.BatchSettled({}, { fromBlock: "latest" });
    const { batchId, node, creditRoot, voucherCount, redeemed } = event.args;
    return [batchId, node, creditRoot, voucherCount, redeemed] as const;
  }

  it("redeems the payer's voucher and only the increment of a later one", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    await settleOne(ctx, await signVoucher(payer, domain, { ...channel, cumulativeAmount: 10n * UNIT }));
    expect(await settlement.read.redeemedOf([payer.account.address, node.account.address, MODEL_A.id])).to.equal(10n * UNIT);
    const second = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 25n * UNIT });
    await viem.assertions.emitWithArgs(settleOne(ctx, second), settlement, "BatchSettled", [
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

  it("keeps one channel per model: the same payer and node redeem separately per model", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    await settle(ctx, [
      await signVoucher(payer, domain, { ...channel, modelId: MODEL_A.id, cumulativeAmount: 10n * UNIT }),
      await signVoucher(payer, domain, { ...channel, modelId: MODEL_B.id, cumulativeAmount: 4n * UNIT }),
    ]);
    expect(await settlement.read.redeemedOf([payer.account.address, node.account.address, MODEL_A.id])).to.equal(10n * UNIT);
    expect(await settlement.read.redeemedOf([payer.account.address, node.account.address, MODEL_B.id])).to.equal(4n * UNIT);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 14n * UNIT);
  });

  it("skips a replayed or stale voucher and pays nothing for it", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    const channel = { payer: payer.account.address, node: node.account.address };
    const older = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 5n * UNIT });
    const latest = await signVoucher(payer, domain, { ...channel, cumulativeAmount: 8n * UNIT });
    await settleOne(ctx, latest);
    await expectSkipped(ctx, latest, SKIP.stale);
    await expectSkipped(ctx, older, SKIP.stale);
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT - 8n * UNIT);
  });

  it("skips a voucher signed for another chain, contract, channel or model", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { domain, payer, payer2, node, outsider } = ctx;
    const message = { payer: payer.account.address, node: node.account.address, cumulativeAmount: UNIT };
    const otherChain = await signVoucher(payer, { ...domain, chainId: domain.chainId + 1 }, message);
    const otherContract = await signVoucher(payer, { ...domain, verifyingContract: ctx.token.address }, message);
    const otherNode = await signVoucher(payer, domain, { ...message, node: outsider.account.address });
    const otherPayerClaimed = { ...(await signVoucher(payer, domain, message)), payer: payer2.account.address };
    const otherModelClaimed = { ...(await signVoucher(payer, domain, message)), modelId: MODEL_B.id };
    const otherVersionClaimed = { ...(await signVoucher(payer, domain, message)), termsVersion: 2n };
    await ctx.models.write.setTerms([MODEL_A.id, ctx.modelOwner.account.address, 0n, 0, 0, 10_000]);
    for (const voucher of [otherChain, otherContract, otherNode, otherPayerClaimed, otherModelClaimed, otherVersionClaimed]) {
      await expectSkipped(ctx, voucher, SKIP.signerNotAuthorized);
    }
  });

  it("skips a malformed or malleable signature", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const voucher = await signVoucher(ctx.payer, ctx.domain, {
      payer: ctx.payer.account.address,
      node: ctx.node.account.address,
      cumulativeAmount: UNIT,
    });
    await expectSkipped(ctx, { ...voucher, r: `0x${"00".repeat(32)}` }, SKIP.invalidSignature);
    // An s in the upper half of the curve order is the malleable twin of a valid signature.
    await expectSkipped(ctx, { ...voucher, yParityAndS: `0x7${"f".repeat(63)}` }, SKIP.invalidSignature);
  });

  it("skips a voucher above the channel's funds and the payer's escrow, or beyond 128 bits", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const channel = { payer: ctx.payer.account.address, node: ctx.node.account.address };
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, cumulativeAmount: PAYER_DEPOSIT + 1n }), SKIP.insufficientFunds);
    // Escrow enough for an amount beyond the channel's 128 bits: skipped too, not a reverted batch.
    await ctx.token.write.mint([channel.payer, 2n ** 128n]);
    await ctx.settlement.write.deposit([2n ** 128n], { account: ctx.payer.account });
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, cumulativeAmount: 2n ** 128n }), SKIP.insufficientFunds);
    expect(await ctx.settlement.read.escrowBalanceOf([ctx.payer.account.address])).to.equal(PAYER_DEPOSIT + 2n ** 128n);
  });

  it("skips an unknown model or terms version without touching the channel", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const channel = { payer: ctx.payer.account.address, node: ctx.node.account.address, cumulativeAmount: UNIT };
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, modelId: 99n }), SKIP.termsUnavailable);
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, termsVersion: 0n }), SKIP.termsUnavailable);
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, termsVersion: 2n }), SKIP.termsUnavailable);
    // Terms that do not sum to 100 %, or have no owner, are unusable too.
    await ctx.models.write.setTerms([9n, ctx.modelOwner.account.address, 0n, 5_000, 5_000, 1]);
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, modelId: 9n }), SKIP.termsUnavailable);
    await ctx.models.write.setTerms([10n, "0x0000000000000000000000000000000000000000", 0n, 5_000, 5_000, 0]);
    await expectSkipped(ctx, await signVoucher(ctx.payer, ctx.domain, { ...channel, modelId: 10n }), SKIP.termsUnavailable);
    expect(await ctx.settlement.read.redeemedOf([channel.payer, channel.node, 99n])).to.equal(0n);
  });

  it("settles the good vouchers of a batch and skips the bad ones", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, payer2, node } = ctx;
    const good = await signVoucher(payer, domain, { payer: payer.account.address, node: node.account.address, cumulativeAmount: 7n * UNIT });
    const short = await signVoucher(payer2, domain, { payer: payer2.account.address, node: node.account.address, cumulativeAmount: PAYER_DEPOSIT + 1n });
    const forged = { ...good, payer: payer2.account.address };
    const write = settle(ctx, [short, good, forged]);
    await viem.assertions.emitWithArgs(write, settlement, "VoucherSkipped", [1n, payer2.account.address, MODEL_A.id, PAYER_DEPOSIT + 1n, SKIP.insufficientFunds]);
    const [, , , voucherCount, redeemed] = await lastBatch(ctx);
    expect([voucherCount, redeemed]).to.deep.equal([3n, 7n * UNIT]);
    expect(await settlement.read.escrowBalanceOf([payer2.account.address])).to.equal(PAYER_DEPOSIT);
  });

  it("lets vouchers draw the escrow down during a withdrawal delay", async () => {
    const ctx = await networkHelpers.loadFixture(deploy);
    const { settlement, domain, payer, node } = ctx;
    await settlement.write.requestWithdrawal([PAYER_DEPOSIT], { account: payer.account });
    await settleOne(ctx, await signVoucher(payer, domain, { payer: payer.account.address, node: node.account.address, cumulativeAmount: 300n * UNIT }));
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
      const sign = (cumulativeAmount: bigint, modelId = MODEL_A.id) =>
        signVoucher(sessionKey, ctx.domain, { payer: ctx.payer.account.address, node: ctx.node.account.address, modelId, cumulativeAmount });
      return { ...ctx, expiresAt, sign };
    }

    it("authorizes a key and redeems its vouchers up to the cap, counted across channels", async () => {
      const ctx = await networkHelpers.loadFixture(deploy);
      const expiresAt = BigInt(await networkHelpers.time.latest()) + HOUR;
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.authorizeSessionKey([sessionKey.address, CAP, expiresAt], { account: ctx.payer.account }),
        ctx.settlement,
        "SessionKeyAuthorized",
        [ctx.payer.account.address, sessionKey.address, CAP, expiresAt],
      );
      const sign = (cumulativeAmount: bigint, modelId: bigint) =>
        signVoucher(sessionKey, ctx.domain, { payer: ctx.payer.account.address, node: ctx.node.account.address, modelId, cumulativeAmount });
      await settle(ctx, [await sign(30n * UNIT, MODEL_A.id), await sign(20n * UNIT, MODEL_B.id)]);
      expect(await ctx.settlement.read.sessionKeyOf([ctx.payer.account.address, sessionKey.address])).to.deep.equal([CAP, CAP, expiresAt]);
      await expectSkipped(ctx, await sign(31n * UNIT, MODEL_A.id), SKIP.sessionKeyCapExceeded);
      // Re-authorizing starts a fresh budget.
      await ctx.settlement.write.authorizeSessionKey([sessionKey.address, CAP, expiresAt], { account: ctx.payer.account });
      await settleOne(ctx, await sign(31n * UNIT, MODEL_A.id));
      expect(await ctx.settlement.read.sessionKeyOf([ctx.payer.account.address, sessionKey.address])).to.deep.equal([CAP, UNIT, expiresAt]);
    });

    it("skips a voucher above the key's cap", async () => {
      const ctx = await withSessionKey();
      await expectSkipped(ctx, await ctx.sign(CAP + 1n), SKIP.sessionKeyCapExceeded);
    });

    it("skips a voucher from an expired key", async () => {
      const ctx = await withSessionKey();
      await networkHelpers.time.increaseTo(ctx.expiresAt);
      await expectSkipped(ctx, await ctx.sign(UNIT), SKIP.sessionKeyExpired);
    });

    it("skips a voucher from a revoked key", async () => {
      const ctx = await withSessionKey();
      const voucher = await ctx.sign(UNIT);
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.revokeSessionKey([sessionKey.address], { account: ctx.payer.account }),
        ctx.settlement,
        "SessionKeyRevoked",
        [ctx.payer.account.address, sessionKey.address],
      );
      await expectSkipped(ctx, voucher, SKIP.signerNotAuthorized);
    });

    it("skips a key of another payer", async () => {
      const ctx = await withSessionKey();
      const voucher = await signVoucher(sessionKey, ctx.domain, {
        payer: ctx.payer2.account.address,
        node: ctx.node.account.address,
        cumulativeAmount: UNIT,
      });
      await expectSkipped(ctx, voucher, SKIP.signerNotAuthorized);
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
        settlement.write.authorizeSessionKey([sessionKey.address, 2n ** 96n, now + HOUR], as),
        settlement,
        "SessionKeyCapInvalid",
        [2n ** 96n],
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

  it("exposes the type hash and the digest a wallet signs", async () => {
    const { settlement, domain, payer, node } = await networkHelpers.loadFixture(deploy);
    expect(await settlement.read.VOUCHER_TYPEHASH()).to.equal(
      keccak256(toHex("Voucher(address payer,address node,uint256 modelId,uint64 termsVersion,uint256 cumulativeAmount)")),
    );
    const message = { payer: payer.account.address, node: node.account.address, modelId: 3n, termsVersion: 4n, cumulativeAmount: 7n };
    expect(
      await settlement.read.voucherDigest([message.payer, message.node, message.modelId, message.termsVersion, message.cumulativeAmount]),
    ).to.equal(
      hashTypedData({ domain: { name: "Tributary", version: "1", ...domain }, types: VOUCHER_TYPES, primaryType: "Voucher", message }),
    );
  });
});
