/**
 * A training node decides every contributor's gradient credit through the sketch it publishes. The sketch verifier
 * rebuilds it from its public inputs (a real tiny model, real TracIn checkpoints from the Trainer, the training
 * examples with their contributors) and catches each way of forging it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../nodes/src/engine/train/trainer.ts";
import { decodeTracInCheckpoint, type TracInCheckpoint } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import { buildGradientSketch, verifyGradientSketch, type GradientSketch, type TaggedTrainingExample } from "../../../nodes/src/attribution/index.ts";
import { TINY, TINY_LORA } from "../engine/model/tiny.ts";
import { markovCorpus } from "../engine/train/corpus.ts";
import { ACCOUNTS } from "./fixtures.ts";

const T = 16;
let dir: string;
let model: LlamaModel;
let checkpoints: TracInCheckpoint[];
let examples: TaggedTrainingExample[];
let sketch: GradientSketch;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "verify-sketch-"));
  model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), createReferenceBackend());
  model.setAdapter(createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" }));
  // Four contributions of three accounts, each opening with the same header (shared text), then a body of its own.
  const header = Int32Array.from({ length: 10 }, (_, i) => (i * 5 + 3) % TINY.vocabSize);
  const bodies = markovCorpus(TINY.vocabSize, 4, 20, 31, 2);
  examples = bodies.map((body, i) => ({ contributionId: BigInt(300 + i), contributor: ACCOUNTS[i % 3], tokens: Int32Array.from([...header, ...body]) }));
  // And one contribution that is nothing but the shared header: its row is zero.
  examples.push({ contributionId: 310n, contributor: ACCOUNTS[1], tokens: Int32Array.from(header) });
  const trainer = new Trainer({
    model, trainSequences: examples.map((e) => e.tokens), batchSize: 2, sequenceLength: T, totalSteps: 4,
    learningRate: 2e-2, minLearningRate: 2e-3, seed: 5, tracinSteps: [2, 4], tracinDir: dir,
  });
  for await (const _ of trainer.run());
  checkpoints = await Promise.all(trainer.tracinCheckpoints.map(async (c) => decodeTracInCheckpoint(await readFile(c.path!), TINY)));
  sketch = build({});
  assert.ok(sketch.checkpoints[0].exampleGradients.subarray(4 * 64, 5 * 64).every((x) => x === 0), "the header-only contribution's row is zero");
  assert.ok(sketch.provenance!.sharedText!.runs.length > 0, "the header is shared");
});
after(() => rm(dir, { recursive: true, force: true }));

const withRows = (edit: (rows: Float32Array[]) => void): GradientSketch => {
  const rows = sketch.checkpoints.map((c) => Float32Array.from(c.exampleGradients));
  edit(rows);
  return { ...sketch, checkpoints: sketch.checkpoints.map((c, i) => ({ ...c, exampleGradients: rows[i] })) };
};
const codes = (v: { discrepancies: { code: string }[] }) => v.discrepancies.map((d) => d.code);

const build = (options: { seed?: number; sharedText?: boolean }) => buildGradientSketch(model, checkpoints, examples, {
  projection: { dimensions: 64, seed: options.seed ?? 7, kind: "kronecker-rademacher" }, sequenceLength: T, baseModel: `0x${"cd".repeat(32)}`, batchSize: 2,
  similarity: "cosine", ...(options.sharedText === false ? {} : { sharedText: { n: 4 } }),
});

describe("verifying a published gradient sketch", () => {
  it("accepts the honest sketch, rebuilt with another batch size (rows agree to rounding, not bits)", () => {
    const v = verifyGradientSketch(model, checkpoints, examples, sketch, { batchSize: 3 });
    assert.deepEqual(v.discrepancies, []);
    assert.equal(v.rowsChecked, examples.length * checkpoints.length);
    assert.ok(v.maxRelativeError < 1e-4, String(v.maxRelativeError));
  });

  it("catches a victim's row zeroed or replaced by a rival's, naming the victim", () => {
    const k = sketch.dims;
    const zeroed = verifyGradientSketch(model, checkpoints, examples, withRows((rows) => rows[0].fill(0, 1 * k, 2 * k)));
    assert.deepEqual(codes(zeroed), ["sketch-row"]);
    assert.equal(zeroed.discrepancies[0].account, examples[1].contributor);
    const copied = verifyGradientSketch(model, checkpoints, examples, withRows((rows) => rows[1].copyWithin(1 * k, 2 * k, 3 * k)));
    assert.deepEqual(codes(copied), ["sketch-row"]);
  });

  it("catches a NaN row, also where the honest row is zero", () => {
    for (const e of [0, 4]) {
      const v = verifyGradientSketch(model, checkpoints, examples, withRows((rows) => { rows[1][e * sketch.dims + 3] = Number.NaN; }));
      assert.deepEqual(codes(v), ["sketch-row"], `example ${e}`);
    }
  });

  it("with the job's rules, catches a sketch built honestly with a projection seed or shared-text rule the node picked", () => {
    const expected = {
      projection: { kind: "kronecker-rademacher" as const, seed: 7, dims: 64 }, sequenceLength: T, similarity: "cosine" as const, lastLayers: null,
      sharedText: { n: 4, minAccounts: 2 }, checkpointSteps: [2, 4],
    };
    assert.deepEqual(verifyGradientSketch(model, checkpoints, examples, sketch, { expected }).discrepancies, []);
    for (const forged of [build({ seed: 8 }), build({ sharedText: false })]) {
      assert.deepEqual(verifyGradientSketch(model, checkpoints, examples, forged).discrepancies, [], "self-consistent: every row rebuilds");
      assert.deepEqual(codes(verifyGradientSketch(model, checkpoints, examples, forged, { expected })), ["sketch-settings"]);
    }
  });

  it("catches examples relabelled to other contributions, and a missing example", () => {
    const ids = [...sketch.exampleContributionIds];
    [ids[0], ids[1]] = [ids[1], ids[0]];
    assert.deepEqual(codes(verifyGradientSketch(model, checkpoints, examples, { ...sketch, exampleContributionIds: ids })), ["sketch-examples"]);
    assert.deepEqual(codes(verifyGradientSketch(model, checkpoints, examples.slice(0, 3), sketch)), ["sketch-examples"]);
  });

  it("catches a contributor's own text declared shared, and shared text dropped from the provenance", () => {
    const provenance = sketch.provenance!;
    const victimBody = Array.from(examples[2].tokens.subarray(10));
    const declared = { ...sketch, provenance: { ...provenance, sharedText: { ...provenance.sharedText!, runs: [...provenance.sharedText!.runs, victimBody] } } };
    assert.deepEqual(codes(verifyGradientSketch(model, checkpoints, examples, declared)), ["sketch-shared-text"]);
    const { sharedText: _, ...unshared } = provenance;
    const dropped = verifyGradientSketch(model, checkpoints, examples, { ...sketch, provenance: unshared });
    assert.ok(dropped.discrepancies.length > 0 && codes(dropped).every((c) => c === "sketch-row"), JSON.stringify(codes(dropped)));
  });

  it("reports checkpoints other than the provenance's instead of rebuilding with them", () => {
    assert.deepEqual(codes(verifyGradientSketch(model, [checkpoints[1], checkpoints[0]], examples, sketch)), ["sketch-checkpoints", "sketch-checkpoints"]);
    // One fewer: the first given is not the first named, and the count differs.
    assert.deepEqual(codes(verifyGradientSketch(model, checkpoints.slice(1), examples, sketch)), ["sketch-checkpoints", "sketch-checkpoints"]);
  });
});
