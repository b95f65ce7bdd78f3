// Attacks on the payment paths, against the real registries wired to a real Settlement (pre-fix API).
import { expect } from "chai";
import { network } from "hardhat";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { deployProtocol } from "../models/protocolFixture.ts";
import { DAY, HOUR, UNIT, settlementParams, signVoucher } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const NO_ROOT = ("0x" + "00".repeat(32)) as `0x${string}`;
const ARTIFACTS = { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: "bafy-attribution" };

async function deployLive() {
  const protocol = await deployProtocol(viem);
  const { token, models, nodes, governance, requester, nodeA, nodeB } = protocol;
  const settlement = await viem.deployContract("Settlement", [
    settlementParams({ token: token.address, nodes: nodes.address, models: models.address, governance: governance.account.address, arbiter: governance.account.address }),
  ]);
  for (const id of [1n, 2n]) {
    const deadline = BigInt(await networkHelpers.time.latest()) + 10n * HOUR;
    await models.write.createJob([{ datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "h", fee: UNIT, deadline }], { account: requester.account });
    await models.write.claimJob([id], { account: nodeA.account });
    await models.write.submitResult([id, ARTIFACTS], { account: nodeA.account });
  }
  const [, , , , , payer] = await viem.getWalletClients();
  await token.write.transfer([payer.account.address, 1_000n * UNIT]);
  await token.write.approve([settlement.address, 2n ** 256n - 1n], { account: payer.account });
  await settlement.write.deposit([100n * UNIT], { account: payer.account });
  const domain = { chainId: await protocol.publicClient.getChainId(), verifyingContract: settlement.address };
  return { ...protocol, settlement, payer, domain, modelOwner: requester, nodeA, nodeB };
}

describe("Settlement under adversaries (pre-fix)", () => {
  it("a payer cannot cycle its escrow out of a node's reach", async () => {
    const ctx = await networkHelpers.loadFixture(deployLive);
    const { settlement, payer, nodeA, domain } = ctx;
    const voucher = await signVoucher(payer, domain, { payer: payer.account.address, node: nodeA.account.address, cumulativeAmount: 60n * UNIT });
    const throwaway = privateKeyToAccount(generatePrivateKey()).address;
    await settlement.write.requestWithdrawal([100n * UNIT], { account: payer.account });
    await settlement.write.fundChannel([throwaway, 100n * UNIT], { account: payer.account });
    await settlement.write.requestChannelRelease([throwaway, 100n * UNIT], { account: payer.account });
    let redeemed = false;
    try {
      await settlement.write.settleBatch([[voucher], NO_ROOT, 0n, ""], { account: nodeA.account });
      redeemed = true;
    } catch {}
    expect(redeemed, "node redeemed its voucher").to.equal(true);
  });

  it("a model owner cannot front-run a batch with a new split", async () => {
    const ctx = await networkHelpers.loadFixture(deployLive);
    const { settlement, payer, nodeA, domain, models, modelOwner } = ctx;
    const voucher = await signVoucher(payer, domain, { payer: payer.account.address, node: nodeA.account.address, cumulativeAmount: 10n * UNIT });
    await models.write.setRevenueSplit([1n, { ownerBps: 10_000, contributorBps: 0, nodeBps: 0 }], { account: modelOwner.account });
    await settlement.write.settleBatch([[voucher], NO_ROOT, 0n, ""], { account: nodeA.account });
    expect(await settlement.read.earningsOf([nodeA.account.address])).to.be.greaterThan(0n);
  });

  it("a leaked session key loses at most its cap", async () => {
    const ctx = await networkHelpers.loadFixture(deployLive);
    const { settlement, payer, nodeA, nodeB, domain } = ctx;
    const thief = privateKeyToAccount(generatePrivateKey());
    await settlement.write.authorizeSessionKey([thief.address, 10n * UNIT, BigInt(await networkHelpers.time.latest()) + DAY], { account: payer.account });
    for (const node of [nodeA, nodeB]) {
      const voucher = await signVoucher(thief, domain, { payer: payer.account.address, node: node.account.address, cumulativeAmount: 10n * UNIT });
      try {
        await settlement.write.settleBatch([[voucher], NO_ROOT, 0n, ""], { account: node.account });
      } catch {}
    }
    expect(await settlement.read.escrowBalanceOf([payer.account.address])).to.be.greaterThanOrEqual(90n * UNIT);
  });
});
