import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../nodes/src/engine/backend/reference.ts";
import { BatchedDecoder } from "../../../nodes/src/engine/inference/batched-decoder.ts";
import { LlamaModel } from "../../../nodes/src/engine/model/llama.ts";
import { projectedOutputGradient } from "../../../nodes/src/engine/train/projected-gradients.ts";
import { Rng } from "../../../nodes/src/engine/train/rng.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

describe("attribution quality harness: training, TracIn checkpoints, generation, gradients", () => {
  it("greedy batched continuations equal greedy decoding with the training model", () => {
    const weights = tinyWeights(3);
    const adapter = randomAdapter(4);
    const model = new LlamaModel(CONFIG, weights, backend);
    model.setAdapter(adapter);
    const prompts = [Int32Array.of(1, 2, 3), Int32Array.of(7), Int32Array.of(30, 4, 4, 9, 12)];
    const outputs = greedyContinuations(new BatchedDecoder(CONFIG, weights, backend), adapter, prompts, 6);
    prompts.forEach((prompt, i) => assert.deepEqual([...outputs[i]], slowGreedy(model, prompt, 6), `prompt ${i}`));
  });

  it("trains with the Trainer's TracIn checkpoints and reads them back", async () => {
    const model = new LlamaModel(CONFIG, tinyWeights(5), backend);
    const checkpointDir = await mkdtemp(join(tmpdir(), "harness-"));
    try {
      const trained = await trainAdapter(model, randomSequences(4, 9, 1), {
        lora: LORA, batchSize: 2, sequenceLength: 8, steps: 6, learningRate: 1e-2, warmupSteps: 1, minLearningRate: 1e-3, checkpointSteps: [2, 6], checkpointDir, seed: 1,
      });
      assert.deepEqual(trained.checkpoints.map((s) => s.step), [2, 6]);
      assert.equal(trained.losses.length, 6);
      assert.ok(trained.checkpoints[0].learningRate > trained.checkpoints[1].learningRate);
      const [key, final] = [...trained.adapter.weights][0];
      assert.deepEqual(trained.checkpoints[1].adapter.weights.get(key), { A: Float32Array.from(final.A), B: Float32Array.from(final.B) });
      assert.notDeepEqual(trained.checkpoints[0].adapter.weights.get(key)!.B, final.B);

      await assert.rejects(trainAdapter(model, randomSequences(2, 9, 2), {
        lora: LORA, batchSize: 2, sequenceLength: 8, steps: 6, learningRate: 1e-2, warmupSteps: 0, minLearningRate: 0, checkpointSteps: [6], checkpointDir, seed: 1,
      }), BenchmarkInputError);
    } finally {
      await rm(checkpointDir, { recursive: true, force: true });
    }
  });

  it("takes every example's and output's projected gradient at each checkpoint, in the sketch's layout", () => {
    const model = new LlamaModel(CONFIG, tinyWeights(6), backend);
    const adapter = randomAdapter(7);
    model.setAdapter(adapter);
    const later = { ...adapter, weights: new Map([...adapter.weights].map(([k, f]) => [k, { A: f.A, B: Float32Array.from(f.B, () => 0.1) }])) };
    const checkpoints = [
      { step: 1, learningRate: 0.02, digest: `0x${"01".repeat(32)}` as const, adapter },
      { step: 2, learningRate: 0.01, digest: `0x${"02".repeat(32)}` as const, adapter: later },
    ];
    const examples = randomSequences(3, 9, 3).map((tokens, i) => ({ contributionId: BigInt(10 + i), tokens }));
    const output = { prompt: Int32Array.of(1, 2, 3), output: Int32Array.of(4, 5) };
    const projection = { dimensions: 32, seed: 9, kind: "kronecker-rademacher" as const };
    const gradients = tracinGradients(model, checkpoints, examples, [output], 8, projection, `0x${"ab".repeat(32)}`);

    assert.deepEqual(gradients.sketch.exampleContributionIds, [10n, 11n, 12n]);
    assert.deepEqual(gradients.sketch.checkpoints.map((c) => [c.learningRate, c.exampleGradients.length]), [[0.02, 96], [0.01, 96]]);
    assert.deepEqual(gradients.outputs[0].map((c) => c.learningRate), [0.02, 0.01]);
    assert.equal(model.getAdapter(), adapter);
    const atFirst = projectedOutputGradient(model, Int32Array.of(1, 2, 3, 4, 5), 3, 8, projection);
    assert.deepEqual(gradients.outputs[0][0].gradient, atFirst);
    assert.notDeepEqual(gradients.outputs[0][1].gradient, atFirst);
  });
});
