/**
 * A local Tributary chain for development: starts `hardhat node` on 127.0.0.1, builds the production artifacts
 * and deploys the whole protocol with Ignition (a fresh deployment every time, like `ignition deploy --reset`),
 * prints the addresses, writes them to .data/local-chain.json and keeps the chain up until Ctrl-C.
 * Whatever ran before (`npm test` included: its coverage build has its own artifacts), this deploys the
 * production bytecode.
 *
 * Usage: npm run chain, or node scripts/local-chain.ts      (PORT=<port> to choose the port; default 8545, or a free one if taken)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { deployProtocol } from "./deploy/deploy-protocol.ts";
import { ChainExitedError } from "./deploy/errors.ts";
import { startHardhatNode } from "./deploy/hardhat-node.ts";
import { choosePort } from "./deploy/ports.ts";

const root = resolve(import.meta.dirname, "..");
const dataDir = resolve(root, ".data");
const logFile = resolve(dataDir, "hardhat-node.log");
const outFile = resolve(dataDir, "local-chain.json");

const port = await choosePort(process.env.PORT, 8545).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
await mkdir(dataDir, { recursive: true });

let stopping = false;
const chain = await startHardhatNode(port, logFile).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
chain.process.on("exit", (code, signal) => {
  if (stopping) return;
  console.error(new ChainExitedError(code, signal, logFile).message);
  process.exit(1);
});

async function stop(exitCode: number): Promise<never> {
  stopping = true;
  await chain.stop();
  process.exit(exitCode);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  const { deployer, addresses } = await deployProtocol(chain.rpcUrl, `chain-${chain.chainId}`);
  const deployment = {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    deployer,
    contracts: addresses,
    deployedAt: new Date().toISOString(),
  };
  await writeFile(outFile, `${JSON.stringify(deployment, null, 2)}\n`);
  console.log(`Tributary local chain ${chain.chainId} at ${chain.rpcUrl} (pid ${chain.process.pid}, log ${logFile})`);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(10)} ${address}`);
  console.log(`Addresses written to ${outFile}. Ctrl-C stops the chain.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await stop(1);
}
