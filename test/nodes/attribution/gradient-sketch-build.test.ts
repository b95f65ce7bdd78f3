import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../nodes/src/engine/train/trainer.ts";
import { contentDigest, decodeTracInCheckpoint, type TracInCheckpoint } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import { projectedExampleGradients, projectedOutputGradient } from "../../../nodes/src/engine/train/projected-gradients.ts";
import { SharedTextMask } from "../../../nodes/src/attribution/shared-text.ts";
import { loadTokenizer } from "../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import {
  buildGradientSketch, decodeGradientSketch, encodeGradientSketch, gradientSketchDigest, outputGradients, trainingExamplesFromManifest,
  MissingDataError, InvalidParameterError, type DatanetManifest,
} from "../../../nodes/src/attribution/index.ts";
import { TINY, TINY_LORA } from "../engine/model/tiny.ts";
import { markovCorpus } from "../engine/train/corpus.ts";
import { ACCOUNTS } from "./fixtures.ts";

const backend = createReferenceBackend();
const BASE_DIGEST = `0x${"ab".repeat(32)}` as const;

/** Trains TINY's adapter for 4 steps with TracIn checkpoints after steps 2 and 4; returns them read back from disk. */
async function trainWithCheckpoints(dir: string): Promise<{ model: LlamaModel; checkpoints: TracInCheckpoint[]; trainer: Trainer }> {
  const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
  model.setAdapter(createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" }));
  const trainer = new Trainer({
    model, trainSequences: markovCorpus(TINY.vocabSize, 12, 17, 2, 2), batchSize: 4, sequenceLength: 16, totalSteps: 4,
    learningRate: 2e-2, minLearningRate: 2e-3, seed: 5, tracinSteps: [2, 4], tracinDir: dir,
  });
  const written = [];
  for await (const event of trainer.run()) if (event.tracinCheckpoint) written.push(event.tracinCheckpoint);
  assert.deepEqual(written.map((c) => c.step), [2, 4]);
  assert.deepEqual(trainer.tracinCheckpoints, written);
  const checkpoints = await Promise.all(written.map(async (c) => {
    const bytes = await readFile(c.path!);
    assert.equal(contentDigest(bytes), c.digest);
    return decodeTracInCheckpoint(bytes, TINY);
  }));
  return { model, checkpoints, trainer };
}

describe("gradient sketches built in the training job", () => {
  it("the trainer writes TracIn checkpoints (PEFT layout, step, learning rate) that read back exactly, and resume finds them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tracin-"));
    try {
      const { model, checkpoints, trainer } = await trainWithCheckpoints(dir);
      const final = checkpoints[1];
      assert.equal(final.step, 4);
      assert.ok(final.learningRate > 0 && final.learningRate < checkpoints[0].learningRate);
      // The last checkpoint is the trained adapter itself.
      for (const [key, { A, B }] of model.getAdapter()!.weights) {
        assert.deepEqual(final.adapter.weights.get(key)!.A, A);
        assert.deepEqual(final.adapter.weights.get(key)!.B, B);
      }
      assert.notDeepEqual(checkpoints[0].adapter.weights.get("0.q_proj")!.B, final.adapter.weights.get("0.q_proj")!.B);

      await trainer.saveCheckpoint(join(dir, "state"));
      const model2 = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
      model2.setAdapter(createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" }));
      const resumed = new Trainer({ ...trainer.options, model: model2 });
      await resumed.resume(join(dir, "state"));
      assert.deepEqual(resumed.tracinCheckpoints, trainer.tracinCheckpoints);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("buildGradientSketch takes every example's projected gradient at every checkpoint and names its provenance; the file keeps it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tracin-"));
    try {
      const { model, checkpoints } = await trainWithCheckpoints(dir);
      const attached = model.getAdapter();
      const examples = markovCorpus(TINY.vocabSize, 3, 20, 9, 2).map((tokens, i) => ({ contributionId: BigInt(100 + (i % 2)), tokens }));
      const projection = { dimensions: 64, seed: 11, kind: "kronecker-rademacher" as const };
      const sketch = buildGradientSketch(model, checkpoints, examples, { projection, sequenceLength: 16, baseModel: BASE_DIGEST });
      assert.equal(model.getAdapter(), attached, "the model's own adapter is put back");
      assert.deepEqual(sketch.exampleContributionIds, [100n, 101n, 100n]);
      assert.deepEqual(sketch.provenance, {
        projection: { kind: "kronecker-rademacher", seed: 11, dims: 64 }, sequenceLength: 16, baseModel: BASE_DIGEST,
        checkpoints: checkpoints.map((c) => ({ step: c.step, learningRate: c.learningRate, digest: c.digest })),
      });
      checkpoints.forEach((checkpoint, i) => {
        model.setAdapter(checkpoint.adapter);
        // The sketch splits per-example gradients out of batched passes: equal to one-at-a-time up to rounding.
        const rows = projectedExampleGradients(model, examples.map((e) => e.tokens), 16, projection);
        rows.forEach((row, e) => {
          const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
          row.forEach((x, j) => assert.ok(Math.abs(sketch.checkpoints[i].exampleGradients[e * 64 + j] - x) < 1e-4 * norm));
        });
        assert.equal(sketch.checkpoints[i].learningRate, checkpoint.learningRate);
      });
      const bytes = encodeGradientSketch(sketch);
      const decoded = decodeGradientSketch(bytes);
      assert.deepEqual(decoded.provenance, sketch.provenance);
      assert.deepEqual(decoded.checkpoints.map((c) => Array.from(c.exampleGradients)), sketch.checkpoints.map((c) => Array.from(c.exampleGradients)));
      assert.equal(gradientSketchDigest(decoded), contentDigest(bytes));

      // Over the last layer only, compared by cosine: the provenance (and so the file and its digest) says so, and the
      // rows are the last layer's gradients, as one-at-a-time passes over that layer give them.
      const last = buildGradientSketch(model, checkpoints, examples, { projection, sequenceLength: 16, baseModel: BASE_DIGEST, lastLayers: 1, similarity: "cosine" });
      assert.deepEqual({ lastLayers: last.provenance!.lastLayers, similarity: last.provenance!.similarity }, { lastLayers: 1, similarity: "cosine" });
      assert.deepEqual(decodeGradientSketch(encodeGradientSketch(last)).provenance, last.provenance);
      assert.notEqual(gradientSketchDigest(last), gradientSketchDigest(sketch));
      model.setAdapter(checkpoints.at(-1)!.adapter);
      const rows = projectedExampleGradients(model, examples.map((e) => e.tokens), 16, projection, { lastLayers: 1 });
      rows.forEach((row, e) => {
        const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
        row.forEach((x, j) => assert.ok(Math.abs(last.checkpoints.at(-1)!.exampleGradients[e * 64 + j] - x) < 1e-4 * norm));
      });
      model.setAdapter(attached);
      assert.throws(() => buildGradientSketch(model, checkpoints, examples, { projection, sequenceLength: 16, baseModel: BASE_DIGEST, lastLayers: TINY.numLayers + 1 }), /lastLayers/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with sharedText, leaves text two accounts share out of every row and every output gradient, and names it in the provenance", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tracin-"));
    try {
      const { model, checkpoints } = await trainWithCheckpoints(dir);
      const header = Int32Array.from({ length: 10 }, (_, i) => (i * 5 + 3) % TINY.vocabSize);
      const bodies = markovCorpus(TINY.vocabSize, 3, 14, 21, 2);
      // Three contributions of two accounts, each opening with the same header.
      const examples = bodies.map((body, i) => ({ contributionId: BigInt(200 + i), contributor: ACCOUNTS[i % 2], tokens: Int32Array.from([...header, ...body]) }));
      const projection = { dimensions: 64, seed: 11, kind: "kronecker-rademacher" as const };
      const options = { projection, sequenceLength: 16, baseModel: BASE_DIGEST, batchSize: 2, sharedText: { n: 4, minAccounts: 2 } };
      const sketch = buildGradientSketch(model, checkpoints, examples, options);
      const shared = sketch.provenance!.sharedText!;
      assert.deepEqual({ n: shared.n, minAccounts: shared.minAccounts }, { n: 4, minAccounts: 2 });
      assert.ok(shared.runs.some((run) => header.every((t, i) => run[i] === t)), "the header is shared text");
      assert.deepEqual(decodeGradientSketch(encodeGradientSketch(sketch)).provenance, sketch.provenance, "the file keeps it");

      // Each row is the example's gradient with the shared tokens unscored.
      const mask = new SharedTextMask(shared);
      checkpoints.forEach((checkpoint, c) => {
        model.setAdapter(checkpoint.adapter);
        const rows = projectedExampleGradients(model, examples.map((e) => e.tokens), 16, projection, {}, examples.map((e) => mask.unscored(e.tokens)));
        const plain = projectedExampleGradients(model, examples.map((e) => e.tokens), 16, projection);
        rows.forEach((row, e) => {
          const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
          row.forEach((x, j) => assert.ok(Math.abs(sketch.checkpoints[c].exampleGradients[e * 64 + j] - x) < 1e-4 * norm));
          assert.ok(plain[e].some((x, j) => Math.abs(x - row[j]) > 1e-3 * norm), "scoring the header would give another row");
        });
      });

      // An output that repeats the header: its gradient leaves the header out, as the rows do.
      const prompt = [1, 2, 3];
      const output = [...header, ...Array.from(bodies[0].subarray(0, 4))];
      const gradients = outputGradients(model, sketch.provenance!, checkpoints, prompt, output);
      const sequence = Int32Array.from([...prompt, ...output]);
      model.setAdapter(checkpoints[0].adapter);
      assert.deepEqual(gradients[0].gradient, projectedOutputGradient(model, sequence, prompt.length, 16, projection, {}, mask.unscored(sequence)));
      const plain = buildGradientSketch(model, checkpoints, examples, { ...options, sharedText: undefined });
      assert.equal(plain.provenance!.sharedText, undefined);
      assert.notDeepEqual(outputGradients(model, plain.provenance!, checkpoints, prompt, output)[0].gradient, gradients[0].gradient);

      const anonymous = examples.map(({ contributionId, tokens }) => ({ contributionId, tokens }));
      assert.throws(() => buildGradientSketch(model, checkpoints, anonymous, options), /needs every example's contributor/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("trainingExamplesFromManifest fetches, decodes and tokenizes each contribution, tagged with its id, in manifest order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "contents-"));
    try {
      const modelDir = "models/tributary-base-v0";
      const tokenizer = loadTokenizer(JSON.parse(await readFile(join(modelDir, "tokenizer.json"), "utf8")), JSON.parse(await readFile(join(modelDir, "tokenizer_config.json"), "utf8")));
      const texts = ["The river runs to the sea.", "A tributary feeds the river."];
      const digests = texts.map((t) => contentDigest(new TextEncoder().encode(t)));
      await Promise.all(texts.map((t, i) => writeFile(join(dir, digests[i]), t)));
      const source = { content: async (digest: string) => readFile(join(dir, digest)).catch(() => undefined) };
      const manifest: DatanetManifest = { contributions: [7n, 3n].map((contributionId, i) => ({ contributionId, contributor: ACCOUNTS[i], digest: digests[i] })) };
      const examples = await trainingExamplesFromManifest(manifest, source, { tokenizer });
      assert.deepEqual(examples.map((e) => e.contributionId), [7n, 3n]);
      assert.deepEqual(examples.map((e) => e.contributor), [ACCOUNTS[0], ACCOUNTS[1]], "tagged with the contributor: shared text is counted by account");
      examples.forEach((example, i) => {
        const ids = tokenizer.encode(texts[i], { addSpecialTokens: false });
        const expected = [tokenizer.bosTokenId, ...ids, tokenizer.eosTokenId].filter((id) => id !== undefined);
        assert.deepEqual(Array.from(example.tokens), expected);
      });

      const missing: DatanetManifest = { contributions: [{ contributionId: 9n, contributor: ACCOUNTS[0], digest: `0x${"00".repeat(32)}` }] };
      await assert.rejects(trainingExamplesFromManifest(missing, source, { tokenizer }), MissingDataError);
      await writeFile(join(dir, `0x${"11".repeat(32)}`), Uint8Array.from([0xff, 0xfe, 0x00]));
      const binary: DatanetManifest = { contributions: [{ contributionId: 9n, contributor: ACCOUNTS[0], digest: `0x${"11".repeat(32)}` }] };
      await assert.rejects(trainingExamplesFromManifest(binary, source, { tokenizer }), (e) => e instanceof InvalidParameterError && /not UTF-8/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("TracIn checkpoint options", () => {
  it("refuses a TracIn step whose learning rate is 0 before training starts", () => {
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
    model.setAdapter(createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" }));
    const options = { model, trainSequences: markovCorpus(TINY.vocabSize, 4, 17, 2, 2), batchSize: 2, sequenceLength: 16, totalSteps: 4, learningRate: 1e-2, seed: 1, tracinDir: "/nonexistent" };
    assert.throws(() => new Trainer({ ...options, tracinSteps: [4] }), /learning rate 0/);
    assert.throws(() => new Trainer({ ...options, tracinSteps: [5] }), /must be integers in \[1, 4\]/);
    assert.throws(() => new Trainer({ ...options, tracinDir: undefined, tracinSteps: [2] }), /tracinDir/);
    assert.doesNotThrow(() => new Trainer({ ...options, tracinSteps: [2] }));
  });
});
