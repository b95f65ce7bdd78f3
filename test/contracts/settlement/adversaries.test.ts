// Attacks on the payment paths (issue 7, "every party is an adversary"), each against the real registries
// (TributaryToken, NodeRegistry with staked nodes, ModelRegistry with models minted by training jobs) wired to a
// real Settlement. Each test failed on the Settlement before the fix it names.
import { expect } from "chai";
import { network } from "hardhat";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEFAULT_SPLIT, deployProtocol } from "../models/protocolFixture.ts";
import { DAY, HOUR, PROTOCOL_FEE_BPS, SKIP, UNIT, expectedSplit, settlementParams, signVoucher, type SignedVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const NO_ROOT = ("0x" + "00".repeat(32)) as `0x${string}`;
const ARTIFACTS = { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: "bafy-attribution" };
const DEPOSIT = 100n * UNIT;
const [MODEL_1, MODEL_2] = [1n, 2n];

/** The protocol with two models trained by nodeA (model 1 owned by the requester, model 2 by `stranger`) and a payer with escrow. */
async function deployLive() {
  const protocol = await deployProtocol(viem);
  const { token, models, nodes, governance, requester, nodeA, stranger } = protocol;
  const settlement = await viem.deployContract("Settlement", [
    settlementParams({
      token: token.address, nodes: nodes.address, models: models.address,
      governance: governance.account.address, arbiter: governance.account.address,
    }),
  ]);
  for (const modelId of [MODEL_1, MODEL_2]) {
    const deadline = BigInt(await networkHelpers.time.latest()) + 10n * HOUR;
    await models.write.createJob([{ datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-h", fee: UNIT, deadline }], {
      account: requester.account,
    });
    await models.write.claimJob([modelId], { account: nodeA.account });
    await models.write.submitResult([modelId, ARTIFACTS], { account: nodeA.account });
  }
  await models.write.transferFrom([requester.account.address, stranger.account.address, MODEL_2], { account: requester.account });
  const wallets = await viem.getWalletClients();
  const [payer, payer2] = [wallets[5], wallets[6]];
  for (const who of [payer, payer2]) {
    await token.write.transfer([who.account.address, 1_000n * UNIT]);
    await token.write.approve([settlement.address, 2n ** 256n - 1n], { account: who.account });
  }
  const pools = await viem.getContractAt("ContributorPools", await settlement.read.contributorPools());
  await settlement.write.deposit([DEPOSIT], { account: payer.account });
  const domain = { chainId: await protocol.publicClient.getChainId(), verifyingContract: settlement.address };
  const settle = (node: typeof nodeA, vouchers: SignedVoucher[]) =>
    settlement.write.settleBatch([vouchers, NO_ROOT, 0n, ""], { account: node.account });
  return { ...protocol, settlement, pools, payer, payer2, domain, settle, modelOwner: requester };
}
type Live = Awaited<ReturnType<typeof deployLive>>;

const voucherFor = (ctx: Live, node: Live["nodeA"], cumulativeAmount: bigint, modelId = MODEL_1, termsVersion = 1n) =>
  signVoucher(ctx.payer, ctx.domain, { payer: ctx.payer.account.address, node: node.account.address, modelId, termsVersion, cumulativeAmount });

describe("Settlement under adversaries (real registries)", () => {
  describe("1. a node that served can always redeem", () => {
    it("a payer cannot move its escrow out of a voucher's reach: channels and on-chain fees come from the wallet", async () => {
      const ctx = await networkHelpers.loadFixture(deployLive);
      const { settlement, pools, token, payer, nodeA } = ctx;
      const served = await voucherFor(ctx, nodeA, 60n * UNIT);
      // The attack: park the escrow in a throwaway channel and in an on-chain request, and ask to withdraw it all.
      const throwaway = privateKeyToAccount(generatePrivateKey()).address;
      await settlement.write.requestWithdrawal([DEPOSIT], { account: payer.account });
      await settlement.write.fundChannel([payer.account.address, throwaway, MODEL_1, DEPOSIT], { account: payer.account });
      await settlement.write.requestInference([MODEL_1, nodeA.account.address, "bafy-prompt", 1n, DEPOSIT], { account: payer.account });
      expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(DEPOSIT);
      await settlement.write.requestChannelRelease([throwaway, MODEL_1, DEPOSIT], { account: payer.account });

      await ctx.settle(nodeA, [served]);
      expect(await settlement.read.redeemedOf([payer.account.address, nodeA.account.address, MODEL_1])).to.equal(60n * UNIT);
      await networkHelpers.time.increase(DAY);
      await settlement.write.releaseChannel([throwaway, MODEL_1], { account: payer.account });
      const wallet = await token.read.balanceOf([payer.account.address]);
      await viem.assertions.emitWithArgs(settlement.write.withdraw({ account: payer.account }), settlement, "Withdrawn", [
        payer.account.address,
        DEPOSIT,
      ]);
      // Escrow was 40 after the node's 60, plus the 100 released from the throwaway channel: the payer withdrew
      // 100 of that and 40 stay. The node's 60 never left its reach.
      expect((await token.read.balanceOf([payer.account.address])) - wallet).to.equal(DEPOSIT);
      expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(40n * UNIT);
    });

    it("one short voucher does not make the batch revert: it is skipped and the others settle", async () => {
      const ctx = await networkHelpers.loadFixture(deployLive);
      const { settlement, pools, payer2, nodeA } = ctx;
      const short = await signVoucher(payer2, ctx.domain, { payer: payer2.account.address, node: nodeA.account.address, modelId: MODEL_1, termsVersion: 1n, cumulativeAmount: UNIT });
      const good = await voucherFor(ctx, nodeA, 10n * UNIT);
      await viem.assertions.emitWithArgs(ctx.settle(nodeA, [short, good]), settlement, "VoucherSkipped", [
        1n,
        payer2.account.address,
        MODEL_1,
        UNIT,
        SKIP.insufficientFunds,
      ]);
      const split = expectedSplit(10n * UNIT, PROTOCOL_FEE_BPS, DEFAULT_SPLIT.ownerBps, DEFAULT_SPLIT.contributorBps);
      expect(await settlement.read.earningsOf([nodeA.account.address])).to.equal(split.node);
    });
  });

  it("2. revenue goes to the model the payer paid for: the node cannot book it to another model", async () => {
    const ctx = await networkHelpers.loadFixture(deployLive);
    const { settlement, pools, nodeA, modelOwner, stranger } = ctx;
    const paidForModel1 = await voucherFor(ctx, nodeA, 10n * UNIT, MODEL_1);
    const rebooked = { ...paidForModel1, modelId: MODEL_2 };
    await viem.assertions.emitWithArgs(ctx.settle(nodeA, [rebooked]), settlement, "VoucherSkipped", [
      1n,
      ctx.payer.account.address,
      MODEL_2,
      10n * UNIT,
      SKIP.signerNotAuthorized,
    ]);
    await ctx.settle(nodeA, [paidForModel1]);
    const split = expectedSplit(10n * UNIT, PROTOCOL_FEE_BPS, DEFAULT_SPLIT.ownerBps, DEFAULT_SPLIT.contributorBps);
    expect(await settlement.read.earningsOf([modelOwner.account.address])).to.equal(split.owner);
    expect(await settlement.read.earningsOf([stranger.account.address])).to.equal(0n);
  });

  it("3. terms cannot change under work already done: a front-run 100 % owner split does not apply", async () => {
    const ctx = await networkHelpers.loadFixture(deployLive);
    const { settlement, pools, models, nodeA, modelOwner } = ctx;
    const [, version] = await models.read.modelTerms([MODEL_1]);
    const served = await voucherFor(ctx, nodeA, 10n * UNIT, MODEL_1, version);
    await models.write.setRevenueSplit([MODEL_1, { ownerBps: 10_000, contributorBps: 0, nodeBps: 0 }], { account: modelOwner.account });
    await ctx.settle(nodeA, [served]);
    const split = expectedSplit(10n * UNIT, PROTOCOL_FEE_BPS, DEFAULT_SPLIT.ownerBps, DEFAULT_SPLIT.contributorBps);
    expect(await settlement.read.earningsOf([nodeA.account.address])).to.equal(split.node);
    expect(await settlement.read.earningsOf([modelOwner.account.address])).to.equal(split.owner);
    const [, , , pool] = await pools.read.creditsOf([nodeA.account.address]);
    expect(pool).to.equal(split.contributors);
  });

  it("4. a leaked session key loses at most its cap, however many nodes and models redeem its vouchers", async () => {
    const ctx = await networkHelpers.loadFixture(deployLive);
    const { settlement, pools, payer, nodeA, nodeB } = ctx;
    const thief = privateKeyToAccount(generatePrivateKey());
    const cap = 10n * UNIT;
    await settlement.write.authorizeSessionKey([thief.address, cap, BigInt(await networkHelpers.time.latest()) + DAY], { account: payer.account });
    for (const [node, modelId] of [[nodeA, MODEL_1], [nodeB, MODEL_1], [nodeA, MODEL_2], [nodeB, MODEL_2]] as const) {
      const voucher = await signVoucher(thief, ctx.domain, { payer: payer.account.address, node: node.account.address, modelId, termsVersion: 1n, cumulativeAmount: cap });
      await ctx.settle(node, [voucher]);
    }
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(DEPOSIT - cap);
  });
});
