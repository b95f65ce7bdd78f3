import { expect } from "chai";
import { network } from "hardhat";
import { HOUR, MODEL_A, MODEL_B, PAYER_DEPOSIT, PROTOCOL_FEE_BPS, UNIT, deploySettlement, expectedSplit } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const deploy = () => deploySettlement(viem);
const STATUS = { none: 0, open: 1, served: 2, refunded: 3 } as const;

describe("Settlement on-chain inference", () => {
  it("takes the fee from the wallet, not the escrow, and splits it when an active node serves the request", async () => {
    const { settlement, pools, token, payer, node, modelOwner } = await networkHelpers.loadFixture(deploy);
    const walletBefore = await token.read.balanceOf([payer.account.address]);
    const fee = 3n * UNIT;
    const maxTokens = 1_500n; // price 2 per 1k tokens -> minimum fee 3
    const expiresAt = BigInt(await networkHelpers.time.latest()) + 1n + HOUR;
    await networkHelpers.time.setNextBlockTimestamp(expiresAt - HOUR);
    await viem.assertions.emitWithArgs(
      settlement.write.requestInference([MODEL_A.id, node.account.address, "bafy-prompt", maxTokens, fee], { account: payer.account }),
      settlement,
      "InferenceRequested",
      [1n, payer.account.address, node.account.address, MODEL_A.id, "bafy-prompt", maxTokens, fee, expiresAt],
    );
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT);
    expect(walletBefore - (await token.read.balanceOf([payer.account.address]))).to.equal(fee);
    await viem.assertions.emitWithArgs(
      settlement.write.serveInference([1n, "bafy-result"], { account: node.account }),
      settlement,
      "InferenceServed",
      [1n, node.account.address, "bafy-result"],
    );
    const split = expectedSplit(fee, PROTOCOL_FEE_BPS, MODEL_A.ownerBps, MODEL_A.contributorBps);
    expect(await settlement.read.earningsOf([node.account.address])).to.equal(split.node);
    expect(await settlement.read.earningsOf([modelOwner.account.address])).to.equal(split.owner);
    const [, , , pool] = await pools.read.creditsOf([node.account.address]);
    expect(pool).to.equal(split.contributors);
    const [requester, modelId, storedFee, , status, servedBy] = await settlement.read.inferenceRequestOf([1n]);
    expect([requester.toLowerCase(), modelId, storedFee, status, servedBy.toLowerCase()]).to.deep.equal([
      payer.account.address.toLowerCase(),
      MODEL_A.id,
      fee,
      STATUS.served,
      node.account.address.toLowerCase(),
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.serveInference([1n, "again"], { account: node.account }),
      settlement,
      "InferenceRequestNotOpen",
      [1n, STATUS.served],
    );
  });

  it("refunds an unserved request to the wallet after the timeout, and only then", async () => {
    const { settlement, pools, token, payer, node, outsider } = await networkHelpers.loadFixture(deploy);
    const walletBefore = await token.read.balanceOf([payer.account.address]);
    await settlement.write.requestInference([MODEL_B.id, node.account.address, "bafy-prompt", 10n, UNIT], { account: payer.account });
    const [, , , expiresAt] = await settlement.read.inferenceRequestOf([1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.refundInference([1n], { account: outsider.account }),
      settlement,
      "InferenceRequestNotExpired",
      [1n, expiresAt],
    );
    await networkHelpers.time.increaseTo(expiresAt);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.serveInference([1n, "late"], { account: node.account }),
      settlement,
      "InferenceRequestExpired",
      [1n, expiresAt],
    );
    await viem.assertions.emitWithArgs(
      settlement.write.refundInference([1n], { account: outsider.account }),
      settlement,
      "InferenceRefunded",
      [1n, payer.account.address, UNIT],
    );
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.equal(PAYER_DEPOSIT);
    expect(await token.read.balanceOf([payer.account.address])).to.equal(walletBefore);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.refundInference([1n]),
      settlement,
      "InferenceRequestNotOpen",
      [1n, STATUS.refunded],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.refundInference([2n]),
      settlement,
      "InferenceRequestNotOpen",
      [2n, STATUS.none],
    );
  });

  it("rejects bad requests", async () => {
    const { settlement, pools, token, payer, node, outsider } = await networkHelpers.loadFixture(deploy);
    // The token's own ABI, to decode its allowance error (the fixture's client has the plain ERC-20 ABI).
    const tokenWithErrors = await viem.getContractAt("TestPaymentToken", token.address);
    const as = { account: payer.account };
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestInference([MODEL_A.id, outsider.account.address, "p", 10n, UNIT], as),
      settlement,
      "NodeNotActive",
      [outsider.account.address],
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.requestInference([MODEL_A.id, node.account.address, "", 10n, UNIT], as),
      settlement,
      "EmptyCid",
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.requestInference([MODEL_A.id, node.account.address, "p", 0n, UNIT], as),
      settlement,
      "MaxTokensZero",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestInference([MODEL_A.id, node.account.address, "p", 1_001n, 2n * UNIT], as),
      settlement,
      "FeeBelowModelPrice",
      [MODEL_A.id, 2n * UNIT, 2n * UNIT + 2n * 10n ** 15n],
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.requestInference([MODEL_B.id, node.account.address, "p", 10n, 0n], as),
      settlement,
      "ZeroAmount",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestInference([MODEL_B.id, node.account.address, "p", 10n, UNIT], { account: outsider.account }),
      tokenWithErrors,
      "ERC20InsufficientAllowance",
      [settlement.address, 0n, UNIT],
    );
  });

  it("serves only from an active node with a result CID", async () => {
    const { settlement, pools, payer, node, outsider } = await networkHelpers.loadFixture(deploy);
    await settlement.write.requestInference([MODEL_B.id, node.account.address, "bafy-prompt", 10n, UNIT], { account: payer.account });
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.serveInference([1n, "r"], { account: outsider.account }),
      settlement,
      "NodeNotActive",
      [outsider.account.address],
    );
    await viem.assertions.revertWithCustomError(
      settlement.write.serveInference([1n, ""], { account: node.account }),
      settlement,
      "EmptyCid",
    );
  });

  it("splits the fee by the terms version current when the request was made", async () => {
    const { settlement, pools, models, payer, node, modelOwner } = await networkHelpers.loadFixture(deploy);
    const fee = 3n * UNIT;
    await settlement.write.requestInference([MODEL_A.id, node.account.address, "bafy-prompt", 1_000n, fee], { account: payer.account });
    // The owner front-runs the node's serve with a 100 % owner split: the request keeps version 1.
    await models.write.setTerms([MODEL_A.id, modelOwner.account.address, MODEL_A.price, 10_000, 0, 0]);
    await settlement.write.serveInference([1n, "bafy-result"], { account: node.account });
    const split = expectedSplit(fee, PROTOCOL_FEE_BPS, MODEL_A.ownerBps, MODEL_A.contributorBps);
    expect(await settlement.read.earningsOf([node.account.address])).to.equal(split.node);
    expect(await settlement.read.earningsOf([modelOwner.account.address])).to.equal(split.owner);
  });

  it("rejects a model whose current terms do not sum to 100 %", async () => {
    const { settlement, pools, models, payer, node, modelOwner } = await networkHelpers.loadFixture(deploy);
    await models.write.setTerms([9n, modelOwner.account.address, 0n, 5_000, 5_000, 1]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.requestInference([9n, node.account.address, "p", 10n, UNIT], { account: payer.account }),
      settlement,
      "ModelTermsInvalid",
      [9n, modelOwner.account.address, 5_000n, 5_000n, 1n],
    );
  });
});
