/**
 * The local chain as one library for `npm run chain` (scripts/local-chain.ts), `npm start` (scripts/stack/) and the node's integration tests: a
 * `hardhat node` process on 127.0.0.1 running the production config (hardhat-node.ts) with the whole protocol
 * deployed from the production artifacts (deploy-protocol.ts), so what the tests run against is what a developer
 * runs.
 */
import type { ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { deployProtocol as deployWithIgnition } from "./deploy-protocol.ts";
import { ChainExitedError } from "./errors.ts";
import { startHardhatNode as startProcess } from "./hardhat-node.ts";

const root = resolve(import.meta.dirname, "..", "..");

/** What `deployProtocol` writes to .data/local-chain.json and what a node reads back as its deployment file. */
export interface Deployment {
  rpcUrl: string;
  chainId: number;
  deployer: string;
  contracts: { token: string; datanets: string; nodes: string; models: string; settlement: string; contributorPools: string };
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
  const node = await startProcess(port, logFile, { append: options.appendLog ?? false });
  let stopping = false;
  node.process.once("exit", (code, signal) => {
    if (!stopping) options.onUnexpectedExit?.(new ChainExitedError(code, signal, logFile));
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    await node.stop();
  };
  return { rpcUrl: node.rpcUrl, port, chainId: node.chainId, process: node.process, logFile, stop };
}

/**
 * Deploys the whole protocol (ignition/modules/Tributary.ts) to the chain at `rpcUrl`. Without `deploymentId`
 * the journal is Ignition's default `chain-<id>`, dropped first because a fresh chain has none of a previous
 * run's contracts (what `--reset` does); with one (tests running chains side by side), that journal is used
 * and removed afterwards.
 */
export async function deployProtocol(rpcUrl: string, chainId: number, options: { deploymentId?: string } = {}): Promise<Deployment> {
  const deploymentId = options.deploymentId ?? `chain-${chainId}`;
  const { connection, deployer, addresses } = await deployWithIgnition(rpcUrl, deploymentId);
  try {
    return { rpcUrl, chainId, deployer, contracts: addresses, deployedAt: new Date().toISOString() };
  } finally {
    await connection.close();
    if (options.deploymentId !== undefined) await rm(resolve(root, "ignition", "deployments", deploymentId), { recursive: true, force: true });
  }
}
