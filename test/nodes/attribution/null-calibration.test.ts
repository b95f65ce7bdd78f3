/**
 * Calibrated thresholds: the split-conformal rule on its own, and calibrateAttributionThreshold on a real (tiny)
 * trained adapter, sketch and index.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../nodes/src/engine/lora/adapter.ts";
import { Trainer } from "../../../nodes/src/engine/train/trainer.ts";
import { decodeTracInCheckpoint } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import {
  buildGradientSketch, buildSpanIndex, calibrateAttributionThreshold, calibrateMethod, calibrationPrompts, conformalThreshold, MAJORITY_SHARE,
  holdOutAttributionCanaries, InvalidParameterError, topShare, type TaggedTrainingExample,
} from "../../../nodes/src/attribution/index.ts";
import { TINY, TINY_LORA } from "../engine/model/tiny.ts";
import { markovCorpus } from "../engine/train/corpus.ts";

describe("split-conformal threshold", () => {
  it("is the ⌈(n + 1)(1 − α)⌉-th smallest null share, with its guaranteed bound", () => {
    const shares = Array.from({ length: 39 }, (_, i) => (i + 1) / 40); // 0.025 … 0.975
    const t = conformalThreshold(shares, 0.05);
    assert.equal(t.rank, 38);
    assert.equal(t.quantile, 38 / 40);
    assert.equal(t.bound, 2 / 40);
    // Exchangeable nulls: the fraction of further null values strictly above the threshold is at most the bound.
    assert.ok(shares.filter((s) => s > t.quantile).length / shares.length <= t.bound);
    // Order of the input does not matter.
    assert.deepEqual(conformalThreshold([...shares].reverse(), 0.05), t);
  });

  it("cannot certify anything from too few null outputs: threshold 1, nothing predicted", () => {
    const t = conformalThreshold([0.1, 0.2, 0.3], 0.05);
    assert.equal(t.quantile, 1);
    assert.equal(t.rank, 4);
    assert.equal(t.bound, 0);
    assert.equal(conformalThreshold(Array(19).fill(0.2), 0.05).quantile, 0.2);
  });

  it("predicts only above a strict majority too: a null without evidence does not make any evidence a prediction", () => {
    assert.equal(calibrateMethod(Array(39).fill(0), 0.05).threshold, MAJORITY_SHARE);
    assert.equal(calibrateMethod(Array(39).fill(0), 0.05).quantile, 0);
    const high = calibrateMethod([...Array(37).fill(0.3), 0.7, 0.9], 0.05);
    assert.equal(high.quantile, 0.7);
    assert.equal(high.threshold, 0.7);
    assert.deepEqual([high.median, high.max], [0.3, 0.9]);
  });

  it("rejects rates and shares outside their range", () => {
    assert.throws(() => conformalThreshold([0.5], 0), InvalidParameterError);
    assert.throws(() => conformalThreshold([0.5], 1), InvalidParameterError);
    assert.throws(() => conformalThreshold([1.5], 0.05), /in \[0, 1\]/);
  });

  it("top share is the largest ppm over 1e6, 0 without evidence", () => {
    assert.equal(topShare([{ contributionId: 1n, ppm: 300_000 }, { contributionId: 2n, ppm: 700_000 }]), 0.7);
    assert.equal(topShare([]), 0);
  });

  it("calibration prompts are seeded windows of the texts, spread over them", () => {
    const texts = [Int32Array.from({ length: 20 }, (_, i) => i), Int32Array.from({ length: 3 }, (_, i) => 100 + i), Int32Array.from({ length: 10 }, (_, i) => 200 + i)];
    const prompts = calibrationPrompts(texts, { promptTokens: 5, count: 4, seed: 1 });
    assert.equal(prompts.length, 4);
    for (const p of prompts) assert.equal(p.length, 5);
    // The 3-token text is too short; the others alternate.
    assert.ok(prompts[0][0] < 100 && prompts[1][0] >= 200 && prompts[2][0] < 100);
    assert.deepEqual(calibrationPrompts(texts, { promptTokens: 5, count: 4, seed: 1 }), prompts);
    assert.throws(() => calibrationPrompts(texts, { promptTokens: 50, count: 1, seed: 1 }), /No calibration text/);
  });
});

describe("calibrateAttributionThreshold on a trained adapter", () => {
  it("attributes the adapter's continuations of unrelated prompts and sets each method's threshold", async () => {
    const backend = createReferenceBackend();
    const examples: TaggedTrainingExample[] = [0, 1, 2, 3].map((c) => ({ contributionId: BigInt(10 + c), tokens: markovCorpus(TINY.vocabSize, 1, 48, 100 + c, 20 + c)[0] }));
    const split = holdOutAttributionCanaries(examples, { promptTokens: 6, outputTokens: 10, seed: 3, mode: "planted" });
    const dir = await mkdtemp(join(tmpdir(), "null-calibration-"));
    try {
      const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
      const adapter = createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" });
      model.setAdapter(adapter);
      const trainer = new Trainer({
        model, trainSequences: split.training.map((e) => e.tokens), batchSize: 4, sequenceLength: 48, totalSteps: 20,
        learningRate: 3e-2, minLearningRate: 3e-3, seed: 5, tracinSteps: [20], tracinDir: dir,
      });
      for await (const _ of trainer.run());
      const checkpoints = await Promise.all(trainer.tracinCheckpoints.map(async (c) => decodeTracInCheckpoint(await readFile(c.path!), TINY)));
      const sketch = buildGradientSketch(model, checkpoints, split.training, {
        projection: { dimensions: 32, seed: 11 }, sequenceLength: 48, baseModel: `0x${"ab".repeat(32)}`, similarity: "cosine",
      });
      const index = buildSpanIndex(`0x${"cd".repeat(32)}`, split.training);
      // Unrelated text: another Markov language than any contribution's.
      const prompts = calibrationPrompts(markovCorpus(TINY.vocabSize, 4, 30, 900, 7), { promptTokens: 6, count: 19, seed: 2 });
      const calibration = calibrateAttributionThreshold({ model, adapter, checkpoints, sketch, index, prompts, outputTokens: 10, backend: "reference" });
      assert.equal(model.getAdapter(), adapter, "the model's adapter is put back");
      assert.equal(calibration.prompts, 19);
      for (const m of ["span", "gradient", "combined"] as const) {
        const c = calibration.methods[m];
        assert.equal(c.rank, 19);
        assert.equal(c.quantile, c.max, "19 nulls at 5 %: the largest null share");
        assert.equal(c.threshold, Math.max(c.max, 0.5));
        assert.ok(c.median <= c.max && c.max <= 1);
      }
      // Deterministic: the same inputs give the same calibration.
      assert.deepEqual(calibrateAttributionThreshold({ model, adapter, checkpoints, sketch, index, prompts, outputTokens: 10, backend: "reference" }), calibration);

    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
