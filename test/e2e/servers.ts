/** The processes an end-to-end run needs: a hardhat node with the protocol deployed, and Vite's dev server. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync, createWriteStream } from "node:fs";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { deployProtocol } from "../../scripts/deploy/deploy-protocol.ts";
import { startHardhatNode, type HardhatNode } from "../../scripts/deploy/hardhat-node.ts";
import { findFreePort } from "../../scripts/deploy/ports.ts";

export const root = resolve(import.meta.dirname, "../..");
export const CHROMIUM = "/usr/bin/chromium";

/** Installs Debian's chromium (and an emoji font) when missing; the machines reach Debian's mirrors. */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  for (const args of [["update"], ["install", "-y", "chromium", "fonts-noto-color-emoji"]]) {
    const result = spawnSync("apt-get", args, { stdio: "inherit" });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status}): install chromium by hand and rerun.`);
  }
}

export interface LocalChain {
  node: HardhatNode;
  deploymentFile: string;
  contracts: Awaited<ReturnType<typeof deployProtocol>>["addresses"];
  deploymentId: string;
}

export async function startChain(workDir: string): Promise<LocalChain> {
  mkdirSync(workDir, { recursive: true });
  const port = await findFreePort();
  const node = await startHardhatNode(port, resolve(workDir, "hardhat-node.log"));
  const deploymentId = `e2e-${port}`;
  try {
    const { addresses } = await deployProtocol(node.rpcUrl, deploymentId);
    const deploymentFile = resolve(workDir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: node.rpcUrl, chainId: node.chainId, contracts: addresses }, null, 2));
    return { node, deploymentFile, contracts: addresses, deploymentId };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

export function dropIgnitionJournal(deploymentId: string) {
  rmSync(resolve(root, "ignition", "deployments", deploymentId), { recursive: true, force: true });
}

export interface DevServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Vite's dev server on a free 127.0.0.1 port, started through its own entry so the PID is the server. */
/** `nodeProxy`: the node's URL, proxied from Vite's own origin (which becomes the dApp's node URL). */
export async function startVite(deploymentFile: string, logFile: string, options: { nodeProxy?: string } = {}): Promise<DevServer> {
  const port = await findFreePort();
  const nodeEnv = options.nodeProxy ? { TRIBUTARY_NODE_PROXY: options.nodeProxy, VITE_NODE_URL: `http://127.0.0.1:${port}` } : { VITE_NODE_URL: "http://127.0.0.1:9" };
  const viteBin = resolve(dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin", "vite.js");
  const child = spawn(process.execPath, [viteBin, "frontend", "--host", "127.0.0.1", "--port", String(port), "--strictPort"], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_DEPLOYMENT: deploymentFile, ...nodeEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.once("close", () => log.end());
  const url = `http://127.0.0.1:${port}/`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Vite exited with code ${child.exitCode}; see ${logFile}.`);
    try {
      if ((await fetch(url)).ok) return { url, process: child, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`Vite did not answer at ${url} within 60 s; see ${logFile}.`);
}
