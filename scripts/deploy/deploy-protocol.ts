import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import TributaryModule from "../../ignition/modules/Tributary.ts";
import { productionBuild } from "./production-build.ts";

const root = resolve(import.meta.dirname, "../..");

/**
 * Deploys the whole protocol (ignition/modules/Tributary.ts: test token, registries, Settlement and the
 * ContributorPools it creates, the pools' SLASHER_ROLE and stake lock) to the chain at `rpcUrl`, the way `npm start` does, from the production artifacts (built first
 * when stale; see production-build.ts). `deploymentId` names Ignition's journal (ignition/deployments/<id>); the
 * journal is dropped first, because a freshly started chain holds none of a previous run's contracts (`--reset`).
 */
export async function deployProtocol(rpcUrl: string, deploymentId: string) {
  const hre = await productionBuild();
  await rm(resolve(root, "ignition", "deployments", deploymentId), { recursive: true, force: true });

  const connection = await hre.network.connect({ network: "localhost", override: { url: rpcUrl } });
  const contracts = await connection.ignition.deploy(TributaryModule, { deploymentId });
  const [deployer] = await connection.viem.getWalletClients();
  const addresses = {
    token: contracts.token.address,
    datanets: contracts.datanets.address,
    nodes: contracts.nodes.address,
    models: contracts.models.address,
    settlement: contracts.settlement.address,
    contributorPools: contracts.contributorPools.address,
  };
  return { connection, contracts, deployer: deployer.account.address, addresses };
}
