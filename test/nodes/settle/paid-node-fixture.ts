/**
 * Everything a `tributary-node start --serve` process needs to earn, from real parts: a `hardhat node` with the
 * protocol deployed; a LoRA adapter trained for a few steps by the engine on the committed base model; a Datanet
 * version (Datanet 2) whose manifest names three contributors and whose span index holds, as contribution 5, the
 * adapter's own greedy continuation of PROMPT (so a served completion of PROMPT is attributed to it); a Model (id
 * 1) minted by a training job the operator (account 2, registered and staked) claimed and submitted with the
 * adapter's and index's CIDs; a price; a payer (account 3) with escrow and a session key. The adapter, index and
 * manifest are published into the node's own IPFS store (`<nodeDir>/ipfs`), so the process finds them locally.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keccak256, parseEther, toHex, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { manifestRoot, type DatanetManifest } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex, encodeSpanIndex } from "../../../nodes/src/attribution/index.ts";
import { Engine } from "../../../nodes/src/engine/worker/index.ts";
import { publishAdapter, publishAttributionIndex } from "../../../nodes/src/serve/index.ts";
import { openContentStore } from "../../../nodes/src/storage/index.ts";
import { account, prepareJobMarket, startTestChain, type TestChain } from "../node/helpers/local-chain.ts";
import { fundPayer, publishSecondDatanet, registerNode } from "../node/helpers/paid-serving-setup.ts";

export const BASE_MODEL_DIR = fileURLToPath(new URL("../../../models/tributary-base-v0/", import.meta.url));
export const PRICE = 1_000_000n;
export const PROMPT = "The whale";
export const MAX_TOKENS = 16;
export const DATANET_ID = 2n;
export const MODEL_ID = 1n;
export const PLANTED_CONTRIBUTION = 5n;
export const CONTRIBUTORS: Address[] = [account(5).address, account(6).address, account(7).address];
const DOCS = [
  "The President shall from time to time give to the Congress information of the state of the Union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
  "The revenue of the Government for the fiscal year was more than sufficient to meet its expenses.",
  "It was the whale, the white whale, that the captain had sworn to hunt to the ends of the earth.",
];
/** Contributions 1..5 (5 is the planted continuation), by contributors 5, 6, 7, 5, 6. */
export const MANIFEST: DatanetManifest = {
  contributions: [1, 2, 3, 4, 5].map((id) => ({ contributionId: BigInt(id), contributor: CONTRIBUTORS[(id - 1) % 3], digest: keccak256(toHex(`doc ${id}`)) })),
};
/** Who the planted contribution credits. */
export const PLANTED_CONTRIBUTOR = CONTRIBUTORS[(Number(PLANTED_CONTRIBUTION) - 1) % 3];

export interface PaidNodeFixture {
  t: TestChain;
  dir: string;
  nodeDir: string;
  deploymentFile: string;
  operator: ReturnType<typeof account>;
  requester: ReturnType<typeof account>;
  payer: ReturnType<typeof account>;
  sessionKey: PrivateKeyAccount;
  /** An on-chain inference prompt document (`{ prompt: PROMPT }`) in the node's store. */
  promptCid: string;
  close(): Promise<void>;
}

export async function startPaidNodeFixture(): Promise<PaidNodeFixture> {
  const t = await startTestChain();
  const dir = await mkdtemp(join(tmpdir(), "tributary-paid-node-"));
  const nodeDir = join(dir, "node");
  const engine = await Engine.start({ threads: 1 });
  let adapterCid: string;
  let indexCid: string;
  let manifestCid: string;
  let promptCid: string;
  try {
    await engine.loadModel("base-1", BASE_MODEL_DIR);
    const { adapterDir } = await engine.train({
      modelId: "base-1", train: DOCS, lora: { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] }, seed: 7,
      batchSize: 2, sequenceLength: 32, totalSteps: 3, learningRate: 5e-3, outputDir: join(dir, "trained-adapter"),
    }).result;
    await engine.registerAdapter("base-1", "probe", { dir: adapterDir });
    const promptIds = await engine.encode("base-1", PROMPT);
    const planted: number[] = [];
    for await (const event of engine.generate({ modelId: "base-1", adapterId: "probe", prompt: promptIds, maxTokens: MAX_TOKENS, sampling: { temperature: 0 } })) {
      if (event.type === "token") planted.push(event.tokenId);
    }
    const documents = await Promise.all(DOCS.map(async (doc, i) => ({ contributionId: BigInt(i + 1), tokens: await engine.encode("base-1", doc) })));
    documents.push({ contributionId: PLANTED_CONTRIBUTION, tokens: [...promptIds, ...planted] });
    const index = buildSpanIndex(manifestRoot(MANIFEST), documents);
    // Into the node's own store: the process opens the same blockstore at start.
    const { store } = await openContentStore("helia:", { dataDir: nodeDir, listen: [], fetchTimeoutMs: 10_000 });
    try {
      adapterCid = (await publishAdapter(store, adapterDir)).toString();
      indexCid = (await publishAttributionIndex(store, encodeSpanIndex(index))).toString();
      promptCid = (await store.addJson({ schema: "tributary.inference-prompt/1", prompt: PROMPT })).toString();
      manifestCid = (await store.addJson({ contributions: MANIFEST.contributions.map((c) => ({ contributionId: c.contributionId.toString(), contributor: c.contributor, digest: c.digest })) })).toString();
    } finally {
      await store.close();
    }
  } finally {
    await engine.close();
  }

  const { requester } = await prepareJobMarket(t);
  await publishSecondDatanet(t, manifestRoot(MANIFEST), manifestCid);

  const operator = account(2);
  await registerNode(t, operator, "peer-paid");
  const now = (await t.client.getBlock()).timestamp;
  await t.send(requester, "models", "createJob", [{ datanetId: DATANET_ID, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: parseEther("1"), deadline: now + 7_200n }]);
  await t.send(operator, "models", "claimJob", [1n]);
  await t.send(operator, "models", "submitResult", [1n, { adapterCid, evaluationCid: manifestCid, attributionIndexCid: indexCid }]);
  await t.send(requester, "models", "setModelPrice", [MODEL_ID, PRICE]);

  const payer = account(3);
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  await fundPayer(t, payer, sessionKey.address, parseEther("1"), now + 86_400n * 30n);

  const deploymentFile = join(dir, "deployment.json");
  await writeFile(deploymentFile, JSON.stringify(t.deployment));
  return {
    t, dir, nodeDir, deploymentFile, operator, requester, payer, sessionKey, promptCid,
    async close() {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
