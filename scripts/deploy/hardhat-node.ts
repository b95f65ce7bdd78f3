import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { once } from "node:events";
import { waitForRpc } from "./wait-for-rpc.ts";

const root = resolve(import.meta.dirname, "../..");

/** A `hardhat node` process serving JSON-RPC on 127.0.0.1. */
export interface HardhatNode {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly process: ChildProcess;
  /** Ends the process (SIGTERM, then SIGKILL after `graceMs`) and resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `hardhat node` with the production config (hardhat.config.ts: EIP-170's size limit enforced) on
 * 127.0.0.1:`port`, its output written (or with `append`, appended) to `logFile`, and resolves once it answers eth_chainId. The process is
 * started through node and Hardhat's CLI entry (not npx), so its PID is the chain itself.
 */
export async function startHardhatNode(
  port: number,
  logFile: string,
  options: { append?: boolean; startTimeoutMs?: number } = {},
): Promise<HardhatNode> {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const hardhatPackage = createRequire(import.meta.url).resolve("hardhat/package.json");
  const hardhatCli = resolve(dirname(hardhatPackage), "dist/src/cli.js");
  const args = [hardhatCli, "--config", resolve(root, "hardhat.config.ts"), "node", "--hostname", "127.0.0.1", "--port", String(port)];
  // Without the HARDHAT_* options a parent Hardhat run exported (a coverage run's HARDHAT_COVERAGE would lift
  // the size limit): the node runs the production config.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HARDHAT_")));
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  // Two sources share the log, so neither ends it: it closes once the process's output is done.
  const log = createWriteStream(logFile, { flags: options.append ? "a" : "w" });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.once("close", () => log.end());

  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    const chainId = await waitForRpc(rpcUrl, startTimeoutMs, () => child.exitCode === null && child.signalCode === null);
    return { rpcUrl, chainId, process: child, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
