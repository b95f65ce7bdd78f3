/**
 * The verifier recomputes gradient evidence from public, content-addressed inputs: a real (tiny)
 * base model folder, real TracIn checkpoints written by the Trainer, a sketch built by
 * buildGradientSketch, and output gradients recomputed on the reference backend. A forged gradient,
 * and every other forged field of a record, shows up as a discrepancy.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toHex, type Hex } from "viem";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { loadModelFolder, saveModelFolder } from "../../../nodes/src/engine/formats/model-folder.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { createLoraAdapter } from "../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../nodes/src/engine/train/trainer.ts";
import { decodeTracInCheckpoint, type TracInCheckpoint } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import {
  attribute, baseModelDigest, buildGradientSketch, buildSpanIndex, createFileDataSource, createFileGradientRecomputeSource,
  createOutputGradientRecomputer, encodeGradientSketch, encodeSpanIndex, gradientSketchFileName, manifestRoot, outputGradients,
  outputTokensFileName, promptTokensFileName, spanIndexFileName, verifyRecord, type AttributionDataSource, type AttributionRecord,
  type DatanetManifest, type DatanetVersionReader, type GradientSketch, type OutputGradientRecomputer, type SpanIndex, type VerifyOptions,
} from "../../../nodes/src/attribution/index.ts";
import { TINY_CONFIG, tinyTensors, tinyTokenizerFiles } from "../engine/formats/tiny-checkpoint.ts";
import { ACCOUNTS, randomTokens, seededRandom } from "./fixtures.ts";

const backend = createReferenceBackend();
const T = 32;
let dir: string;
let model: LlamaModel;
let checkpoints: TracInCheckpoint[];
let sketch: GradientSketch;
let record: AttributionRecord;
/** The same output against a sketch over the last layer only, compared by cosine (its own model CID). */
let restricted: AttributionRecord;
/** The same output against a sketch that leaves the passage all contributors share out of its losses (its own model CID). */
let sharedTextRecord: AttributionRecord;
let prompt: number[];
let output: number[];
let source: AttributionDataSource;
let options: VerifyOptions;
let root: Hex;
let index: SpanIndex;
const ids = [21n, 22n, 23n, 24n];
const shared = Array.from({ length: 12 }, (_, i) => 250 + (i % 7) * 3);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "verify-gradients-"));
  // Base model folder, stored under its weights digest.
  const staging = join(dir, "staging");
  await saveModelFolder(staging, { config: TINY_CONFIG, tensors: tinyTensors(), ...tinyTokenizerFiles() });
  const baseDigest = await baseModelDigest(staging);
  await mkdir(join(dir, "models"));
  await rename(staging, join(dir, "models", baseDigest));
  const folder = await loadModelFolder(join(dir, "models", baseDigest));
  model = new LlamaModel(folder.config, new Map([...folder.tensors].map(([n, t]) => [n, t.data])), backend);

  // A Datanet of four contributions; every one also holds the same shared passage.
  const random = seededRandom(3);
  const documents = ids.map((contributionId) => ({ contributionId, tokens: Int32Array.from([...randomTokens(random, 60, 240), ...shared, ...randomTokens(random, 20, 240)]) }));
  const manifest: DatanetManifest = { contributions: ids.map((contributionId, i) => ({ contributionId, contributor: ACCOUNTS[i % 3], digest: keccak256(toHex(`c${contributionId}`)) })) };
  root = manifestRoot(manifest);
  index = buildSpanIndex(root, documents);

  // Train with TracIn checkpoints, then keep them under their digests as a node would on IPFS.
  model.setAdapter(createLoraAdapter(TINY_CONFIG, { rank: 2, alpha: 4, targetModules: ["q_proj", "v_proj", "down_proj"] }, { seed: 1, baseModel: baseDigest }));
  const trainer = new Trainer({
    model, trainSequences: documents.map((d) => d.tokens), batchSize: 4, sequenceLength: T, totalSteps: 6, learningRate: 3e-2,
    minLearningRate: 3e-3, seed: 2, tracinSteps: [3, 6], tracinDir: join(dir, "tracin"),
  });
  for await (const _ of trainer.run());
  await mkdir(join(dir, "checkpoints"));
  checkpoints = [];
  for (const file of trainer.tracinCheckpoints) {
    await copyFile(file.path!, join(dir, "checkpoints", `${file.digest}.safetensors`));
    checkpoints.push(decodeTracInCheckpoint(await readFile(file.path!), TINY_CONFIG));
  }
  sketch = buildGradientSketch(model, checkpoints, documents, {
    projection: { kind: "kronecker-rademacher", dimensions: 64, seed: 9 }, sequenceLength: T, baseModel: baseDigest, batchSize: 3,
  });

  // An output that continues contribution 22's text, then the shared passage.
  prompt = Array.from(documents[1].tokens.subarray(0, 6));
  output = [...Array.from(documents[1].tokens.subarray(6, 20)), ...shared, 7, 8];
  const gradients = outputGradients(model, sketch.provenance!, checkpoints, prompt, output);
  record = attribute({
    requestId: "req-g", model: { id: 5n, cid: "bafyadapter" }, datanet: { id: 1n, version: 1 }, outputTokens: output, index,
    gradients: { sketch, output: gradients, prompt, backend: "reference" },
  });

  const lastLayerSketch = buildGradientSketch(model, checkpoints, documents, {
    projection: { kind: "kronecker-rademacher", dimensions: 64, seed: 9 }, sequenceLength: T, baseModel: baseDigest, batchSize: 3, lastLayers: 1, similarity: "cosine",
  });
  restricted = attribute({
    requestId: "req-g", model: { id: 6n, cid: "bafylastlayer" }, datanet: { id: 1n, version: 1 }, outputTokens: output, index,
    gradients: { sketch: lastLayerSketch, output: outputGradients(model, lastLayerSketch.provenance!, checkpoints, prompt, output), prompt, backend: "reference" },
  });

  const contributorOf = new Map(manifest.contributions.map((c) => [c.contributionId, c.contributor]));
  const sharedTextSketch = buildGradientSketch(model, checkpoints, documents.map((d) => ({ ...d, contributor: contributorOf.get(d.contributionId)! })), {
    projection: { kind: "kronecker-rademacher", dimensions: 64, seed: 9 }, sequenceLength: T, baseModel: baseDigest, batchSize: 3, sharedText: {},
  });
  sharedTextRecord = attribute({
    requestId: "req-g", model: { id: 7n, cid: "bafysharedtext" }, datanet: { id: 1n, version: 1 }, outputTokens: output, index,
    gradients: { sketch: sharedTextSketch, output: outputGradients(model, sharedTextSketch.provenance!, checkpoints, prompt, output), prompt, backend: "reference" },
  });

  await writeFile(join(dir, spanIndexFileName(root)), encodeSpanIndex(index));
  await writeFile(join(dir, gradientSketchFileName("bafysharedtext")), encodeGradientSketch(sharedTextSketch));
  await writeFile(join(dir, gradientSketchFileName("bafyadapter")), encodeGradientSketch(sketch));
  await writeFile(join(dir, gradientSketchFileName("bafylastlayer")), encodeGradientSketch(lastLayerSketch));
  await mkdir(join(dir, "outputs"));
  await writeFile(join(dir, "outputs", outputTokensFileName("req-g")), JSON.stringify(output));
  await writeFile(join(dir, "outputs", promptTokensFileName("req-g")), JSON.stringify(prompt));
  source = createFileDataSource({ indexDir: dir, outputDir: join(dir, "outputs") });
  const recomputer: OutputGradientRecomputer = createOutputGradientRecomputer(
    createFileGradientRecomputeSource({ modelsDir: join(dir, "models"), checkpointsDir: join(dir, "checkpoints") }),
    { reference: createReferenceBackend() },
  );
  // An injected registry reader (the viem one is tested in datanet-version-reader.test.ts).
  const chain: DatanetVersionReader = { versionRoot: async (id, version) => (id === 1n && version === 1 ? root : id === 1n && version === 2 ? keccak256(toHex("v2")) : undefined) };
  options = { gradients: recomputer, chain };
});
after(() => rm(dir, { recursive: true, force: true }));

function forged(path: (string | number)[], value: unknown, of: AttributionRecord = record): unknown {
  const copy = structuredClone(of) as unknown as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
  return copy;
}

describe("verifier recomputes gradient evidence", () => {
  it("accepts an honest record with gradient evidence, recomputed bit for bit", async () => {
    assert.ok(record.evidence.gradient && record.weights.length > 0);
    const result = await verifyRecord(record, source, options);
    assert.deepEqual(result.discrepancies, []);
  });

  it("reports a span-only record of a model that publishes a gradient sketch: its node skipped the gradient part", async () => {
    const spanOnly = (cid: string) => attribute({ requestId: "req-g", model: { id: 5n, cid }, datanet: { id: 1n, version: 1 }, outputTokens: output, index });
    const skipped = spanOnly("bafyadapter");
    assert.equal(skipped.evidence.gradient, null);
    assert.ok(skipped.weights.length > 0, "self-consistent: its weights are what its span evidence gives");
    const result = await verifyRecord(skipped, source, options);
    assert.deepEqual(result.discrepancies.map((d) => d.code), ["gradient-missing"]);
    assert.match(result.discrepancies[0].message, /bafyadapter's attribution index document names a gradient sketch/);
    // A model without a sketch is attributed by span only: nothing is missing.
    assert.deepEqual((await verifyRecord(spanOnly("bafynosketch"), source, options)).discrepancies, []);
    // A source that reads the index documents answers for itself, without holding the sketch.
    const knowing: AttributionDataSource = { ...source, gradientSketch: async () => undefined, namesGradientSketch: async (cid) => cid === "bafynosketch" };
    assert.deepEqual((await verifyRecord(spanOnly("bafynosketch"), knowing, options)).discrepancies.map((d) => d.code), ["gradient-missing"]);
    assert.deepEqual((await verifyRecord(skipped, knowing, options)).discrepancies, []);
  });

  it("reports gradient evidence it cannot recompute instead of trusting it", async () => {
    const result = await verifyRecord(record, source, { chain: options.chain });
    assert.deepEqual(result.discrepancies.map((d) => d.code), ["gradient-unverifiable"]);
    const noPrompt = createFileDataSource({ indexDir: dir });
    assert.ok((await verifyRecord(record, noPrompt, options)).discrepancies.some((d) => d.code === "gradient-unverifiable"));
  });

  it("catches the attack of issue 8: a novel output whose gradient is one training example's, self-consistent weights", async () => {
    // The node claims the output's gradient equals contribution 24's training gradient and writes weights that follow from it.
    const dims = sketch.dims;
    const target = sketch.exampleContributionIds.indexOf(24n);
    const stolen = sketch.checkpoints.map((c) => ({ learningRate: c.learningRate, gradient: c.exampleGradients.slice(target * dims, (target + 1) * dims) }));
    const index = (await source.spanIndex(root))!;
    const attack = attribute({
      requestId: "req-g", model: { id: 5n, cid: "bafyadapter" }, datanet: { id: 1n, version: 1 }, outputTokens: output, index,
      gradients: { sketch, output: stolen, prompt, backend: "reference" },
    });
    const honest = new Map(record.weights.map((w) => [w.contributionId, w.ppm]));
    assert.ok(attack.weights.find((w) => w.contributionId === "24")!.ppm > (honest.get("24") ?? 0), "the forged gradient moves weight to 24");
    const codes = (await verifyRecord(attack, source, options)).discrepancies.map((d) => d.code);
    assert.ok(codes.includes("gradient-output") && codes.includes("record-weight"), codes.join());
  });

  it("catches every forged field of the record", async () => {
    const g = record.evidence.gradient!;
    const otherDigest = `0x${"cd".repeat(32)}`;
    const cases: [string, (string | number)[], unknown][] = [
      ["schema", ["schema"], "tributary.attribution/1"],
      ["requestId", ["requestId"], "req-other"],
      ["model.cid", ["model", "cid"], "bafyother"],
      ["datanet.id", ["datanet", "id"], "2"],
      ["datanet.version", ["datanet", "version"], 2],
      ["datanet.root", ["datanet", "root"], otherDigest],
      ["datanet.spanIndex", ["datanet", "spanIndex"], otherDigest],
      ["output.hash", ["output", "hash"], otherDigest],
      ["output.tokenCount", ["output", "tokenCount"], record.output.tokenCount - 1],
      ["parameters.minSpanLength", ["parameters", "minSpanLength"], 9],
      ["parameters.maxOccurrences", ["parameters", "maxOccurrences"], 1],
      ["parameters.indexTokens", ["parameters", "indexTokens"], record.parameters.indexTokens + 1],
      ["parameters.mixPpm", ["parameters", "mixPpm"], 400_000],
      ["parameters.effectiveMixPpm", ["parameters", "effectiveMixPpm"], 1_000_000],
      ["parameters.gradientDims", ["parameters", "gradientDims"], 32],
      ["parameters.gradientAggregation", ["parameters", "gradientAggregation"], "sum"],
      ["weights[0].ppm", ["weights"], record.weights.map((w, i) => ({ ...w, ppm: w.ppm + (i === 0 ? 1 : i === 1 ? -1 : 0) }))],
      ["weights[0].contributionId", ["weights", 0, "contributionId"], "20"],
      ["evidence.spans[0].outputStart", ["evidence", "spans", 0, "outputStart"], record.evidence.spans[0].outputStart + 1],
      ["evidence.spans[0].tokens", ["evidence", "spans", 0, "tokens", 0], (record.evidence.spans[0].tokens[0] + 1) % 240],
      ["evidence.spans[0].occurrences", ["evidence", "spans", 0, "occurrences"], record.evidence.spans[0].occurrences + 1],
      ["evidence.spans[0].contributions", ["evidence", "spans", 0, "contributions", 0, "count"], record.evidence.spans[0].contributions[0].count + 1],
      ["evidence.spans (one dropped)", ["evidence", "spans"], record.evidence.spans.slice(1)],
      ["evidence.windows[0].windows", ["evidence", "windows", 0, "windows"], record.evidence.windows[0].windows - 1],
      ["evidence.windows[0].occurrences", ["evidence", "windows", 0, "occurrences"], record.evidence.windows[0].occurrences + 1],
      ["evidence.windows[0].contributions", ["evidence", "windows", 0, "contributions", 0, "count"], record.evidence.windows[0].contributions[0].count + 1],
      ["evidence.windows (one dropped)", ["evidence", "windows"], record.evidence.windows.slice(1)],
      ["gradient.sketch", ["evidence", "gradient", "sketch"], otherDigest],
      ["gradient.baseModel", ["evidence", "gradient", "baseModel"], otherDigest],
      ["gradient.projection.kind", ["evidence", "gradient", "projection", "kind"], "dense-rademacher"],
      ["gradient.projection.seed", ["evidence", "gradient", "projection", "seed"], 10],
      ["gradient.projection.dims", ["evidence", "gradient", "projection", "dims"], 32],
      ["gradient.sequenceLength", ["evidence", "gradient", "sequenceLength"], T / 2],
      ["gradient.backend", ["evidence", "gradient", "backend"], "wasm-simd"],
      ["gradient.prompt.hash", ["evidence", "gradient", "prompt", "hash"], otherDigest],
      ["gradient.prompt.tokenCount", ["evidence", "gradient", "prompt", "tokenCount"], prompt.length + 1],
      ["gradient.checkpoints[0].step", ["evidence", "gradient", "checkpoints", 0, "step"], 2],
      ["gradient.checkpoints[0].learningRate", ["evidence", "gradient", "checkpoints", 0, "learningRate"], g.checkpoints[0].learningRate * 2],
      ["gradient.checkpoints[0].adapter", ["evidence", "gradient", "checkpoints", 0, "adapter"], g.checkpoints[1].adapter],
      ["gradient.checkpoints[1].outputGradient", ["evidence", "gradient", "checkpoints", 1, "outputGradient"], g.checkpoints[0].outputGradient],
      ["gradient.checkpoints (one dropped)", ["evidence", "gradient", "checkpoints"], g.checkpoints.slice(1)],
    ];
    for (const [name, path, value] of cases) {
      const result = await verifyRecord(forged(path, value), source, options);
      assert.ok(result.discrepancies.length > 0, `forged ${name} went unnoticed`);
      if (process.env.SHOW_CODES) console.log(name, result.discrepancies.map((d) => d.code).join());
    }
  });
});

/** Each case's field of `of` set to its value (undefined: dropped) must be reported by the verifier. */
async function assertEachForgeryCaught(cases: readonly [string, (string | number)[], unknown][], of: AttributionRecord): Promise<void> {
  for (const [name, path, value] of cases) {
    const tampered = forged(path, value, of) as { evidence: { gradient: Record<string, unknown> } };
    if (value === undefined) delete tampered.evidence.gradient[path.at(-1) as string];
    const result = await verifyRecord(tampered, source, options);
    assert.ok(result.discrepancies.length > 0, `forged ${name} went unnoticed`);
  }
}

describe("verifier with a sketch over the last layers, compared by cosine", () => {
  it("recomputes the output gradients over the same last layers and accepts the honest record", async () => {
    const g = restricted.evidence.gradient!;
    assert.equal(g.lastLayers, 1);
    assert.equal(g.similarity, "cosine");
    assert.notEqual(g.checkpoints[0].outputGradient, record.evidence.gradient!.checkpoints[0].outputGradient, "a last-layer gradient differs from the whole adapter's");
    assert.deepEqual((await verifyRecord(restricted, source, options)).discrepancies, []);
  });

  it("catches a forged or dropped layer restriction or similarity, and an output gradient over every layer", async () => {
    const cases: [string, (string | number)[], unknown][] = [
      ["gradient.lastLayers", ["evidence", "gradient", "lastLayers"], 2],
      ["gradient.lastLayers (dropped)", ["evidence", "gradient", "lastLayers"], undefined],
      ["gradient.similarity", ["evidence", "gradient", "similarity"], "dot"],
      ["gradient.similarity (dropped)", ["evidence", "gradient", "similarity"], undefined],
      ["gradient.checkpoints[0].outputGradient (every layer's)", ["evidence", "gradient", "checkpoints", 0, "outputGradient"], record.evidence.gradient!.checkpoints[0].outputGradient],
    ];
    await assertEachForgeryCaught(cases, restricted);
    // And the restriction cannot be added to a record whose sketch covers every layer.
    assert.ok((await verifyRecord(forged(["evidence", "gradient", "lastLayers"], 1), source, options)).discrepancies.some((d) => d.code === "gradient-provenance"));
  });
});

describe("verifier with a sketch that leaves shared text out", () => {
  it("recomputes the output gradients without the shared passage and accepts the honest record", async () => {
    const g = sharedTextRecord.evidence.gradient!;
    assert.deepEqual(g.sharedText, { n: 8, minAccounts: 2 });
    assert.notEqual(g.checkpoints[0].outputGradient, record.evidence.gradient!.checkpoints[0].outputGradient, "the shared passage is not scored");
    assert.deepEqual((await verifyRecord(sharedTextRecord, source, options)).discrepancies, []);
  });

  it("catches a forged or dropped shared-text setting, and an output gradient that scores the shared passage", async () => {
    const cases: [string, (string | number)[], unknown][] = [
      ["gradient.sharedText", ["evidence", "gradient", "sharedText"], { n: 8, minAccounts: 3 }],
      ["gradient.sharedText (dropped)", ["evidence", "gradient", "sharedText"], undefined],
      ["gradient.checkpoints[0].outputGradient (every token scored)", ["evidence", "gradient", "checkpoints", 0, "outputGradient"], record.evidence.gradient!.checkpoints[0].outputGradient],
    ];
    await assertEachForgeryCaught(cases, sharedTextRecord);
    // And the setting cannot be added to a record whose sketch scores every token.
    assert.ok((await verifyRecord(forged(["evidence", "gradient", "sharedText"], { n: 8, minAccounts: 2 }), source, options)).discrepancies.some((d) => d.code === "gradient-provenance"));
  });
});

describe("tributary-node verify-batch with gradient evidence", () => {
  it("exits 0 when given the base models and checkpoints, 1 (gradient-unverifiable) without them", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { buildBatch, serializeBatch, serializeRecords, manifestFileName } = await import("../../../nodes/src/attribution/index.ts");
    const manifest: DatanetManifest = { contributions: ids.map((contributionId, i) => ({ contributionId, contributor: ACCOUNTS[i % 3], digest: keccak256(toHex(`c${contributionId}`)) })) };
    await writeFile(join(dir, manifestFileName(root)), JSON.stringify({ contributions: manifest.contributions.map((c) => ({ ...c, contributionId: c.contributionId.toString() })) }));
    const batch = buildBatch({ records: [record], pools: new Map([["req-g", 1000n]]), manifests: new Map([[root, manifest]]), previousCredits: new Map() });
    await writeFile(join(dir, "records.json"), serializeRecords([record]));
    await writeFile(join(dir, "batch.json"), serializeBatch(batch));
    const run = promisify(execFile);
    const cli = join(import.meta.dirname, "../../../nodes/src/cli/main.ts");
    const args = [cli, "verify-batch", join(dir, "batch.json"), "--records", join(dir, "records.json"), "--index", dir, "--outputs", join(dir, "outputs")];
    const ok = await run(process.execPath, [...args, "--models", join(dir, "models"), "--checkpoints", join(dir, "checkpoints")]);
    assert.match(ok.stdout, /^OK: 1 records/);
    await assert.rejects(run(process.execPath, args), (e: { code: number; stdout: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stdout, /\[gradient-unverifiable\]/);
      return true;
    });
  });
});
