import type { NetworkConnection } from "hardhat/types/network";
import { keccak256, maxUint256, parseEther, toHex, type Hex } from "viem";

/** Lease, unbonding and split values the ModelRegistry tests are written against. */
export const LEASE_DURATION = 3600n;
export const UNBONDING_DELAY = 7n * 24n * 3600n;
export const MIN_STAKE = parseEther("100");
export const FEE = parseEther("50");
export const DEFAULT_SPLIT = { ownerBps: 5000, contributorBps: 4000, nodeBps: 1000 } as const;
export const VERSION_ROOT: Hex = keccak256(toHex("datanet-1-version-1"));

/**
 * Deploys the whole protocol on a test connection and prepares one published Datanet version, one base
 * model, two active nodes and a funded requester, so job tests start from a realistic state.
 */
export async function deployProtocol(viem: NetworkConnection["viem"]) {
  const [governance, requester, nodeA, nodeB, stranger] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const token = await viem.deployContract("TributaryToken", [governance.account.address, parseEther("1000000"), 0n, 0n]);
  const datanets = await viem.deployContract("DatanetRegistry", [token.address]);
  const nodes = await viem.deployContract("NodeRegistry", [token.address, governance.account.address, MIN_STAKE, UNBONDING_DELAY]);
  const models = await viem.deployContract("ModelRegistry", [
    token.address, datanets.address, nodes.address, governance.account.address, LEASE_DURATION, DEFAULT_SPLIT,
  ]);

  await datanets.write.createDatanet(["bafy-datanet", "CC-BY-4.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
  const digest = keccak256(toHex("contribution"));
  await datanets.write.contribute([1n, digest, 10n, "bafy-contribution", maxUint256, true]);
  await datanets.write.acceptContributions([1n, [await datanets.read.contributionIdOf([1n, digest, governance.account.address])]]);
  await datanets.write.publishVersion([1n, VERSION_ROOT, "bafy-manifest", 1, 1]);

  await models.write.registerBaseModel(["tributary-base-9m", "bafy-base", "Apache-2.0"]);

  for (const who of [requester, nodeA, nodeB]) {
    await token.write.transfer([who.account.address, parseEther("10000")]);
  }
  await token.write.approve([models.address, parseEther("10000")], { account: requester.account });
  for (const node of [nodeA, nodeB]) {
    await token.write.approve([nodes.address, MIN_STAKE], { account: node.account });
    await nodes.write.register([`peer-${node.account.address}`, "http://127.0.0.1:1", 1n, MIN_STAKE], { account: node.account });
  }
  return { governance, requester, nodeA, nodeB, stranger, publicClient, token, datanets, nodes, models };
}
