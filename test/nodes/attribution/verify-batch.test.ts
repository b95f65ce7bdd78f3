import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  buildBatch,
  createFileDataSource,
  encodeGradientSketch,
  encodeSpanIndex,
  gradientSketchFileName,
  manifestFileName,
  manifestRoot,
  outputTokensFileName,
  serializeBatch,
  serializeRecords,
  spanIndexFileName,
  verifyBatch,
  type AttributionDataSource,
  type SettlementBatch,
} from "../../../nodes/src/attribution/index.ts";
import { copiedOutput, datanetFixture, fixturePools, fixtureRecords } from "./fixtures.ts";

const fixture = datanetFixture();
const root = manifestRoot(fixture.manifest);
const records = fixtureRecords(fixture);
const batch = buildBatch({ records, pools: fixturePools(), manifests: new Map([[root, fixture.manifest]]), previousCredits: new Map() });

let dir: string;
let source: AttributionDataSource;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "verify-batch-"));
  await writeFile(join(dir, spanIndexFileName(root)), encodeSpanIndex(fixture.index));
  // The fixture's model is span-only: no gradient sketch is stored for it (one that has one is tested below).
  const manifestJson = {
    contributions: fixture.manifest.contributions.map((c) => ({ contributionId: c.contributionId.toString(), contributor: c.contributor, digest: c.digest })),
  };
  await writeFile(join(dir, manifestFileName(root)), JSON.stringify(manifestJson));
  source = createFileDataSource({ indexDir: dir });
});
after(() => rm(dir, { recursive: true }));

const clone = <T>(value: T): T => structuredClone(value);

describe("batch verifier", () => {
  it("accepts a batch that recomputes exactly", async () => {
    const result = await verifyBatch(batch, records, source);
    assert.deepEqual(result.discrepancies, []);
    assert.ok(result.ok);
  });

  it("catches one tampered weight, in the record and in the credits it moved", async () => {
    const tampered = clone(records);
    const weights = tampered[2].weights;
    assert.ok(weights.length >= 1);
    // Move 1000 ppm to a contribution the evidence does not support, then rebuild the batch so it is self-consistent.
    weights[0].ppm -= 1000;
    weights.push({ contributionId: "13" === weights[0].contributionId ? "12" : "13", ppm: 1000 });
    weights.sort((a, b) => Number(BigInt(a.contributionId) - BigInt(b.contributionId)));
    const forged = buildBatch({ records: tampered, pools: fixturePools(), manifests: new Map([[root, fixture.manifest]]), previousCredits: new Map() });
    const result = await verifyBatch(forged, tampered, source);
    assert.equal(result.ok, false);
    const codes = new Set(result.discrepancies.map((d) => d.code));
    assert.ok(codes.has("record-weight"), JSON.stringify(result.discrepancies));
    assert.ok(codes.has("credit-cumulative") && codes.has("batch-root"));
    assert.ok(result.discrepancies.some((d) => d.requestId === "req-2" && /weighted \d+ ppm; the evidence gives \d+ ppm/.test(d.message)));
  });

  it("reports every span-only record of a model that publishes a gradient sketch (gradient-missing)", async () => {
    const sketched = join(dir, "sketched");
    await mkdir(sketched);
    for (const name of [spanIndexFileName(root), manifestFileName(root)]) await copyFile(join(dir, name), join(sketched, name));
    await writeFile(join(sketched, gradientSketchFileName("bafymodel")), encodeGradientSketch(fixture.sketch));
    const result = await verifyBatch(batch, records, createFileDataSource({ indexDir: sketched }));
    assert.equal(result.ok, false);
    assert.deepEqual(result.discrepancies.map((d) => [d.code, d.requestId]), records.map((r) => ["gradient-missing", r.requestId]));
  });

  it("catches a tampered credit and the proof that no longer verifies", async () => {
    const forged: SettlementBatch = clone(batch);
    forged.credits[0].cumulative = (BigInt(forged.credits[0].cumulative) + 1n).toString();
    const result = await verifyBatch(forged, records, source);
    assert.equal(result.ok, false);
    assert.deepEqual(result.discrepancies.map((d) => d.code).sort(), ["credit-cumulative", "credit-proof"]);
    assert.match(result.discrepancies[0].message, new RegExp(`account ${forged.credits[0].account.toLowerCase()}: cumulative credit \\d+; recomputed \\d+`));
  });

  it("catches span evidence that the index does not support and records that do not match the batch", async () => {
    const tampered = clone(records);
    tampered[0].evidence.spans[0].occurrences = 3;
    const result = await verifyBatch(batch, tampered, source);
    const codes = result.discrepancies.map((d) => d.code);
    assert.ok(codes.includes("span-occurrences") && codes.includes("records-hash"), codes.join());
  });

  it("reports missing public data instead of guessing", async () => {
    const empty = await mkdtemp(join(tmpdir(), "verify-empty-"));
    try {
      const result = await verifyBatch(batch, records, createFileDataSource({ indexDir: empty }));
      assert.deepEqual(result.discrepancies.map((d) => d.code), ["missing-index", "batch-not-recomputed"]);
      assert.match(result.discrepancies[0].message, /record req-0: no span index for Datanet root 0x[0-9a-f]{64}/);
    } finally {
      await rm(empty, { recursive: true });
    }
  });

  it("catches omitted spans when the payer published the output tokens", async () => {
    const hidden = clone(records);
    Object.assign(hidden[0], { weights: [] });
    hidden[0].evidence.spans = [];
    hidden[0].evidence.windows = [];
    hidden[0].parameters.effectiveMixPpm = 0;
    const forged = buildBatch({ records: hidden, pools: fixturePools(), manifests: new Map([[root, fixture.manifest]]), previousCredits: new Map() });
    assert.ok((await verifyBatch(forged, hidden, source)).ok, "self-consistent without the output");

    const outputDir = join(dir, "outputs");
    await mkdir(outputDir);
    await writeFile(join(outputDir, outputTokensFileName("req-0")), JSON.stringify(copiedOutput(fixture, 0, 10, 30)));
    const result = await verifyBatch(forged, hidden, createFileDataSource({ indexDir: dir, outputDir }));
    assert.deepEqual(result.discrepancies.map((d) => d.code), ["span-set"]);
  });

  it("runs as tributary-node verify-batch with exit code 0 when clean and 1 on discrepancies", async () => {
    const run = promisify(execFile);
    const cli = join(import.meta.dirname, "../../../nodes/src/cli/main.ts");
    await writeFile(join(dir, "records.json"), serializeRecords(records));
    await writeFile(join(dir, "batch.json"), serializeBatch(batch));
    const ok = await run(process.execPath, [cli, "verify-batch", join(dir, "batch.json"), "--records", join(dir, "records.json"), "--index", dir]);
    assert.match(ok.stdout, /^OK: 4 records and \d+ account credits recompute exactly/);

    const forged = clone(batch);
    forged.total = "1";
    await writeFile(join(dir, "forged.json"), serializeBatch(forged));
    await assert.rejects(run(process.execPath, [cli, "verify-batch", join(dir, "forged.json"), "--records", join(dir, "records.json"), "--index", dir]), (e: { code: number; stdout: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stdout, /\[batch-total\] batch total is 1; recomputed \d+/);
      return true;
    });
    await assert.rejects(run(process.execPath, [cli, "verify-batch", join(dir, "records.json"), "--records", join(dir, "records.json"), "--index", dir]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /Invalid settlement batch/);
      return true;
    });
  });
});
