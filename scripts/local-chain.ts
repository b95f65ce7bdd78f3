/**
 * A local Tributary chain for development: starts `hardhat node` on 127.0.0.1, deploys the whole protocol
 * with Ignition (a fresh deployment every time, like `ignition deploy --reset`), prints the addresses, writes
 * them to .data/local-chain.json and keeps the chain up until Ctrl-C.
 *
 * Usage: node scripts/local-chain.ts      (PORT=<port> to choose the port; default 8545, or a free one if taken)
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { ChainExitedError } from "./deploy/errors.ts";
import { choosePort } from "./deploy/ports.ts";
import { waitForRpc } from "./deploy/wait-for-rpc.ts";

const root = resolve(import.meta.dirname, "..");
const dataDir = resolve(root, ".data");
const logFile = resolve(dataDir, "hardhat-node.log");
const outFile = resolve(dataDir, "local-chain.json");
const START_TIMEOUT_MS = 60_000;

const port = await choosePort(process.env.PORT, 8545).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
const rpcUrl = `http://127.0.0.1:${port}`;
await mkdir(dataDir, { recursive: true });

// Started through node and Hardhat's CLI entry (not npx), so killing this PID stops the chain itself.
const hardhatPackage = createRequire(import.meta.url).resolve("hardhat/package.json");
const hardhatCli = resolve(dirname(hardhatPackage), "dist/src/cli.js");
const log = createWriteStream(logFile);
const chain = spawn(process.execPath, [hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
  cwd: root,
  stdio: ["ignore", "pipe", "pipe"],
});
chain.stdout.pipe(log);
chain.stderr.pipe(log);
let stopping = false;
chain.on("exit", (code, signal) => {
  if (stopping) return;
  console.error(new ChainExitedError(code, signal, logFile).message);
  process.exit(1);
});

function stop(): void {
  stopping = true;
  chain.kill("SIGTERM");
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

try {
  const chainId = await waitForRpc(rpcUrl, START_TIMEOUT_MS, () => chain.exitCode === null);

  // A fresh chain has none of a previous run's contracts: drop the old journal (what `--reset` does).
  await rm(resolve(root, "ignition", "deployments", `chain-${chainId}`), { recursive: true, force: true });
  const { network } = await import("hardhat");
  const { default: TributaryModule } = await import("../ignition/modules/Tributary.ts");
  const connection = await network.connect({ network: "localhost", override: { url: rpcUrl } });
  const { token, datanets, nodes, models, settlement } = await connection.ignition.deploy(TributaryModule);
  const [deployer] = await connection.viem.getWalletClients();

  const deployment = {
    rpcUrl,
    chainId,
    deployer: deployer.account.address,
    contracts: {
      token: token.address,
      datanets: datanets.address,
      nodes: nodes.address,
      models: models.address,
      settlement: settlement.address,
    },
    deployedAt: new Date().toISOString(),
  };
  await writeFile(outFile, `${JSON.stringify(deployment, null, 2)}\n`);
  console.log(`Tributary local chain ${chainId} at ${rpcUrl} (pid ${chain.pid}, log ${logFile})`);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(10)} ${address}`);
  console.log(`Addresses written to ${outFile}. Ctrl-C stops the chain.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  stopping = true;
  chain.kill("SIGTERM");
  process.exit(1);
}
