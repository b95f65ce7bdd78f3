import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import config from "../../hardhat.config.ts";
import TributaryModule from "../../ignition/modules/Tributary.ts";

const root = resolve(import.meta.dirname, "../..");

/**
 * A Hardhat run exports its global options as HARDHAT_* variables (HARDHAT_COVERAGE, HARDHAT_CONFIG...) and a
 * new runtime reads them as defaults: inside `hardhat test --coverage` a runtime created plainly would build
 * instrumented artifacts. The variables are hidden while `create` resolves its options, then put back.
 */
export async function withoutParentHardhatOptions<T>(create: () => Promise<T>): Promise<T> {
  const saved = Object.entries(process.env).filter(([name]) => name.startsWith("HARDHAT_"));
  for (const [name] of saved) delete process.env[name];
  try {
    return await create();
  } finally {
    for (const [name, value] of saved) process.env[name] = value;
  }
}

/**
 * Deploys the whole protocol (ignition/modules/Tributary.ts: test token, registries, Settlement, the Settlement's
 * SLASHER_ROLE) to the chain at `rpcUrl`, the way `npm start` does.
 *
 * It runs in its own Hardhat runtime built from hardhat.config.ts, whatever runtime the caller has: it first
 * builds the production artifacts (a no-op when they are current) and deploys those, never a coverage build's
 * instrumented bytecode. `deploymentId` names Ignition's journal (ignition/deployments/<id>); the journal is
 * dropped first, because a freshly started chain holds none of a previous run's contracts (`--reset`).
 */
export async function deployProtocol(rpcUrl: string, deploymentId: string) {
  const configPath = resolve(root, "hardhat.config.ts");
  const hre = await withoutParentHardhatOptions(() => createHardhatRuntimeEnvironment(config, { config: configPath }, root));
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
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
  };
  return { connection, contracts, deployer: deployer.account.address, addresses };
}
