/**
 * `npm start`: the whole Tributary system on 127.0.0.1 from one command. It starts, each as a child process whose
 * log is a file in the data dir: a `hardhat node` chain with the protocol deployed (test token and its faucet
 * included) and the committed base model registered in the catalog; one compute node (`tributary-node start`:
 * embedded IPFS, training, the base model held, serving every model of it and settling what it serves) registered
 * and staked as its operator through the command line;
 * the settlement watcher when this checkout has one; and the dApp (Vite). Then it seeds a demo (seed.ts), prints
 * the URLs and the accounts to import, and says "ready". Ctrl-C stops everything it started.
 *
 * State: `hardhat node` keeps its chain in memory only (it has no state file), so the stack records the chain's
 * history (chain-history.ts) in the data dir when it is ready and when it stops, and the next start replays it onto
 * the fresh chain (same accounts and nonces: same addresses, ids and state; block times are not replayed) and keeps
 * the node's data dir (its database and IPFS store follow that chain). When the replay diverges (a recorded
 * transaction's deadline has passed, say), it deploys afresh, starts the node clean and seeds again. The seed's
 * steps are skipped when the chain shows them done. `--reset` wipes the data dir first.
 *
 * The node serves every model on the base model (those minted while it runs too) and settles what it served every
 * `--settle-interval` seconds (default 5, so a local user sees credits at once; a real node's default is 600).
 *
 * Usage: node scripts/stack/main.ts [--reset] [--seed full|tiny|none] [--data-dir <dir>] [--settle-interval <s>]
 *                                   [--rpc-port <n>] [--node-port <n>] [--dapp-port <n>]
 *   (also STACK_SEED, STACK_DATA_DIR, STACK_SETTLE_INTERVAL, RPC_PORT, NODE_PORT, DAPP_PORT)
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatEther, parseEther } from "viem";
import { deployProtocol, startHardhatNode, type Deployment, type LocalChain } from "../deploy/local-chain.ts";
import { choosePort } from "../deploy/ports.ts";
import { baseModelManifestCid, connectChain, devAccount, devKey, MODEL_BUILDER, OPERATOR, ROLES, CONTRIBUTORS, WATCHER, type StackChain } from "./chain.ts";
import { readChainHistory, replayChainHistory, ReplayDivergedError, saveChainHistory } from "./chain-history.ts";
import { startChild, waitFor, type Child } from "./children.ts";
import { runNodeCli, seedDemo, seedPaidInferences, stopSeedCommands, type SeedSize } from "./seed.ts";

const root = resolve(import.meta.dirname, "..", "..");
const CLI = resolve(root, "nodes", "src", "cli", "main.ts");
const BASE_MODEL_NAME = "tributary-base-v0";
const BASE_MODEL_DIR = resolve(root, "models", BASE_MODEL_NAME);
const FUNDING = parseEther("1000");

class UsageError extends Error {
  override name = "UsageError";
}

function options() {
  const { values } = parseArgs({
    options: {
      reset: { type: "boolean", default: false },
      seed: { type: "string", default: process.env.STACK_SEED ?? "full" },
      "data-dir": { type: "string", default: process.env.STACK_DATA_DIR ?? join(root, ".data", "stack") },
      "rpc-port": { type: "string", default: process.env.RPC_PORT },
      "node-port": { type: "string", default: process.env.NODE_PORT },
      "dapp-port": { type: "string", default: process.env.DAPP_PORT },
      "settle-interval": { type: "string", default: process.env.STACK_SETTLE_INTERVAL ?? "5" },
    },
  });
  if (!["full", "tiny", "none"].includes(values.seed)) throw new UsageError(`--seed must be full, tiny or none, got "${values.seed}"`);
  const settleInterval = Number(values["settle-interval"]);
  if (!Number.isInteger(settleInterval) || settleInterval < 1 || settleInterval > 7 * 86_400) {
    throw new UsageError(`--settle-interval must be whole seconds from 1 to 604800, got "${values["settle-interval"]}"`);
  }
  return { ...values, seed: values.seed as SeedSize | "none", dataDir: resolve(values["data-dir"]), settleInterval };
}

/** Which optional parts this checkout has: the watcher command and serving wired into `start`. */
function optionalParts(): { watcher: boolean; serving: boolean } {
  const cli = readFileSync(CLI, "utf8");
  const runtime = ["nodes/src/cli/start.ts", "nodes/src/runtime/builtin-extensions.ts"].map((f) => readFileSync(resolve(root, f), "utf8")).join("\n");
  // `program.command("watch")`: the top-level command (`job watch` is another thing).
  return { watcher: existsSync(resolve(root, "nodes", "src", "settle")) && /program\.command\("watch"\)/.test(cli), serving: /servingExtension/.test(runtime) && /settlementExtension/.test(runtime) };
}

const say = (line: string) => console.log(`[stack] ${line}`);

const opts = (() => {
  try {
    return options();
  } catch (error) {
    // Bad flags (parseArgs' own errors included): say so and exit 2, like the node's CLI.
    console.error(`[stack] ${(error as Error).message}\nusage: npm start -- [--reset] [--seed full|tiny|none] [--data-dir <dir>] [--settle-interval <s>] [--rpc-port <n>] [--node-port <n>] [--dapp-port <n>]`);
    process.exit(2);
  }
})();
const children: Child[] = [];
/** Children stopped on purpose to be started again (the node, to serve a model minted after it started). */
const replaced = new Set<Child>();
let chain: LocalChain | undefined;
let stopping = false;
/** Set once the chain holds the protocol: from then on its history is worth keeping. */
let saveHistory: (() => Promise<void>) | undefined;

async function stopAll(exitCode: number): Promise<never> {
  if (stopping) return new Promise(() => undefined);
  stopping = true;
  say("stopping everything this started ...");
  stopSeedCommands();
  for (const child of [...children].reverse()) await child.stop();
  if (saveHistory && exitCode === 0) await saveHistory().catch((error: unknown) => say(`could not record the chain: ${(error as Error).message}`));
  await chain?.stop();
  say("stopped");
  process.exit(exitCode);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

function fail(error: unknown): Promise<never> {
  // Once stopping, a command cut short by it is no news.
  if (stopping) return new Promise(() => undefined);
  console.error(`[stack] ${error instanceof Error ? error.message : String(error)}`);
  return stopAll(1);
}

/** Exits (stopping the rest) when a child ends on its own; an optional one is only reported. */
function watchExit(child: Child, optional = false): void {
  child.process.once("exit", (code, signal) => {
    if (stopping || replaced.has(child)) return;
    const message = `${child.name} exited unexpectedly (${signal ?? `code ${code}`}); see ${child.logFile}`;
    if (optional) say(`note: ${message}; the rest keeps running`);
    else void fail(new Error(message));
  });
}

/** Funds the demo accounts on a new chain (a restored one has them funded, and spent since) and registers the base model. */
async function fundAndCatalog(stack: StackChain, newChain: boolean): Promise<bigint> {
  for (const index of newChain ? [OPERATOR, MODEL_BUILDER, ...CONTRIBUTORS, WATCHER] : []) {
    await stack.send(0, "token", "transfer", [devAccount(index).address, FUNDING]);
  }
  let count = await stack.read<bigint>("models", "baseModelCount");
  if (count === 0n) {
    const cid = await baseModelManifestCid(BASE_MODEL_DIR, BASE_MODEL_NAME);
    await stack.send(0, "models", "registerBaseModel", [BASE_MODEL_NAME, cid, "Apache-2.0"]);
    count = 1n;
    say(`registered base model ${count} "${BASE_MODEL_NAME}" in the catalog (manifest ${cid})`);
  }
  return count;
}

/** Finds `peerId` anywhere in the node's /health report (the storage check has it). */
function findPeerId(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    if (key === "peerId" && typeof inner === "string") return inner;
    const found = findPeerId(inner);
    if (found) return found;
  }
  return undefined;
}

async function main(): Promise<void> {
  if (opts.reset) {
    await rm(opts.dataDir, { recursive: true, force: true });
    say(`reset: removed ${opts.dataDir}`);
  }
  await mkdir(opts.dataDir, { recursive: true });
  const logs = join(opts.dataDir, "logs");
  await mkdir(logs, { recursive: true });
  const rpcPort = await choosePort(opts["rpc-port"], 8545);
  const nodePort = await choosePort(opts["node-port"], 8700);
  const dappPort = await choosePort(opts["dapp-port"], 5173);
  const parts = optionalParts();

  say(`data dir ${opts.dataDir}; logs in ${logs}`);
  const historyFile = join(opts.dataDir, "chain-history.json");
  const deploymentFile = join(opts.dataDir, "deployment.json");
  const startChain = async () => {
    say(`starting the chain on 127.0.0.1:${rpcPort}`);
    chain = await startHardhatNode({ port: rpcPort, logFile: join(logs, "chain.log"), appendLog: true, onUnexpectedExit: (error) => void fail(error) });
    return chain;
  };
  let localChain = await startChain();
  let deployment = await restoreChain(localChain, historyFile, deploymentFile);
  const newChain = deployment === undefined;
  if (!deployment) {
    if (existsSync(historyFile)) {
      // The replay left a partial chain behind: start over on a fresh one.
      await localChain.stop();
      localChain = await startChain();
    }
    say("deploying the protocol (building the production artifacts when stale)");
    deployment = await deployProtocol(localChain.rpcUrl, localChain.chainId, { deploymentId: `stack-${rpcPort}` });
    // A new chain: the node's database (which follows the chain) starts clean too.
    await rm(join(opts.dataDir, "node"), { recursive: true, force: true });
  }
  deployment = { ...deployment, rpcUrl: localChain.rpcUrl };
  await writeFile(deploymentFile, `${JSON.stringify(deployment, null, 2)}\n`);
  saveHistory = async () => {
    const blocks = await saveChainHistory((await connectChain(deployment!)).client, localChain.chainId, historyFile);
    say(`recorded the chain's ${blocks} blocks in ${historyFile}`);
  };
  // The default data dir is what `npm start` uses: keep .data/local-chain.json (the CLI's and tools' default) in step.
  if (opts.dataDir === join(root, ".data", "stack")) await writeFile(join(root, ".data", "local-chain.json"), `${JSON.stringify(deployment, null, 2)}\n`);
  const stack = await connectChain(deployment);
  const baseModelId = await fundAndCatalog(stack, newChain);

  // Confirmations 0: the local chain mines one block per transaction and never reorganizes, and with 1 the last
  // transaction's event would wait for a block nobody mines.
  const nodeDir = join(opts.dataDir, "node");
  const dappUrl = `http://127.0.0.1:${dappPort}`;
  // Serving every model of the held base model (those minted while it runs too: the demo's, the dApp's), and
  // settling what it serves every `--settle-interval` seconds (5 by default, a demo: a real node settles every 10 min).
  const capabilities = ["training", "storage", ...(parts.serving ? ["serving", "attribution"] : [])].flatMap((c) => ["--capability", c]);
  say(`starting the compute node on 127.0.0.1:${nodePort} (embedded IPFS, training${parts.serving ? ", serving" : ""}, base model ${baseModelId})`);
  const nodeArgs = [CLI, "start", "--deployment", deploymentFile, "--data-dir", nodeDir, "--operator-key", devKey(OPERATOR),
    "--host", "127.0.0.1", "--port", String(nodePort), "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--confirmations", "0", "--poll-interval", "500",
    "--cors-origin", dappUrl, "--cors-origin", `http://localhost:${dappPort}`, "--base-model", `${baseModelId}=${BASE_MODEL_DIR}`,
    ...capabilities, ...(parts.serving ? ["--serve", "all", "--settle-interval", String(opts.settleInterval)] : [])];
  const nodeUrl = `http://127.0.0.1:${nodePort}`;
  let node = startChild("node", process.execPath, nodeArgs, { logFile: join(logs, "node.log"), cwd: root });
  children.push(node);
  watchExit(node);
  const restartNode = async (): Promise<void> => {
    replaced.add(node);
    await node.stop();
    children.splice(children.indexOf(node), 1);
    node = startChild("node", process.execPath, nodeArgs, { logFile: join(logs, "node.log"), cwd: root });
    children.push(node);
    watchExit(node);
    await waitFor("the node's /health", async () => (await fetch(`${nodeUrl}/health`)).json(), { timeoutMs: 120_000, child: node });
  };
  const health = await waitFor("the node's /health", async () => (await fetch(`${nodeUrl}/health`)).json(), { timeoutMs: 120_000, child: node });
  const peerId = findPeerId(health);
  if (!peerId) throw new Error(`the node's /health names no peer id; see ${node.logFile}`);
  if (!(await stack.read<boolean>("nodes", "isActive", [devAccount(OPERATOR).address]))) {
    say(`registering and staking the node's operator (account ${OPERATOR}, peer ${peerId})`);
    await runNodeCli({ deploymentFile, dataDir: opts.dataDir, say }, "operator register", OPERATOR,
      ["operator", "register", "--peer-id", peerId, "--endpoint", nodeUrl, ...capabilities]);
  }

  if (parts.watcher) {
    say("starting the settlement watcher (tributary-node watch)");
    const watcher = startChild("watcher", process.execPath, [CLI, "watch", "--deployment", deploymentFile, "--data-dir", join(opts.dataDir, "watcher"),
      "--operator-key", devKey(WATCHER), "--confirmations", "0", "--poll-interval", "500"], { logFile: join(logs, "watcher.log"), cwd: root });
    children.push(watcher);
    watchExit(watcher, true);
  } else {
    say("note: no settlement watcher in this checkout (tributary-node watch); skipped");
  }

  say(`starting the dApp (Vite) on ${dappUrl}`);
  const vite = resolve(dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin", "vite.js");
  const dapp = startChild("dApp", process.execPath, [vite, "frontend", "--host", "127.0.0.1", "--port", String(dappPort), "--strictPort"], {
    logFile: join(logs, "dapp.log"), cwd: root, env: { ...process.env, TRIBUTARY_DEPLOYMENT: deploymentFile, VITE_NODE_URL: nodeUrl },
  });
  children.push(dapp);
  watchExit(dapp);
  await waitFor("the dApp", async () => ((await fetch(dappUrl)).ok ? true : undefined), { timeoutMs: 120_000, child: dapp });

  // Who is running, for tools (and the stack's test) to check that Ctrl-C left nothing behind.
  const writePids = async () => {
    const pids = { orchestrator: process.pid, chain: localChain.process.pid, groups: Object.fromEntries(children.map((c) => [c.name, c.process.pid])) };
    await writeFile(join(opts.dataDir, "pids.json"), `${JSON.stringify(pids, null, 2)}\n`);
  };
  await writePids();
  printSummary({ dappUrl, nodeUrl, rpcUrl: localChain.rpcUrl, chainId: localChain.chainId, deploymentFile, logs });

  if (opts.seed !== "none") {
    const started = Date.now();
    say(`seeding the demo (${opts.seed}); steps already on the chain are skipped`);
    try {
      const { modelId } = await seedDemo({ chain: stack, deploymentFile, nodeUrl, dataDir: opts.dataDir, size: opts.seed, baseModelId, say });
      if (parts.serving) {
        const listed = await (await fetch(`${nodeUrl}/v1/models`)).json().catch(() => undefined) as { data?: { id: string }[] } | undefined;
        if (!listed?.data?.some((m) => m.id === `tributary:${modelId}`)) {
          say(`restarting the node so it serves model ${modelId} (minted after it started)`);
          await restartNode();
          await writePids();
        }
        const claimable = await seedPaidInferences({ chain: stack, nodeUrl, modelId, operator: devAccount(OPERATOR).address, say });
        for (const c of claimable) {
          say(`contributor #${c.index} ${c.address} can claim ${formatEther(c.amount)} TRIB from node ${devAccount(OPERATOR).address}: import account #${c.index} (key above) into the wallet and claim in the dApp, or run \`tributary-node claim --node ${devAccount(OPERATOR).address} --operator-key <its key>\``);
        }
        if (claimable.length === 0) say("note: no demo output was credited to a contribution: none copied an 8-token span of the Datanet (the demo model seldom does) and gradient attribution (what the model learned from each contribution) credited none, so its contributors' share waits in the node's pool");
      } else {
        say("note: the node's serving is not wired into `tributary-node start` in this checkout; paid inferences, a settled batch and claims are not seeded");
      }
      say(`demo seeded in ${Math.round((Date.now() - started) / 1000)} s: Datanet 1 (version 1), model ${modelId}`);
    } catch (error) {
      if (stopping) return;
      // The system itself is up: keep it, and say what is missing from the demo.
      say(`${(error as Error).message}`);
      say("the system is up without the rest of the demo; the seed runs again at the next start");
    }
  }
  await saveHistory();
  say(`ready: open ${dappUrl} (Ctrl-C stops everything)`);
}

/**
 * The previous run's chain, replayed from its recorded history onto the fresh `hardhat node`, with its deployment;
 * undefined when there is none to restore or the replay diverged (said, and the caller deploys afresh).
 */
async function restoreChain(localChain: LocalChain, historyFile: string, deploymentFile: string): Promise<Deployment | undefined> {
  const history = await readChainHistory(historyFile);
  if (!history || !existsSync(deploymentFile) || history.chainId !== localChain.chainId) return undefined;
  const deployment = JSON.parse(readFileSync(deploymentFile, "utf8")) as Deployment;
  say(`restoring the chain from ${historyFile} (${history.blocks.length} blocks)`);
  const stack = await connectChain({ ...deployment, rpcUrl: localChain.rpcUrl });
  try {
    await replayChainHistory(stack.client, history, (done, total) => say(`  replayed ${done}/${total} blocks`));
  } catch (error) {
    if (!(error instanceof ReplayDivergedError)) throw error;
    say(`${error.message}; starting a new chain instead`);
    return undefined;
  }
  if ((await stack.client.getCode({ address: deployment.contracts.token as `0x${string}` })) === undefined) {
    say("the replayed chain has no protocol at the recorded addresses; starting a new chain instead");
    return undefined;
  }
  return deployment;
}

function printSummary(s: { dappUrl: string; nodeUrl: string; rpcUrl: string; chainId: number; deploymentFile: string; logs: string }): void {
  const lines = [
    "",
    "Tributary is up on this machine:",
    `  dApp      ${s.dappUrl}`,
    `  node API  ${s.nodeUrl}   (health: ${s.nodeUrl}/health)`,
    `  chain     ${s.rpcUrl}   (chain id ${s.chainId}; addresses in ${s.deploymentFile})`,
    `  logs      ${s.logs}`,
    "",
    "Accounts to import into your wallet (Hardhat's well-known dev keys: LOCAL TEST KEYS ONLY, public, never use them elsewhere):",
    ...ROLES.map(({ index, role }) => `  #${index} ${devAccount(index).address}  ${devKey(index)}  ${role}`),
    `Each holds ${formatEther(FUNDING)} TRIB (the deployer the rest); any account can take more from the token's faucet.`,
    `Add the network to the wallet: RPC ${s.rpcUrl}, chain id ${s.chainId}.`,
    "",
  ];
  console.log(lines.join("\n"));
}

main().catch(fail);
