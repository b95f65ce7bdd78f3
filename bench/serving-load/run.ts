/**
 * Serving load benchmark: `node bench/serving-load/run.ts [--models N] [--max-tokens N] [--requests-per-client N]`.
 *
 * A real node (serve extension, payment checks on) on a local `hardhat node` with N deployed models (default 100:
 * N training jobs claimed and submitted on-chain, each a Model with its own terms, all over one adapter trained
 * here on the committed base model), a payer with escrow and a session key, and 1, 8 and 32 concurrent clients
 * (the unmodified `openai` client through the paying fetch: every request carries a fresh EIP-712 voucher the
 * node verifies and stores before generating). Client w's k-th request goes to model (w + k·C) mod N, so
 * concurrent clients use distinct channels and the requests spread over every model. Measured with and without
 * attribution (span matching + record in sqlite and on IPFS). Requests/s over the run, p50/p99 latency per
 * request (client side, voucher signing included). Written to bench/out/serving-load.md; `node bench/record.ts`
 * puts it in docs/benchmarks.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { pino } from "pino";
import { parseEther, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildSpanIndex, encodeSpanIndex } from "../../nodes/src/attribution/index.ts";
import type { NodeConfig } from "../../nodes/src/config/load.ts";
import { Engine } from "../../nodes/src/engine/worker/index.ts";
import { startNode } from "../../nodes/src/runtime/node.ts";
import { createPayingFetch } from "../../nodes/src/serve/client/paying-fetch.ts";
import { createServeExtension, publishAdapter, publishAttributionIndex } from "../../nodes/src/serve/index.ts";
import { openContentStore } from "../../nodes/src/storage/index.ts";
import { MIN_STAKE, account, createJob, prepareJobMarket, privateKeyOf, startTestChain } from "../../test/nodes/node/helpers/local-chain.ts";

const { values: args } = parseArgs({
  options: {
    models: { type: "string", default: "100" },
    "max-tokens": { type: "string", default: "8" },
    "requests-per-client": { type: "string", default: "4" },
  },
});
const MODELS = Number(args.models);
const MAX_TOKENS = Number(args["max-tokens"]);
const PER_CLIENT = Number(args["requests-per-client"]);
const CONCURRENCY = [1, 8, 32];
const ROOT = resolve(import.meta.dirname, "../..");
const BASE_MODEL_DIR = join(ROOT, "models/tributary-base-v0");
const PROMPTS = ["The whale", "Call me Ishmael.", "The President shall", "It was the best of times"];
const DOCS = [
  "The President shall from time to time give to the Congress information of the state of the Union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
  "It was the whale, the white whale, that the captain had sworn to hunt to the ends of the earth.",
];

const t = await startTestChain();
const dir = await mkdtemp(join(tmpdir(), "tributary-serving-load-"));
const { store } = await openContentStore("helia:", { dataDir: join(dir, "ipfs"), fetchTimeoutMs: 10_000 });
const engine = await Engine.start({ threads: 1 });
const rows: string[] = [];
try {
  console.error(`setting up ${MODELS} models...`);
  await engine.loadModel("base-1", BASE_MODEL_DIR);
  const run = engine.train({
    modelId: "base-1", train: DOCS, lora: { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] }, seed: 7,
    batchSize: 2, sequenceLength: 32, totalSteps: 2, learningRate: 5e-3, outputDir: join(dir, "adapter"),
  });
  const { adapterDir } = await run.result;
  const index = buildSpanIndex(`0x${"11".repeat(32)}`, await Promise.all(DOCS.map(async (doc, i) => ({ contributionId: BigInt(i + 1), tokens: await engine.encode("base-1", doc) }))));
  const adapterCid = (await publishAdapter(store, adapterDir)).toString();
  const indexCid = (await publishAttributionIndex(store, encodeSpanIndex(index))).toString();

  const { requester } = await prepareJobMarket(t);
  const governance = account(0);
  const operator = account(2);
  await t.send(governance, "token", "transfer", [operator.address, MIN_STAKE * 2n]);
  await t.send(operator, "token", "approve", [t.addresses.nodes, MIN_STAKE]);
  await t.send(operator, "nodes", "register", ["peer-bench", "http://127.0.0.1", 3n, MIN_STAKE]);
  for (let i = 1n; i <= BigInt(MODELS); i++) {
    await createJob(t, requester, parseEther("0.01"));
    await t.send(operator, "models", "claimJob", [i]);
    await t.send(operator, "models", "submitResult", [i, { adapterCid, evaluationCid: indexCid, attributionIndexCid: indexCid }]);
    await t.send(requester, "models", "setModelPrice", [i, 1_000_000n]);
  }
  const payer = account(3);
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  await t.send(governance, "token", "transfer", [payer.address, parseEther("1000")]);
  await t.send(payer, "token", "approve", [t.addresses.settlement, parseEther("1000")]);
  await t.send(payer, "settlement", "deposit", [parseEther("1000")]);
  const now = (await t.client.getBlock()).timestamp;
  await t.send(payer, "settlement", "authorizeSessionKey", [sessionKey.address, parseEther("1000"), now + 86_400n]);

  for (const attribution of [true, false]) {
    const config: NodeConfig = {
      rpcUrl: t.chain.rpcUrl, chainId: t.chain.chainId, contracts: t.addresses, deploymentFile: undefined, dataDir: join(dir, `node-${attribution}`),
      http: { host: "127.0.0.1", port: 0, corsOrigins: [] }, p2p: { listen: [], peers: [] }, operatorKey: privateKeyOf(operator) as Hex, operatorKeySource: "config",
      confirmations: 0, pollIntervalMs: 1000, maxBlockRange: 1000, startBlock: 0n, storage: { kind: "helia" }, logLevel: "silent",
      jobs: { minFee: 0n, baseModels: new Map([[1n, BASE_MODEL_DIR]]), capabilities: [] }, extensions: [],
    };
    const models = Array.from({ length: MODELS }, (_, i) => ({ modelId: BigInt(i + 1) }));
    const node = await startNode(config, { logger: pino({ level: "silent" }), extensions: [createServeExtension({ engine, store, models, maxQueued: 256, attribution })] });
    try {
      // Warm-up: every adapter loaded once (IPFS, then disk), the span index, the WASM kernels.
      // One paying fetch for all clients: it signs each channel's vouchers in turn (as one app with one session key would).
      const paying = createPayingFetch({ sessionKey, payer: payer.address });
      const warm = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", fetch: paying, maxRetries: 0 });
      for (let m = 1; m <= MODELS; m++) await warm.completions.create({ model: `tributary:${m}`, prompt: PROMPTS[0], max_tokens: 1, temperature: 0 });
      for (const clients of CONCURRENCY) {
        const latencies: number[] = [];
        const started = performance.now();
        await Promise.all(Array.from({ length: clients }, async (_, w) => {
          const openai = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", fetch: paying, maxRetries: 0 });
          for (let k = 0; k < PER_CLIENT; k++) {
            const model = ((w + k * clients) % MODELS) + 1;
            const t0 = performance.now();
            await openai.completions.create({ model: `tributary:${model}`, prompt: PROMPTS[(w + k) % PROMPTS.length], max_tokens: MAX_TOKENS, temperature: 0 });
            latencies.push(performance.now() - t0);
          }
        }));
        const seconds = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
        const row = `| ${attribution ? "on" : "off"} | ${clients} | ${latencies.length} | ${(latencies.length / seconds).toFixed(2)} | ${pct(0.5).toFixed(0)} | ${pct(0.99).toFixed(0)} |`;
        console.error(row);
        rows.push(row);
      }
    } finally {
      await node.stop();
      for (let m = 1; m <= MODELS; m++) await engine.unregisterAdapter("base-1", `model-${m}`).catch(() => undefined);
    }
  }
} finally {
  await engine.close();
  await store.close();
  await t.close();
  await rm(dir, { recursive: true, force: true });
}

const section = `<!-- section: serving-load -->
## Serving load (\`bench/serving-load/run.ts\`)

A real node with payment checks on (every request a fresh EIP-712 voucher from a session key, verified and stored
in sqlite before generation) serving ${MODELS} deployed models (${MODELS} Models minted through training jobs on a
local \`hardhat node\`, one adapter trained on the committed base model \`tributary-base-v0\`), requests from the
unmodified \`openai\` client, ${MAX_TOKENS} output tokens each, greedy; client w's k-th request goes to model
(w + k·C) mod ${MODELS}. Engine on 1 worker thread; ${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(2)} at the end,
shared with other work. Latency is client-side per request (voucher signing, \`/tokenize\`, payment checks,
generation, attribution). "attribution off" drops the span match and the record (nothing is settled then): the
difference is attribution's cost per response.

| attribution | clients | requests | requests/s | p50 ms | p99 ms |
| --- | --- | --- | --- | --- | --- |
${rows.join("\n")}
<!-- /section -->
`;
await mkdir(join(ROOT, "bench/out"), { recursive: true });
await writeFile(join(ROOT, "bench/out/serving-load.md"), section);
console.log(section);
process.exit(0);
