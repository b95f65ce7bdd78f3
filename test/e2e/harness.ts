/**
 * What the end-to-end tests share: the system to test (the whole stack started as `npm start` starts it, or Vite
 * alone in front of a node a test started itself), Debian's chromium with one browser context per wallet account,
 * and the page helpers (labelled-controls check, screenshots, transaction buttons).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { findFreePort } from "../../scripts/deploy/ports.ts";
import { installTestWallet, type TestWallet } from "./test-wallet.ts";

export const root = resolve(import.meta.dirname, "../..");
export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = resolve(import.meta.dirname, "screenshots");
const STACK_MAIN = resolve(root, "scripts", "stack", "main.ts");

/** Installs Debian's chromium (and an emoji font) when missing; the machines reach Debian's mirrors. */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  for (const args of [["update"], ["install", "-y", "chromium", "fonts-noto-color-emoji"]]) {
    const result = spawnSync("apt-get", args, { stdio: "inherit" });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status}): install chromium by hand and rerun.`);
  }
}

export interface Stack {
  dappUrl: string;
  nodeUrl: string;
  rpcUrl: string;
  chainId: number;
  contracts: Record<string, `0x${string}`>;
  dataDir: string;
  /** Everything the stack printed so far. */
  output(): string;
  /** Ctrl-C, as a user stops it; resolves once it has stopped everything it started. */
  stop(): Promise<void>;
}

/**
 * The whole system as `npm start` starts it (scripts/stack/main.ts: chain, node, watcher, dApp), from a reset data
 * dir on free ports, with `args` added (e.g. `--seed none`); resolves once it says "ready".
 */
export async function startStack(dataDir: string, args: string[] = []): Promise<Stack> {
  const ports = { rpc: await findFreePort(), node: await findFreePort(), dapp: await findFreePort() };
  const child = spawn(process.execPath, [STACK_MAIN, "--reset", "--data-dir", dataDir, "--rpc-port", String(ports.rpc), "--node-port", String(ports.node),
    "--dapp-port", String(ports.dapp), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`the stack said no "ready" within 300 s:\n${output}`)), 300_000);
      child.stdout.on("data", () => {
        if (!/\[stack\] ready: open http/.test(output)) return;
        clearTimeout(timer);
        resolveReady();
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the stack exited (${code}) before it was ready:\n${output}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const deployment = JSON.parse(readFileSync(join(dataDir, "deployment.json"), "utf8")) as { rpcUrl: string; chainId: number; contracts: Record<string, `0x${string}`> };
  return {
    dappUrl: `http://127.0.0.1:${ports.dapp}/`, nodeUrl: `http://127.0.0.1:${ports.node}`, rpcUrl: deployment.rpcUrl, chainId: deployment.chainId,
    contracts: deployment.contracts, dataDir, output: () => output, stop,
  };
}

export interface DevServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Vite's dev server alone on a free 127.0.0.1 port, for a test that starts its own node; started through its own
 * entry so the PID is the server. `nodeProxy`: the node's URL, proxied from Vite's own origin (which becomes the
 * dApp's node URL), for a node that sends no CORS headers.
 */
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

/** A page in its own browser context (own storage: its own session key) with a test wallet for one account. */
export interface WalletPage {
  page: Page;
  wallet: TestWallet;
  /** Every request the page made to a host other than 127.0.0.1: the dApp must work offline. */
  remoteRequests: string[];
}

export interface TestBrowser {
  openWalletPage(rpcUrl: string, accountIndex: number): Promise<WalletPage>;
  close(): Promise<void>;
}

/** Debian's chromium, headless, with nothing that reaches the network on its own. */
export async function launchBrowser(): Promise<TestBrowser> {
  ensureChromium();
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    async openWalletPage(rpcUrl, accountIndex) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const remoteRequests: string[] = [];
      page.on("pageerror", (error) => console.error(`page error (account ${accountIndex}): ${error.message}`));
      page.on("request", (request) => {
        const { protocol, hostname } = new URL(request.url());
        if (["http:", "https:", "ws:", "wss:"].includes(protocol) && hostname !== "127.0.0.1") remoteRequests.push(request.url());
      });
      const wallet = await installTestWallet(page, rpcUrl, accountIndex);
      return { page, wallet, remoteRequests };
    },
    close: () => browser.close(),
  };
}

/** Form controls and buttons on the page that have no accessible name (no label, aria-label or text). */
const UNNAMED_CONTROLS = `[...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !el.getAttribute("aria-labelledby") && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))`;

/** Empties the screenshot folder (once per run, by the first test file). */
export function clearScreenshots(): void {
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
}

/** Saves a full-page screenshot as `<name>.png`, after checking every control on the page is labelled. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  assert.deepEqual(await page.evaluate(UNNAMED_CONTROLS), [], `${name}: unlabelled controls`);
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Clicks the transaction button named `name` and waits until its status says confirmed, or until `done` shows
 * when confirming moves the page elsewhere; a "Failed:" status fails the test with its message.
 */
export async function sendTransaction(page: Page, name: string | RegExp, done?: Locator, timeout = 30_000): Promise<void> {
  const button = page.getByRole("button", { name });
  const tx = page.locator(".tx", { has: button });
  await button.click();
  const failed = tx.getByText(/Failed:/);
  await (done ?? tx.getByText(/Confirmed in block/)).or(failed).first().waitFor({ timeout });
  if (await failed.isVisible()) assert.fail(`${String(name)}: ${await failed.textContent()}`);
}

/** Connects the page's wallet through RainbowKit's injected-wallet button. */
export async function connectWallet(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Connect Wallet" }).click();
  await page.getByText(/Browser Wallet|Injected Wallet/).first().click();
}
