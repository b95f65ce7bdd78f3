import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { BatchedDecoder } from "../../../nodes/src/engine/inference/batched-decoder.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { projectedOutputGradient } from "../../../nodes/src/engine/train/projected-gradients.ts";
import { Rng } from "../../../nodes/src/engine/train/rng.ts";
import { atSnapshot, snapshotAdapter } from "../../../bench/attribution-quality/adapter-snapshots.ts";
import { greedyContinuations } from "../../../bench/attribution-quality/greedy-continuations.ts";
import { tracinGradients } from "../../../bench/attribution-quality/tracin-gradients.ts";
import { trainAdapter } from "../../../bench/attribution-quality/train-adapter.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";
import { CONFIG, LORA, randomAdapter, tinyWeights } from "../engine/inference/fixtures.ts";

const backend = createReferenceBackend();
const V = CONFIG.vocabSize;

function randomSequences(count: number, length: number, seed: number): Int32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Int32Array.from({ length }, () => rng.nextInt(V)));
}

/** Greedy decoding without a KV cache: the whole sequence through the training model at every step. */
function slowGreedy(model: LlamaModel, prompt: Int32Array, newTokens: number): number[] {
  const tokens = [...prompt];
  for (let t = 0; t < newTokens; t++) {
    const { logits } = model.forward(Int32Array.from(tokens), 1, tokens.length);
    const last = logits.subarray((tokens.length - 1) * V, tokens.length * V);
    tokens.push(last.indexOf(Math.max(...last)));
  }
  return tokens.slice(prompt.length);
}

describe("attribution quality harness: training, snapshots, generation, gradients", () => {
  it("greedy batched continuations equal greedy decoding with the training model", () => {
    const weights = tinyWeights(3);
    const adapter = randomAdapter(4);
    const model = new LlamaModel(CONFIG, weights, backend);
    model.setAdapter(adapter);
    const prompts = [Int32Array.of(1, 2, 3), Int32Array.of(7), Int32Array.of(30, 4, 4, 9, 12)];
    const outputs = greedyContinuations(new BatchedDecoder(CONFIG, weights, backend), adapter, prompts, 6);
    prompts.forEach((prompt, i) => assert.deepEqual([...outputs[i]], slowGreedy(model, prompt, 6), `prompt ${i}`));
  });

  it("saves the adapter at the checkpoint steps and puts it back in place around work done at a snapshot", async () => {
    const model = new LlamaModel(CONFIG, tinyWeights(5), backend);
    const trained = await trainAdapter(model, randomSequences(4, 9, 1), {
      lora: LORA, batchSize: 2, sequenceLength: 8, steps: 6, learningRate: 1e-2, warmupSteps: 1, minLearningRate: 1e-3, checkpointSteps: [2, 6], seed: 1,
    });
    assert.deepEqual(trained.snapshots.map((s) => s.step), [2, 6]);
    assert.equal(trained.losses.length, 6);
    assert.ok(trained.snapshots[0].learningRate > trained.snapshots[1].learningRate);
    const [key, final] = [...trained.adapter.weights][0];
    assert.deepEqual(trained.snapshots[1].factors.get(key), { A: Float32Array.from(final.A), B: Float32Array.from(final.B) });
    const earlyB = atSnapshot(trained.adapter, trained.snapshots[0], () => Float32Array.from(trained.adapter.weights.get(key)!.B));
    assert.deepEqual(earlyB, trained.snapshots[0].factors.get(key)!.B);
    assert.notDeepEqual(earlyB, final.B);
    assert.deepEqual(trained.adapter.weights.get(key)!.B, trained.snapshots[1].factors.get(key)!.B);

    await assert.rejects(trainAdapter(model, randomSequences(2, 9, 2), {
      lora: LORA, batchSize: 2, sequenceLength: 8, steps: 6, learningRate: 1e-2, warmupSteps: 0, minLearningRate: 0, checkpointSteps: [6], seed: 1,
    }), BenchmarkInputError);
  });

  it("takes every example's and output's projected gradient at each snapshot, in the sketch's layout", () => {
    const model = new LlamaModel(CONFIG, tinyWeights(6), backend);
    const adapter = randomAdapter(7);
    model.setAdapter(adapter);
    const snapshots = [snapshotAdapter(adapter, 1, 0.02)];
    for (const { B } of adapter.weights.values()) B.fill(0.1);
    snapshots.push(snapshotAdapter(adapter, 2, 0.01));
    const examples = randomSequences(3, 9, 3).map((tokens, i) => ({ contributionId: BigInt(10 + i), tokens }));
    const output = { prompt: Int32Array.of(1, 2, 3), output: Int32Array.of(4, 5) };
    const projection = { dimensions: 32, seed: 9 };
    const gradients = tracinGradients(model, snapshots, examples, [output], 8, projection);

    assert.deepEqual(gradients.sketch.exampleContributionIds, [10n, 11n, 12n]);
    assert.deepEqual(gradients.sketch.checkpoints.map((c) => [c.learningRate, c.exampleGradients.length]), [[0.02, 96], [0.01, 96]]);
    assert.deepEqual(gradients.outputs[0].map((c) => c.learningRate), [0.02, 0.01]);
    const atFirst = atSnapshot(adapter, snapshots[0], () => projectedOutputGradient(model, Int32Array.of(1, 2, 3, 4, 5), 3, 8, projection));
    assert.deepEqual(gradients.outputs[0][0].gradient, atFirst);
    assert.notDeepEqual(gradients.outputs[0][1].gradient, atFirst);
  });
});
