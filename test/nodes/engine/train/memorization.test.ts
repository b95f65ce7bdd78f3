import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { Trainer } from "../../../../nodes/src/engine/train/trainer.ts";
import { memorizationRate } from "../../../../nodes/src/engine/train/evaluate.ts";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";
import { TINY } from "../model/tiny.ts";

describe("memorization probe", () => {
  it("flags a sequence the model was overfit on, and not one it never saw", async () => {
    const rng = new Rng(17);
    const seen = Int32Array.from({ length: 40 }, () => rng.nextInt(TINY.vocabSize));
    const unseen = Int32Array.from({ length: 40 }, () => rng.nextInt(TINY.vocabSize));
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 3), createReferenceBackend(), { trainBase: true });
    const options = { prefixLength: 8, copyLength: 32 };
    assert.equal(memorizationRate(model, [seen], options).rate, 0);
    const trainer = new Trainer({ model, trainSequences: [seen], batchSize: 1, sequenceLength: 39, totalSteps: 150, learningRate: 1e-2, warmupSteps: 10, seed: 1 });
    for await (const _ of trainer.run());
    const report = memorizationRate(model, [seen, unseen, Int32Array.of(1, 2)], options);
    assert.deepEqual(report, { rate: 0.5, memorized: 1, sampled: 2, copyLength: 32 });
  });
});
