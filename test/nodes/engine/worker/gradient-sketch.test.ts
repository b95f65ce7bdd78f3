/**
 * The worker Engine's buildGradientSketch: after a training job kept TracIn checkpoints, the sketch built on the
 * worker (and written as a sketch file) holds exactly the gradients buildGradientSketch gives on the calling
 * thread, names its provenance (projection, window, the base model's and each checkpoint file's digest), and
 * refuses a request with no checkpoints by a typed error.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGradientSketch } from "../../../../nodes/src/attribution/build-gradient-sketch.ts";
import { decodeGradientSketch } from "../../../../nodes/src/attribution/gradient-sketch-file.ts";
import { createWasmBackend, type WasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import type { LlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { contentDigest, decodeTracInCheckpoint } from "../../../../nodes/src/engine/train/tracin-checkpoint.ts";
import { Engine, EngineRequestError } from "../../../../nodes/src/engine/worker/index.ts";

const MODEL_DIR = fileURLToPath(new URL("../../../../models/tributary-base-v0/", import.meta.url));
const DOCS = [
  "The President shall from time to time give to the Congress information of the state of the Union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
  "The sea was calm, and the ship moved slowly through the fog towards the harbour.",
];
const IDS = ["7", "8", "115792089237316195423570985008687907853269984665640564039457584007913129639935"];

let engine: Engine;
let backend: WasmBackend;
let scratch: string;

before(async () => {
  engine = await Engine.start({ threads: 1 });
  backend = await createWasmBackend({ threads: 1 });
  await engine.loadModel("base", MODEL_DIR);
  scratch = await mkdtemp(join(tmpdir(), "engine-sketch-"));
});

after(async () => {
  await engine?.close();
  await backend?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("engine worker: gradient sketch", { timeout: 240_000 }, () => {
  it("builds on the worker the sketch the calling thread builds, and names the base model and checkpoint files by digest", async () => {
    const tracinDir = join(scratch, "tracin");
    const run = engine.train({
      modelId: "base", train: DOCS, lora: { rank: 2, alpha: 4, targetModules: ["q_proj", "v_proj"] }, seed: 3, batchSize: 2, sequenceLength: 24,
      totalSteps: 3, learningRate: 1e-3, minLearningRate: 1e-4, tracinSteps: [2, 3], tracinDir, outputDir: join(scratch, "adapter"),
    });
    await run.result;
    const files = (await readdir(tracinDir)).filter((f) => f.endsWith(".safetensors")).map((f) => join(tracinDir, f));
    assert.equal(files.length, 2);

    const outputPath = join(scratch, "sketch", "gradient-sketch.bin");
    const projection = { dimensions: 64, seed: 5, kind: "kronecker-rademacher" as const };
    const result = await engine.buildGradientSketch({
      modelId: "base", tracinCheckpoints: [...files].reverse(), examples: DOCS.map((document, i) => ({ contributionId: IDS[i], document })),
      projection, sequenceLength: 24, batchSize: 2, outputPath,
    });
    const bytes = new Uint8Array(await readFile(outputPath));
    assert.equal(result.digest, contentDigest(bytes));
    assert.equal(result.byteSize, bytes.byteLength);
    assert.equal(result.examples, 3);
    const sketch = decodeGradientSketch(bytes);
    assert.deepEqual(sketch.provenance, result.provenance);
    assert.deepEqual(sketch.exampleContributionIds, IDS.map(BigInt));
    assert.equal(result.provenance.baseModel, contentDigest(await readFile(join(MODEL_DIR, "model.safetensors"))));
    assert.deepEqual(result.provenance.projection, { kind: "kronecker-rademacher", seed: 5, dims: 64 });
    assert.deepEqual(result.provenance.checkpoints.map((c) => c.step), [2, 3], "ordered by step whatever the request's order");
    const fileDigests = await Promise.all(files.map(async (f) => contentDigest(await readFile(f))));
    assert.deepEqual(result.provenance.checkpoints.map((c) => c.digest), fileDigests);

    // The same sketch on the calling thread, from the same files: the worker's gradients are the same numbers.
    const folder = await loadModelFolder(MODEL_DIR);
    const weights: LlamaWeights = new Map([...folder.tensors].map(([name, t]) => {
      const buffer = backend.alloc(t.data.length);
      buffer.set(t.data);
      return [name, buffer];
    }));
    const model = new LlamaModel(folder.config, weights, backend);
    try {
      const checkpoints = await Promise.all(files.map(async (f) => decodeTracInCheckpoint(new Uint8Array(await readFile(f)), folder.config)));
      const examples = DOCS.map((d, i) => ({ contributionId: BigInt(IDS[i]), tokens: Int32Array.from(folder.tokenizer.encode(d)) }));
      const reference = buildGradientSketch(model, checkpoints, examples, { projection, sequenceLength: 24, baseModel: result.provenance.baseModel, batchSize: 2 });
      assert.equal(sketch.checkpoints.length, 2);
      sketch.checkpoints.forEach((c, i) => {
        assert.equal(c.learningRate, reference.checkpoints[i].learningRate);
        assert.deepEqual(c.exampleGradients, reference.checkpoints[i].exampleGradients, `checkpoint ${i} gradients`);
      });
      assert.ok(sketch.checkpoints[1].exampleGradients.some((g) => g !== 0));
    } finally {
      model.dispose();
    }
  });

  it("refuses a sketch without TracIn checkpoints, naming the field", async () => {
    await assert.rejects(
      engine.buildGradientSketch({
        modelId: "base", tracinCheckpoints: [], examples: [{ contributionId: "1", document: "text" }], projection: { dimensions: 32, seed: 1 },
        sequenceLength: 16, outputPath: join(scratch, "never.bin"),
      }),
      (error: unknown) => error instanceof EngineRequestError && /tracinCheckpoints/.test(error.message),
    );
  });
});
