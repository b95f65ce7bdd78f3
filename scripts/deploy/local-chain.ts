/**
 * The local chain as a library: start a `hardhat node` process on 127.0.0.1 and deploy the whole protocol with
 * Ignition. `npm start` (scripts/local-chain.ts) and the node's integration tests share this code path, so what
 * the tests run against is what a developer runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { ChainExitedError } from "./errors.ts";
import { waitForRpc } from "./wait-for-rpc.ts";

const root = resolve(import.meta.dirname, "..", "..");
const START_TIMEOUT_MS = 60_000;

/** What `deployProtocol` writes to .data/local-chain.json and what a node reads back as its deployment file. */
export interface Deployment {
  rpcUrl: string;
  chainId: number;
  deployer: string;
  contracts: { token: string; datanets: string; nodes: string; models: string; settlement: string };
  deployedAt: string;
}

/** A running `hardhat node` process. */
export interface LocalChain {
  rpcUrl: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  logFile: string;
  /** Stops the process and resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `hardhat node --hostname 127.0.0.1 --port <port>` with its output in `logFile`, and resolves once it
 * answers JSON-RPC. `onUnexpectedExit` is called if the process ends before `stop()`.
 */
export async function startHardhatNode(options: {
  port: number;
  logFile: string;
  /** Append to the log instead of starting it afresh (a restarted chain in a test). */
  appendLog?: boolean;
  onUnexpectedExit?: (error: ChainExitedError) => void;
}): Promise<LocalChain> {
  const { port, logFile } = options;
  const rpcUrl = `http://127.0.0.1:${port}`;
  // Started through node and Hardhat's CLI entry (not npx), so killing this PID stops the chain itself.
  const hardhatPackage = createRequire(import.meta.url).resolve("hardhat/package.json");
  const hardhatCli = resolve(dirname(hardhatPackage), "dist/src/cli.js");
  const log = createWriteStream(logFile, { flags: options.appendLog ? "a" : "w" });
  const child = spawn(process.execPath, [hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let stopping = false;
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  child.once("exit", (code, signal) => {
    if (!stopping) options.onUnexpectedExit?.(new ChainExitedError(code, signal, logFile));
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const chainId = await waitForRpc(rpcUrl, START_TIMEOUT_MS, () => child.exitCode === null);
    return { rpcUrl, port, chainId, process: child, logFile, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Deploys the whole protocol (ignition/modules/Tributary.ts) to the chain at `rpcUrl`. Without `deploymentId`
 * the journal is Ignition's default `chain-<id>`, dropped first because a fresh chain has none of a previous
 * run's contracts (what `--reset` does); with one (tests running chains side by side), that journal is used
 * and removed afterwards.
 */
export async function deployProtocol(rpcUrl: string, chainId: number, options: { deploymentId?: string } = {}): Promise<Deployment> {
  const journal = resolve(root, "ignition", "deployments", options.deploymentId ?? `chain-${chainId}`);
  await rm(journal, { recursive: true, force: true });
  const { network } = await import("hardhat");
  const { default: TributaryModule } = await import("../../ignition/modules/Tributary.ts");
  const connection = await network.connect({ network: "localhost", override: { url: rpcUrl } });
  try {
    const { token, datanets, nodes, models, settlement } = await connection.ignition.deploy(TributaryModule, {
      ...(options.deploymentId === undefined ? {} : { deploymentId: options.deploymentId }),
    });
    const [deployer] = await connection.viem.getWalletClients();
    return {
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
  } finally {
    await connection.close();
    if (options.deploymentId !== undefined) await rm(journal, { recursive: true, force: true });
  }
}
