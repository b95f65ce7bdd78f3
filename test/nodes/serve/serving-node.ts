/**
 * A serving node for tests, built from real parts: a `hardhat node` with the protocol deployed, an embedded
 * Helia store, the engine on its worker thread with the committed base model, a LoRA adapter trained for a
 * few steps, a span index built from a small Datanet, a Model minted on-chain through a real training job
 * (claimed and submitted by the node's operator with the adapter's and index's CIDs), a payer with escrow
 * and a session key, and the node process (startNode) with the serve extension.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { keccak256, parseEther, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { buildSpanIndex, encodeSpanIndex } from "../../../nodes/src/attribution/index.ts";
import type { NodeConfig } from "../../../nodes/src/config/load.ts";
import { Engine } from "../../../nodes/src/engine/worker/index.ts";
import { startNode, type RunningNode } from "../../../nodes/src/runtime/node.ts";
import { createServeExtension, publishAdapter, publishAttributionIndex, type UpstreamSettings } from "../../../nodes/src/serve/index.ts";
import { openContentStore } from "../../../nodes/src/storage/index.ts";
import type { ContentStore } from "../../../nodes/src/storage/content-store.ts";
import {
  account, createJob, prepareJobMarket, privateKeyOf, startTestChain, type TestChain,
} from "../node/helpers/local-chain.ts";
import { fundPayer, registerNode } from "../node/helpers/paid-serving-setup.ts";

export const BASE_MODEL_DIR = fileURLToPath(new URL("../../../models/tributary-base-v0/", import.meta.url));
/** Token units per 1,000 tokens. */
export const PRICE = 1_000_000n;
export const SESSION_CAP = parseEther("1");
export const PLANTED_PROMPT = "The whale";
/** The Datanet: one contribution per document. The last one is planted: it holds the model's own greedy continuation. */
export const DOCS = [
  "The President shall from time to time give to the Congress information of the state of the Union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
  "The revenue of the Government for the fiscal year was more than sufficient to meet its expenses.",
  "It was the whale, the white whale, that the captain had sworn to hunt to the ends of the earth.",
];
export const PLANTED_CONTRIBUTION = 777n;

export interface ServingNode {
  t: TestChain;
  node: RunningNode;
  engine: Engine;
  store: ContentStore;
  dataDir: string;
  payer: ReturnType<typeof account>;
  sessionKey: PrivateKeyAccount;
  operator: Address;
  modelId: bigint;
  plantedOutput: number[];
  /** Stops the node process and starts it again on the same data dir (same engine and store). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startServingNode(options: { maxQueued?: number; upstream?: (adapterDir: string) => Promise<UpstreamSettings> } = {}): Promise<ServingNode> {
  const t = await startTestChain();
  const dataDir = await mkdtemp(join(tmpdir(), "tributary-serve-"));
  const { store } = await openContentStore("helia:", { dataDir: join(dataDir, "publisher"), fetchTimeoutMs: 10_000 });
  const engine = await Engine.start({ threads: 1 });
  try {
    // Train a small adapter (a few steps of the engine's trainer) and publish it.
    await engine.loadModel("base-1", BASE_MODEL_DIR);
    const run = engine.train({
      modelId: "base-1", train: DOCS, lora: { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] }, seed: 7,
      batchSize: 2, sequenceLength: 32, totalSteps: 3, learningRate: 5e-3, outputDir: join(dataDir, "trained-adapter"),
    });
    const { adapterDir } = await run.result;

    // The planted contribution: the adapter's greedy continuation of a prompt, so the served output must match it.
    await engine.registerAdapter("base-1", "probe", { dir: adapterDir });
    const promptIds = await engine.encode("base-1", PLANTED_PROMPT);
    const plantedOutput: number[] = [];
    for await (const event of engine.generate({ modelId: "base-1", adapterId: "probe", prompt: promptIds, maxTokens: 24, sampling: { temperature: 0 } })) {
      if (event.type === "token") plantedOutput.push(event.tokenId);
    }
    await engine.unregisterAdapter("base-1", "probe");
    const datanetRoot = keccak256(toHex("root"));
    const documents = await Promise.all(DOCS.map(async (doc, i) => ({ contributionId: BigInt(i + 1), tokens: await engine.encode("base-1", doc) })));
    documents.push({ contributionId: PLANTED_CONTRIBUTION, tokens: [...promptIds, ...plantedOutput] });
    const index = buildSpanIndex(datanetRoot, documents);
    const adapterCid = await publishAdapter(store, adapterDir);
    const indexCid = await publishAttributionIndex(store, encodeSpanIndex(index));
    const evaluationCid = await store.addJson({ note: "evaluation report" });

    // On-chain: a Datanet version, a base model, a training job claimed and submitted by the node's operator.
    const { requester } = await prepareJobMarket(t);
    const operator = account(2);
    await registerNode(t, operator, "peer-serve");
    await createJob(t, requester, parseEther("1"));
    await t.send(operator, "models", "claimJob", [1n]);
    await t.send(operator, "models", "submitResult", [1n, { adapterCid: adapterCid.toString(), evaluationCid: evaluationCid.toString(), attributionIndexCid: indexCid.toString() }]);
    const modelId = 1n;
    await t.send(requester, "models", "setModelPrice", [modelId, PRICE]);

    // The payer: escrow, and a session key with a cap.
    const payer = account(3);
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    const now = (await t.client.getBlock()).timestamp;
    await fundPayer(t, payer, sessionKey.address, SESSION_CAP, now + 86_400n);

    const config: NodeConfig = {
      rpcUrl: t.chain.rpcUrl, chainId: t.chain.chainId, contracts: t.addresses, deploymentFile: undefined, dataDir: join(dataDir, "node"),
      http: { host: "127.0.0.1", port: 0, corsOrigins: [] }, p2p: { listen: [], peers: [] }, operatorKey: privateKeyOf(operator) as Hex, operatorKeySource: "config",
      confirmations: 0, pollIntervalMs: 100, maxBlockRange: 1000, startBlock: 0n, storage: { kind: "helia" }, logLevel: "silent",
      jobs: { minFee: 0n, baseModels: new Map([[1n, BASE_MODEL_DIR]]), capabilities: [] }, extensions: [],
    };
    const upstream = options.upstream ? await options.upstream(adapterDir) : undefined;
    const start = () => startNode(config, {
      logger: pino({ level: "silent" }),
      extensions: [createServeExtension({ engine, store, models: [{ modelId }], maxQueued: options.maxQueued, upstream })],
    });
    const serving: ServingNode = {
      t, node: await start(), engine, store, dataDir, payer, sessionKey, operator: operator.address, modelId, plantedOutput,
      async restart() {
        await serving.node.stop();
        // The engine outlives the node (the caller owns it); a fresh node registers the adapter again.
        await engine.unregisterAdapter("base-1", `model-${modelId}`);
        serving.node = await start();
      },
      async close() {
        await serving.node.stop();
        await engine.close();
        await store.close();
        await t.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
    return serving;
  } catch (error) {
    await engine.close();
    await store.close();
    await t.close();
    throw error;
  }
}
