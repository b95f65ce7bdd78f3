/**
 * The demo seed, so the dApp has something to show on first open: the Jargon File Datanet (metadata through the
 * node), one contribution per demo contributor uploaded through the node, accepted, a published version, a training
 * job the stack's node trains and submits, and the demo model's price and revenue split. Every step runs the real
 * command line (`tributary-node ...`, as each role would) or a signed transaction, and is skipped when the chain
 * already shows it done, so a seed interrupted by Ctrl-C resumes on the next start.
 *
 * Then money (`seedPaidInferences`): a demo payer's paid completions, settled by the node's own settlement round,
 * and the dispute window passed on the local chain, so a demo contributor has a credit to claim.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import OpenAI from "openai";
import { formatEther, parseEther, zeroHash, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPayingFetch } from "../../nodes/src/serve/client/paying-fetch.ts";
import { CONTRIBUTORS, devAccount, devKey, MODEL_BUILDER, PAYER, SESSION_KEY, type StackChain } from "./chain.ts";

const root = resolve(import.meta.dirname, "..", "..");
const CLI = resolve(root, "nodes", "src", "cli", "main.ts");
const DATA = resolve(root, "scripts", "demo", "data");
export const DEMO_FILES = ["contributor-1-a-c.md", "contributor-2-d-h.md", "contributor-3-i-o.md", "contributor-4-p-z.md"];
const DATANET_ID = 1n;
const PRICE_PER_1K_TOKENS = parseEther("0.5");
/** Owner 30 %, contributors 60 %, serving node 10 % (basis points). */
const SPLIT = { ownerBps: 3_000, contributorBps: 6_000, nodeBps: 1_000 };

/** `full`: every prepared file; `tiny`: the first entries of each (a quick check: trains in seconds). */
export type SeedSize = "full" | "tiny";
const TINY_BYTES = 3_000;

export interface SeedOptions {
  chain: StackChain;
  deploymentFile: string;
  nodeUrl: string;
  dataDir: string;
  size: SeedSize;
  baseModelId: bigint;
  say(line: string): void;
}

export class SeedStepError extends Error {
  constructor(step: string, detail: string, logFile: string) {
    super(`demo seed: ${step} failed: ${detail.trim().split("\n").slice(-3).join(" | ")} (full output in ${logFile})`);
    this.name = "SeedStepError";
  }
}

/** Commands running now, so Ctrl-C can end them with the rest. */
const running = new Set<ChildProcess>();

export function stopSeedCommands(): void {
  for (const child of running) child.kill("SIGTERM");
}

/**
 * Runs `tributary-node <args>` signed by dev account `signer`; its output is appended to <dataDir>/seed.log, and
 * the lines `echo` returns text for are passed to `say`.
 */
export function runNodeCli(context: { deploymentFile: string; dataDir: string; say(line: string): void }, step: string, signer: number, args: string[],
  echo?: (line: string) => string | undefined): Promise<string> {
  const logFile = join(context.dataDir, "seed.log");
  const log = createWriteStream(logFile, { flags: "a" });
  return new Promise((resolvePromise, reject) => {
    log.write(`\n$ tributary-node ${args.join(" ")}  (account ${signer})\n`);
    const child = spawn(process.execPath, [CLI, ...args, "--deployment", context.deploymentFile, "--operator-key", devKey(signer)], { stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let output = "";
    let partial = "";
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      log.write(text);
      if (!echo) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        const shown = echo(line);
        if (shown) context.say(shown);
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("close", (code) => {
      running.delete(child);
      log.end();
      if (code === 0) resolvePromise(output);
      else reject(new SeedStepError(step, output || `exit ${code}`, logFile));
    });
  });
}

/** The contribution file for `name` at this seed size (a tiny seed cuts each file after its first few entries). */
async function contributionFile(options: SeedOptions, name: string): Promise<string> {
  const source = join(DATA, name);
  if (options.size === "full") return source;
  const text = await readFile(source, "utf8");
  const cut = text.indexOf("\n## ", TINY_BYTES);
  const target = join(options.dataDir, `tiny-${name}`);
  await writeFile(target, cut === -1 ? text : text.slice(0, cut + 1));
  return target;
}

async function datanetExists(chain: StackChain): Promise<{ contributionCount: number; acceptedCount: number; versionCount: number } | undefined> {
  try {
    const view = await chain.read<{ contributionCount: number; acceptedCount: number; versionCount: number }>("datanets", "getDatanet", [DATANET_ID]);
    return { contributionCount: Number(view.contributionCount), acceptedCount: Number(view.acceptedCount), versionCount: Number(view.versionCount) };
  } catch {
    return undefined;
  }
}

/** Runs the seed's remaining steps; resolves with the demo model's id. */
export async function seedDemo(options: SeedOptions): Promise<{ modelId: bigint }> {
  const { chain, nodeUrl, say } = options;
  const node = ["--node", nodeUrl];
  const cli = (step: string, signer: number, args: string[], echo?: (line: string) => string | undefined) => runNodeCli(options, step, signer, args, echo);
  if (!(await datanetExists(chain))) {
    say("creating the Jargon File Datanet (metadata stored through the node)");
    await cli("datanet create", 0, ["datanet", "create", ...node, "--name", "The Jargon File",
      "--description", "Hacker slang and culture: entries from the Jargon File 4.4.7 (public domain), for a model that explains hacker jargon.",
      "--licence", "LicenseRef-PublicDomain", "--stake", "0"]);
  }
  const contributed = (await datanetExists(chain))!.contributionCount;
  for (const [i, name] of DEMO_FILES.entries()) {
    if (i < contributed) continue;
    say(`contribution ${i + 1}/${DEMO_FILES.length}: ${name} from account ${CONTRIBUTORS[i]} (uploaded through the node, registered on-chain)`);
    await cli(`contribute ${name}`, CONTRIBUTORS[i], ["datanet", "contribute", String(DATANET_ID), await contributionFile(options, name), ...node,
      "--title", `Jargon File 4.4.7, ${name.replace(/^contributor-\d-|\.md$/g, "")}`, "--yes"]);
  }
  let state = (await datanetExists(chain))!;
  if (state.acceptedCount < state.contributionCount) {
    say("accepting the contributions (curator)");
    await cli("accept", 0, ["datanet", "accept", String(DATANET_ID), "--pending"]);
  }
  state = (await datanetExists(chain))!;
  if (state.versionCount === 0) {
    say("publishing version 1 (manifest built and pinned by the node, root checked, published on-chain)");
    await cli("publish", 0, ["datanet", "publish", String(DATANET_ID), ...node]);
  }

  let jobCount = Number(await chain.read<bigint>("models", "jobCount"));
  if (jobCount === 0) {
    say("creating the training job (tiny preset, fee 10 TRIB) as the model builder");
    await cli("job create", MODEL_BUILDER, ["job", "create", ...node, "--base-model", String(options.baseModelId), "--datanet", String(DATANET_ID),
      "--version", "1", "--preset", "tiny", "--fee", "10", "--deadline", "1d"]);
    jobCount = 1;
  }
  const job = await chain.read<{ status: number; modelId: bigint }>("models", "getJob", [BigInt(jobCount)]);
  let modelId = job.modelId;
  if (modelId === 0n) {
    say(`the node is training job ${jobCount} (fetch, verify, train, sketch, evaluate, upload, submit); progress below`);
    let lastShown = 0;
    await cli("job watch", MODEL_BUILDER, ["job", "watch", String(jobCount), ...node, "--wait", "600"], (line) => {
      // Phase changes always; step lines at most every 5 s.
      if (/^job \d+: /.test(line) || /^Job \d+ /.test(line)) return `  ${line}`;
      if (/step \d+/.test(line) && Date.now() - lastShown > 5_000) {
        lastShown = Date.now();
        return `  ${line}`;
      }
      return undefined;
    });
    modelId = (await chain.read<{ modelId: bigint }>("models", "getJob", [BigInt(jobCount)])).modelId;
  }

  // modelTerms: owner, termsVersion, pricePer1kTokens, ownerBps, contributorBps, nodeBps.
  const terms = await chain.read<readonly [string, bigint, bigint, number, number, number]>("models", "modelTerms", [modelId]);
  if (terms[2] !== PRICE_PER_1K_TOKENS) {
    say(`model ${modelId}: price 0.5 TRIB per 1k tokens`);
    await chain.send(MODEL_BUILDER, "models", "setModelPrice", [modelId, PRICE_PER_1K_TOKENS]);
  }
  if (terms[3] !== SPLIT.ownerBps || terms[4] !== SPLIT.contributorBps || terms[5] !== SPLIT.nodeBps) {
    say(`model ${modelId}: revenue split owner 30 % / contributors 60 % / node 10 %`);
    await chain.send(MODEL_BUILDER, "models", "setRevenueSplit", [modelId, SPLIT]);
  }
  return { modelId };
}

/** Paid prompts: the opening words of an entry of each contributor's file (so the outputs can copy their text). */
const PAID_PROMPTS = [
  "The status of a website which has been completely removed, usually by the",
  "[Usenet] ASCII rendition of the ™ appended to phrases that the author",
  "Abnormal termination (of software); {crash}; {lossage}. Derives from",
];
const PAYER_ESCROW = parseEther("10");
const SESSION_CAP = parseEther("5");

export interface PaidSeedOptions {
  chain: StackChain;
  nodeUrl: string;
  modelId: bigint;
  /** The node's operator: the channel's node. */
  operator: Address;
  say(line: string): void;
}

/** A contributor with a claimable credit from the node's final root. */
export interface Claimable {
  index: number;
  address: Address;
  amount: bigint;
}

/**
 * Money in the demo: the demo payer (escrow, a session key) pays a few completions of the demo model through the
 * `openai` client with the paying fetch; the node's own settlement round redeems the vouchers and proposes a credit
 * root; the seed then moves the local chain's time past the dispute window (`evm_increaseTime` + a block), so a demo
 * contributor has a credit to claim. Skipped when the payer's channel was already redeemed; the time move is done
 * again whenever a root is pending (a restored chain replays its blocks at today's time). Resolves with who can claim.
 */
export async function seedPaidInferences(options: PaidSeedOptions): Promise<Claimable[]> {
  const { chain, nodeUrl, modelId, operator, say } = options;
  const payer = devAccount(PAYER).address;
  const redeemed = async () => (await chain.read<readonly [bigint, bigint]>("settlement", "channelOf", [payer, operator, modelId]))[0];
  if ((await redeemed()) === 0n) {
    if ((await chain.read<bigint>("settlement", "escrowBalanceOf", [payer])) === 0n) {
      say(`demo payer #${PAYER}: deposits ${formatEther(PAYER_ESCROW)} TRIB into escrow`);
      if ((await chain.read<bigint>("token", "balanceOf", [payer])) < PAYER_ESCROW) await chain.send(0, "token", "transfer", [payer, PAYER_ESCROW * 2n]);
      await chain.send(PAYER, "token", "approve", [chain.addresses.settlement, PAYER_ESCROW]);
      await chain.send(PAYER, "settlement", "deposit", [PAYER_ESCROW]);
    }
    const sessionKey = privateKeyToAccount(devKey(SESSION_KEY));
    const now = (await chain.client.getBlock()).timestamp;
    const [, , expiresAt] = await chain.read<readonly [bigint, bigint, bigint]>("settlement", "sessionKeyOf", [payer, sessionKey.address]);
    if (expiresAt < now + 3_600n) {
      say(`demo payer #${PAYER}: authorizes session key ${sessionKey.address} (cap ${formatEther(SESSION_CAP)} TRIB, 30 days)`);
      await chain.send(PAYER, "settlement", "authorizeSessionKey", [sessionKey.address, SESSION_CAP, now + 30n * 86_400n]);
    }
    const model = `tributary:${modelId}`;
    await waitUntil(`the node to serve ${model}`, async () => {
      const listed = await (await fetch(`${nodeUrl}/v1/models`)).json().catch(() => undefined) as { data?: { id: string }[] } | undefined;
      return listed?.data?.some((m) => m.id === model);
    }, 60_000);
    let paid = 0n;
    const openai = new OpenAI({
      baseURL: `${nodeUrl}/v1`, apiKey: "unused", maxRetries: 0,
      fetch: createPayingFetch({ sessionKey, payer, onPayment: (p) => { paid = p.cumulativeAmount; } }),
    });
    let attributed = 0;
    for (const prompt of PAID_PROMPTS) {
      const completion = await openai.completions.create({ model, prompt, max_tokens: 32, temperature: 0 });
      const contributions = (completion as unknown as { tributary?: { contributions?: unknown[] } }).tributary?.contributions ?? [];
      if (contributions.length > 0) attributed++;
      say(`paid completion of "${prompt.slice(0, 40)}…": ${completion.usage?.completion_tokens ?? "?"} tokens, attributed to ${contributions.length} contribution(s), channel at ${formatEther(paid)} TRIB`);
    }
    say("waiting for the node's settlement round to redeem the vouchers");
    await waitUntil("the node to redeem the demo payer's vouchers", async () => (await redeemed()) === paid, 120_000);
    // Only attributed outputs credit anyone: the contributor share of the others stays in the node's pool.
    if (attributed > 0) {
      say("waiting for the node's credit root");
      await waitUntil("the node's credit root", async () => {
        const credits = await creditsOf(chain, operator);
        return credits.pendingRoot !== zeroHash || credits.finalizedRoot !== zeroHash;
      }, 60_000);
    }
  }
  const credits = await creditsOf(chain, operator);
  if (credits.pendingRoot !== zeroHash) {
    const now = (await chain.client.getBlock()).timestamp;
    say(`moving the local chain's time past the credit root's dispute window (${credits.pendingUntil - now} s)`);
    await chain.rpc("evm_increaseTime", [Number(credits.pendingUntil - now) + 1]);
    await chain.rpc("evm_mine");
  }
  const claimable: Claimable[] = [];
  for (const index of CONTRIBUTORS) {
    const address = devAccount(index).address;
    const response = await fetch(`${nodeUrl}/v1/credits/${address}`);
    if (response.status !== 200) continue;
    const entry = await response.json() as { cumulative: string };
    const claimed = await chain.read<bigint>("contributorPools", "claimedOf", [operator, address]);
    const amount = BigInt(entry.cumulative) - claimed;
    if (amount > 0n) claimable.push({ index, address, amount });
  }
  return claimable;
}

async function creditsOf(chain: StackChain, node: Address): Promise<{ finalizedRoot: Hex; pendingRoot: Hex; pendingUntil: bigint }> {
  const [finalizedRoot, , , , pendingRoot, , pendingUntil] = await chain.read<readonly [Hex, bigint, bigint, bigint, Hex, bigint, bigint, boolean]>("contributorPools", "creditsOf", [node]);
  return { finalizedRoot, pendingRoot, pendingUntil };
}

async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`demo seed: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
