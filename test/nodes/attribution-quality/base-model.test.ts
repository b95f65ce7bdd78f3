import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { saveModelFolder } from "../../../nodes/src/engine/formats/model-folder.ts";
import { LM_HEAD, EMBED_TOKENS } from "../../../nodes/src/engine/model/weights.ts";
import { loadBaseModel, randomBaseModel, RANDOM_BASE_CONFIG, RANDOM_HEAD_STD } from "../../../bench/attribution-quality/base-model.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";
import { TINY_CONFIG, tinyTensors, tinyTokenizerFiles } from "../engine/formats/tiny-checkpoint.ts";

function std(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum / values.length);
}

describe("benchmark base model", () => {
  it("is seeded, sized to the project tokenizer, with an output head wide enough to become confident", () => {
    const a = randomBaseModel(3, (n) => new Float32Array(n));
    assert.equal(a.config.vocabSize, 4096);
    assert.deepEqual(a.weights.get(LM_HEAD), randomBaseModel(3, (n) => new Float32Array(n)).weights.get(LM_HEAD));
    assert.ok(Math.abs(std(a.weights.get(LM_HEAD)!) - RANDOM_HEAD_STD) < 0.01);
    assert.ok(Math.abs(std(a.weights.get(EMBED_TOKENS)!) - 0.02) < 0.005);
    assert.equal(a.weights.get(EMBED_TOKENS)!.length, RANDOM_BASE_CONFIG.vocabSize * RANDOM_BASE_CONFIG.hiddenSize);
  });

  it("loads a checkpoint folder into backend memory, and refuses one whose vocabulary is smaller than the tokenizer's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aq-base-"));
    try {
      const tensors = tinyTensors();
      await saveModelFolder(dir, { config: TINY_CONFIG, tensors, ...tinyTokenizerFiles() });
      const base = await loadBaseModel(dir, createReferenceBackend(), 300);
      assert.equal(base.config.hiddenSize, TINY_CONFIG.hiddenSize);
      assert.deepEqual(base.weights.get(LM_HEAD), tensors.get(LM_HEAD)!.data);
      await assert.rejects(loadBaseModel(dir, createReferenceBackend(), 4096), BenchmarkInputError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
