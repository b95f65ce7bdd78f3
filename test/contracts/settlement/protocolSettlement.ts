// The whole protocol wired for attack tests that cross contracts: the real DatanetRegistry, NodeRegistry and
// ModelRegistry (from the ModelRegistry tests' fixture) and a Settlement on top of them, holding the registry's
// SLASHER_ROLE and set as its stake lock exactly as the deployment module does. No fakes.
import { parseEther } from "viem";
import { FEE, LEASE_DURATION, deployProtocol } from "../models/protocolFixture.ts";
import { PAYER_DEPOSIT, UNIT, settlementParams, type HardhatViem, type VoucherDomain } from "./fixture.ts";

export const ARTIFACTS = { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: "bafy-attribution" };
/** Model 1's price: 1 token per 1,000 generated tokens. */
export const MODEL_PRICE = UNIT;
/** Stake the Settlement slashes for an upheld challenge: half the fixture's node stake (MIN_STAKE, 100). */
export const PROTOCOL_SLASH = parseEther("50");

/**
 * Deploys the protocol and a Settlement (with its ContributorPools) on it; mints model 1 through a real training job (trained by nodeA,
 * owned by the requester, priced); funds a payer's escrow and gives the payer, challengers and a recovery
 * proposer tokens approved for the Settlement and the pools.
 */
export async function deployProtocolWithSettlement(viem: HardhatViem) {
  const protocol = await deployProtocol(viem);
  const { governance, requester, nodeA, token, nodes, models, publicClient } = protocol;
  const [arbiter, payer, alice, bob, challenger, sockPuppet, proposer] = (await viem.getWalletClients()).slice(5, 12);
  const settlement = await viem.deployContract("Settlement", [
    {
      ...settlementParams({
        token: token.address, nodes: nodes.address, models: models.address,
        governance: governance.account.address, arbiter: arbiter.account.address,
      }),
      slashAmount: PROTOCOL_SLASH,
    },
  ]);
  const pools = await viem.getContractAt("ContributorPools", await settlement.read.contributorPools());
  await nodes.write.grantRole([await nodes.read.SLASHER_ROLE(), pools.address]);
  await nodes.write.setStakeLock([pools.address]);

  const deadline = BigInt((await publicClient.getBlock()).timestamp) + 10n * LEASE_DURATION;
  await models.write.createJob(
    [{ datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: FEE, deadline }],
    { account: requester.account },
  );
  await models.write.claimJob([1n], { account: nodeA.account });
  await models.write.submitResult([1n, ARTIFACTS], { account: nodeA.account });
  await models.write.setModelPrice([1n, MODEL_PRICE], { account: requester.account });

  for (const who of [payer, challenger, sockPuppet, proposer]) {
    await token.write.transfer([who.account.address, 10n * PAYER_DEPOSIT]);
    await token.write.approve([settlement.address, 2n ** 256n - 1n], { account: who.account });
    await token.write.approve([pools.address, 2n ** 256n - 1n], { account: who.account });
  }
  await settlement.write.deposit([PAYER_DEPOSIT], { account: payer.account });
  const domain: VoucherDomain = { chainId: await publicClient.getChainId(), verifyingContract: settlement.address };
  return { ...protocol, settlement, pools, domain, arbiter, payer, alice, bob, challenger, sockPuppet, proposer };
}
