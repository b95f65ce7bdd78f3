/**
 * A local Tributary chain for development: starts `hardhat node` on 127.0.0.1, deploys the whole protocol
 * with Ignition (a fresh deployment every time, like `ignition deploy --reset`), prints the addresses, writes
 * them to .data/local-chain.json and keeps the chain up until Ctrl-C.
 *
 * Usage: node scripts/local-chain.ts      (PORT=<port> to choose the port; default 8545, or a free one if taken)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { deployProtocol, startHardhatNode, type LocalChain } from "./deploy/local-chain.ts";
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

let chain: LocalChain | undefined;
async function stop(): Promise<void> {
  await chain?.stop();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

try {
  chain = await startHardhatNode({
    port,
    logFile,
    onUnexpectedExit: (error) => {
      console.error(error.message);
      process.exit(1);
    },
  });
  const deployment = await deployProtocol(chain.rpcUrl, chain.chainId);
  await writeFile(outFile, `${JSON.stringify(deployment, null, 2)}\n`);
  console.log(`Tributary local chain ${chain.chainId} at ${chain.rpcUrl} (pid ${chain.process.pid}, log ${logFile})`);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(10)} ${address}`);
  console.log(`Addresses written to ${outFile}. Ctrl-C stops the chain.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await chain?.stop();
  process.exit(1);
}
