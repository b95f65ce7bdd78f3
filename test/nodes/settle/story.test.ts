/**
 * The whole story, on a local chain (`hardhat node`) and embedded IPFS (Helia), with the real engine:
 * a Datanet with three contributors (content on IPFS, registered by digest, accepted by the owner) → a version
 * (manifest on IPFS, its Merkle root on-chain) → a training job claimed by the node, trained by the engine
 * (driven here directly: the node's train phase is wired by another branch), adapter + span index published,
 * submitted → the Model minted → its price set → a paid chat completion through the unmodified `openai` client,
 * whose vouchers a session key signs → attribution in the response → the node's settlement extension settles a
 * redeem batch and a credit root → the dispute window passes → a contributor claims with `tributary-node claim`
 * and its balance grows by exactly its credited share.
 *
 * One contribution is planted: the base model's greedy continuation of the chat prompt, so the served answer
 * (the adapter is trained with a learning rate too small to change a greedy choice) copies it and the
 * attribution has something to find.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { pino } from "pino";
import { keccak256, parseEther, toBytes, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildSpanIndex, encodeSpanIndex } from "../../../nodes/src/attribution/index.ts";
import { manifestRoot, type DatanetManifest } from "../../../nodes/src/attribution/datanet-manifest.ts";
import type { NodeConfig } from "../../../nodes/src/config/load.ts";
import { renderChatTemplate } from "../../../nodes/src/engine/tokenizer/chat-template.ts";
import { Engine } from "../../../nodes/src/engine/worker/index.ts";
import { startNode, type RunningNode } from "../../../nodes/src/runtime/node.ts";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import { createServeExtension, publishAdapter, publishAttributionIndex, type TributaryField } from "../../../nodes/src/serve/index.ts";
import type { CreditEntry } from "../../../nodes/src/settle/credits.ts";
import { createSettlementExtension } from "../../../nodes/src/settle/extension.ts";
import { loadSettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { openContentStore } from "../../../nodes/src/storage/index.ts";
import type { ContentStore } from "../../../nodes/src/storage/content-store.ts";
import { account, prepareJobMarket, privateKeyOf, startTestChain, waitUntil, type TestChain } from "../node/helpers/local-chain.ts";
import { fundPayer, registerNode } from "../node/helpers/paid-serving-setup.ts";

const BASE_MODEL_DIR = fileURLToPath(new URL("../../../models/tributary-base-v0/", import.meta.url));
const CLI = fileURLToPath(new URL("../../../nodes/src/cli/main.ts", import.meta.url));
const PRICE = 1_000_000n;
const QUESTION = "Tell me about the whale.";
const DOCS = [
  "The President shall from time to time give to the Congress information of the state of the Union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
];
const contributors = [account(5), account(6), account(7)];

let t: TestChain;
let dir: string;
let store: ContentStore;
let engine: Engine;
let node: RunningNode | undefined;

before(async () => {
  t = await startTestChain();
  dir = await mkdtemp(join(tmpdir(), "tributary-story-"));
  ({ store } = await openContentStore("helia:", { dataDir: join(dir, "ipfs"), fetchTimeoutMs: 10_000 }));
  engine = await Engine.start({ threads: 1 });
}, { timeout: 120_000 });

after(async () => {
  await node?.stop();
  await engine?.close();
  await store?.close();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the whole story", () => {
  it("Datanet → version → training job → Model → price → paid chat with attribution → settled → window → claim", async () => {
    const governance = account(0);
    const { requester } = await prepareJobMarket(t); // Datanet 1, base model 1, a funded requester
    const info = await engine.loadModel("base-1", BASE_MODEL_DIR);

    // The planted third document: the base model's greedy answer to the question, as the node will render it.
    const chatPrompt = renderChatTemplate(info.chatTemplate!, [{ role: "user", content: QUESTION }], { addGenerationPrompt: true, bosToken: info.bosToken, eosToken: info.eosToken });
    const promptIds = await engine.encode("base-1", chatPrompt);
    const planted: number[] = [];
    for await (const event of engine.generate({ modelId: "base-1", prompt: promptIds, maxTokens: 16, sampling: { temperature: 0 } })) {
      if (event.type === "token") planted.push(event.tokenId);
    }
    const texts = [...DOCS, await engine.decode("base-1", planted)];

    // Datanet 2: three contributors, each document on IPFS and registered by digest; the owner accepts them.
    await t.send(governance, "datanets", "createDatanet", ["bafy-story", "CC0-1.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
    const datanetId = 2n;
    const contributions: DatanetManifest["contributions"][number][] = [];
    for (const [i, text] of texts.entries()) {
      const cid = await store.addBytes(new TextEncoder().encode(text));
      const digest = keccak256(toBytes(text));
      await t.send(contributors[i], "datanets", "contribute", [datanetId, digest, BigInt(text.length), cid.toString(), 0n, false]);
      const id = (await t.client.readContract({ address: t.addresses.datanets, abi: t.abis.datanets, functionName: "contributionIdOf", args: [datanetId, digest, contributors[i].address] })) as bigint;
      contributions.push({ contributionId: id, contributor: contributors[i].address, digest });
    }
    await t.send(governance, "datanets", "acceptContributions", [datanetId, contributions.map((c) => c.contributionId)]);
    // The version: its manifest on IPFS, its Merkle root on-chain.
    const manifest: DatanetManifest = { contributions };
    const root = manifestRoot(manifest);
    const manifestCid = await store.addJson({ contributions: contributions.map((c) => ({ contributionId: c.contributionId.toString(), contributor: c.contributor, digest: c.digest })) });
    await t.send(governance, "datanets", "publishVersion", [datanetId, root, manifestCid.toString(), 3, 3]);

    // The node registers; a training job on the version; the node claims it, trains, publishes, submits.
    const operator = account(2);
    await registerNode(t, operator, "peer-story");
    const now = (await t.client.getBlock()).timestamp;
    await t.send(requester, "models", "createJob", [{ datanetId, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: parseEther("1"), deadline: now + 7_200n }]);
    await t.send(operator, "models", "claimJob", [1n]);
    const run = engine.train({
      modelId: "base-1", train: texts, lora: { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] }, seed: 7,
      batchSize: 2, sequenceLength: 32, totalSteps: 2, learningRate: 1e-7, outputDir: join(dir, "adapter"),
    });
    const { adapterDir } = await run.result;
    const index = buildSpanIndex(root, await Promise.all(texts.map(async (text, i) => ({ contributionId: contributions[i].contributionId, tokens: await engine.encode("base-1", text) }))));
    const adapterCid = await publishAdapter(store, adapterDir);
    const indexCid = await publishAttributionIndex(store, encodeSpanIndex(index));
    const evaluationCid = await store.addJson({ note: "evaluation report" });
    await t.send(operator, "models", "submitResult", [1n, { adapterCid: adapterCid.toString(), evaluationCid: evaluationCid.toString(), attributionIndexCid: indexCid.toString() }]);
    const modelId = 1n;
    const owner = await t.client.readContract({ address: t.addresses.models, abi: t.abis.models, functionName: "ownerOf", args: [modelId] });
    assert.equal(owner, requester.address, "the Model is minted to the job's requester");
    await t.send(requester, "models", "setModelPrice", [modelId, PRICE]);

    // The payer: escrow and a session key.
    const payer = account(3);
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    await fundPayer(t, payer, sessionKey.address, parseEther("1"), now + 86_400n * 30n);

    // The node: serving and settlement.
    const config: NodeConfig = {
      rpcUrl: t.chain.rpcUrl, chainId: t.chain.chainId, contracts: t.addresses, deploymentFile: undefined, dataDir: join(dir, "node"),
      http: { host: "127.0.0.1", port: 0, corsOrigins: [] }, p2p: { listen: [], peers: [] }, operatorKey: privateKeyOf(operator) as Hex, operatorKeySource: "config",
      confirmations: 0, pollIntervalMs: 100, maxBlockRange: 1000, startBlock: 0n, storage: { kind: "helia" }, logLevel: "silent",
      jobs: { minFee: 0n, baseModels: new Map([[1n, BASE_MODEL_DIR]]), capabilities: [] }, extensions: [],
    };
    node = await startNode(config, {
      logger: pino({ level: "silent" }),
      extensions: [createServeExtension({ engine, store, models: [{ modelId }] }), createSettlementExtension({ store, intervalMs: 300 })],
    });

    // A paid chat completion through the openai client; the session key signs the voucher.
    const openai = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", fetch: createPayingFetch({ sessionKey, payer: payer.address }), maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: "tributary:1", messages: [{ role: "user", content: QUESTION }], max_tokens: 16, temperature: 0 });
    const tributary = (completion as unknown as { tributary: TributaryField }).tributary;
    assert.equal(tributary.payment.payer, payer.address);
    assert.equal(tributary.contributions[0].contribution_id, contributions[2].contributionId.toString(), JSON.stringify(tributary.contributions));

    // Settled: the voucher redeemed, a credit root proposed.
    const abis = await loadSettlementAbis();
    const pools = (await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "contributorPools" })) as Address;
    await waitUntil("the credit root", async () => {
      const credits = (await t.client.readContract({ address: pools, abi: abis.pools, functionName: "creditsOf", args: [operator.address] })) as Hex[];
      return credits[4] !== zeroHash;
    }, 60_000);
    const redeemed = await t.client.readContract({ address: t.addresses.settlement, abi: abis.settlement, functionName: "redeemedOf", args: [payer.address, operator.address, modelId] });
    assert.equal(redeemed, BigInt(tributary.payment.cumulative_amount));

    // The window passes; the planted document's contributor claims.
    await t.rpc("evm_increaseTime", [86_400 * 2]);
    await t.rpc("evm_mine");
    const claimant = contributors[2];
    const entry = (await (await fetch(`${node.url}/v1/credits/${claimant.address}`)).json()) as CreditEntry;
    assert.ok(BigInt(entry.cumulative) > 0n);
    const before = (await t.client.readContract({ address: t.addresses.token, abi: t.abis.token, functionName: "balanceOf", args: [claimant.address] })) as bigint;
    const claim = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [
        CLI, "claim", "--node", operator.address, "--api", node!.url, "--rpc-url", t.chain.rpcUrl, "--chain-id", String(t.chain.chainId),
        ...(["token", "datanets", "nodes", "models", "settlement"] as const).flatMap((key) => [`--${key}-address`, t.addresses[key]]),
        "--operator-key", privateKeyOf(claimant), "--data-dir", join(dir, "claimant"),
      ], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(claim.code, 0, claim.stderr);
    const after = (await t.client.readContract({ address: t.addresses.token, abi: t.abis.token, functionName: "balanceOf", args: [claimant.address] })) as bigint;
    assert.equal(after - before, BigInt(entry.cumulative), "the balance grows by the credited share");
  });
});
