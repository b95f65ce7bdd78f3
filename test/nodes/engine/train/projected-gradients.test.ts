import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { makeBatch } from "../../../../nodes/src/engine/train/data.ts";
import { IGNORE_INDEX } from "../../../../nodes/src/engine/ops/cross-entropy.ts";
import { adapterGradientTensors, projectGradient, projectedExampleGradients, projectedOutputGradient } from "../../../../nodes/src/engine/train/projected-gradients.ts";
import { ModelInputError } from "../../../../nodes/src/engine/model/errors.ts";
import { randomArray } from "../ops/gradcheck.ts";
import { TINY, TINY_LORA } from "../model/tiny.ts";

const backend = createReferenceBackend();
const T = 8;
const projection = { dimensions: 256, seed: 99 };

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function modelWithAdapter(): LlamaModel {
  const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1, 0.2), backend);
  const adapter = createLoraAdapter(TINY, TINY_LORA, { seed: 2, baseModel: "tiny" });
  for (const f of adapter.weights.values()) f.B.set(randomArray(f.B.length, 3, 0.2));
  model.setAdapter(adapter);
  return model;
}

/** The adapter's full gradient for one prepared batch (B = 1), flattened in the projection's parameter order. */
function directGradient(model: LlamaModel, tokens: Int32Array, targets: Int32Array): Float32Array[] {
  model.zeroGradients();
  model.forward(tokens, 1, T, targets);
  model.backward();
  return adapterGradientTensors(model).map((g) => Float32Array.from(g));
}

describe("projected per-example LoRA gradients (TracIn-CP)", () => {
  it("the Rademacher projection is deterministic, linear and preserves dot products approximately", () => {
    const g1 = randomArray(3000, 1);
    const g2 = Float32Array.from(randomArray(3000, 2), (x, i) => x + 0.5 * g1[i]);
    const k = { dimensions: 1024, seed: 5 };
    const p1 = projectGradient([g1.subarray(0, 1000), g1.subarray(1000)], k);
    assert.deepEqual(p1, projectGradient([g1], k));
    const p2 = projectGradient([g2], k);
    const scale = Math.sqrt(dot(g1, g1) * dot(g2, g2));
    assert.ok(Math.abs(dot(p1, p2) - dot(g1, g2)) / scale < 0.1, `${dot(p1, p2)} vs ${dot(g1, g2)}`);
    assert.ok(Math.abs(dot(p1, p1) / dot(g1, g1) - 1) < 0.15);
    assert.notDeepEqual(projectGradient([g1], { dimensions: 1024, seed: 6 }), p1);
  });

  it("an example's projected gradient is the projection of its token-weighted mean-loss gradient", () => {
    const model = modelWithAdapter();
    const example = Int32Array.from({ length: 12 }, (_, i) => (i * 11 + 2) % TINY.vocabSize);
    const [projected] = projectedExampleGradients(model, [example], T, projection);
    // 12 tokens at T = 8: windows of 9 and 4 tokens, scoring 8 and 3 targets.
    const w1 = makeBatch([example.subarray(0, 9)], 1, T);
    const w2 = makeBatch([example.subarray(8, 12)], 1, T);
    const g1 = directGradient(model, w1.tokens, w1.targets);
    const g2 = directGradient(model, w2.tokens, w2.targets);
    const combined = g1.map((g, i) => Float32Array.from(g, (x, j) => (8 * x + 3 * g2[i][j]) / 11));
    const expected = projectGradient(combined, projection);
    for (let j = 0; j < projection.dimensions; j++) assert.ok(Math.abs(projected[j] - expected[j]) < 1e-5 * (1 + Math.abs(expected[j])));
  });

  it("an output's gradient scores only the generated tokens, and resembles the gradient of the example it copies", () => {
    const model = modelWithAdapter();
    const sequence = Int32Array.from({ length: 9 }, (_, i) => (i * 7 + 3) % TINY.vocabSize);
    const output = projectedOutputGradient(model, sequence, 4, T, projection);
    const batch = makeBatch([sequence], 1, T);
    for (let t = 0; t < 3; t++) batch.targets[t] = IGNORE_INDEX;
    assert.deepEqual(output, projectGradient(directGradient(model, batch.tokens, batch.targets), projection));

    const [asExample] = projectedExampleGradients(model, [sequence], T, projection);
    const [unrelated] = projectedExampleGradients(model, [Int32Array.from({ length: 9 }, (_, i) => (i * 13 + 40) % TINY.vocabSize)], T, projection);
    const cosine = (a: Float32Array, b: Float32Array) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
    assert.ok(cosine(output, asExample) > cosine(output, unrelated), `${cosine(output, asExample)} vs ${cosine(output, unrelated)}`);
  });

  it("does not depend on the order the adapter's targets were listed in", () => {
    const model = modelWithAdapter();
    const example = Int32Array.from({ length: 9 }, (_, i) => (i * 5 + 1) % TINY.vocabSize);
    const [before] = projectedExampleGradients(model, [example], T, projection);
    const adapter = model.getAdapter()!;
    const reordered = {
      ...adapter,
      config: { ...adapter.config, targetModules: [...adapter.config.targetModules].reverse() },
      weights: new Map([...adapter.weights].reverse()),
    };
    model.setAdapter(reordered);
    assert.deepEqual(projectedExampleGradients(model, [example], T, projection)[0], before);
  });

  it("leaves the tokens a mask marks out of the loss: the example's and the output's gradient over the rest, zero when nothing is left", () => {
    const model = modelWithAdapter();
    const example = Int32Array.from({ length: 12 }, (_, i) => (i * 11 + 2) % TINY.vocabSize);
    // Tokens 3–5 (window 1's targets 2–4) and 10 (window 2's target 1) not scored: 8 + 3 − 4 = 7 targets left.
    const mask = new Uint8Array(12);
    mask.fill(1, 3, 6);
    mask[10] = 1;
    const [masked] = projectedExampleGradients(model, [example], T, projection, {}, [mask]);
    const w1 = makeBatch([example.subarray(0, 9)], 1, T);
    const w2 = makeBatch([example.subarray(8, 12)], 1, T);
    for (const t of [2, 3, 4]) w1.targets[t] = IGNORE_INDEX;
    w2.targets[1] = IGNORE_INDEX;
    const g1 = directGradient(model, w1.tokens, w1.targets);
    const g2 = directGradient(model, w2.tokens, w2.targets);
    const expected = projectGradient(g1.map((g, i) => Float32Array.from(g, (x, j) => (5 * x + 2 * g2[i][j]) / 7)), projection);
    for (let j = 0; j < projection.dimensions; j++) assert.ok(Math.abs(masked[j] - expected[j]) < 1e-5 * (1 + Math.abs(expected[j])));

    // An all-zero mask is no mask, bit for bit; an all-ones mask leaves nothing: a zero row.
    assert.deepEqual(projectedExampleGradients(model, [example], T, projection, {}, [new Uint8Array(12)]), projectedExampleGradients(model, [example], T, projection));
    assert.deepEqual(Array.from(projectedExampleGradients(model, [example], T, projection, {}, [new Uint8Array(12).fill(1)])[0]), new Array(256).fill(0));

    // An output whose last two tokens are masked has the gradient of the output without them (causal: they condition nothing scored).
    const sequence = Int32Array.from({ length: 9 }, (_, i) => (i * 7 + 3) % TINY.vocabSize);
    const outputMask = new Uint8Array(9);
    outputMask.fill(1, 7);
    const cut = projectedOutputGradient(model, sequence, 4, T, projection, {}, outputMask);
    const shorter = projectedOutputGradient(model, sequence.subarray(0, 7), 4, T, projection);
    for (let j = 0; j < projection.dimensions; j++) assert.ok(Math.abs(cut[j] - shorter[j]) < 1e-5 * (1 + Math.abs(shorter[j])));
    // Masking prompt tokens changes nothing (they are not scored anyway); masking every output token leaves a zero gradient.
    const promptMask = new Uint8Array(9);
    promptMask.fill(1, 0, 4);
    assert.deepEqual(projectedOutputGradient(model, sequence, 4, T, projection, {}, promptMask), projectedOutputGradient(model, sequence, 4, T, projection));
    assert.deepEqual(Array.from(projectedOutputGradient(model, sequence, 4, T, projection, {}, new Uint8Array(9).fill(1))), new Array(256).fill(0));
    assert.throws(() => projectedOutputGradient(model, sequence, 4, T, projection, {}, new Uint8Array(8)), /mask has 8 entries/);
  });

  it("an output longer than the window is cut into windows from its end, the first reaching into the prompt: the mean loss over every output token", () => {
    const model = modelWithAdapter();
    const sequence = Int32Array.from({ length: 20 }, (_, i) => (i * 9 + 5) % TINY.vocabSize);
    // Prompt 3 tokens, output 17 at T = 8: windows [0, 4), [3, 12), [11, 20), scoring 1 + 8 + 8 output tokens.
    const long = projectedOutputGradient(model, sequence, 3, T, projection);
    const windows = [[0, 4], [3, 12], [11, 20]].map(([from, to]) => makeBatch([sequence.subarray(from, to)], 1, T));
    for (let t = 0; t < 2; t++) windows[0].targets[t] = IGNORE_INDEX; // targets 1 and 2 are prompt tokens
    const [g1, g2, g3] = windows.map((w) => directGradient(model, w.tokens, w.targets));
    const expected = projectGradient(g1.map((g, i) => Float32Array.from(g, (x, j) => (x + 8 * g2[i][j] + 8 * g3[i][j]) / 17)), projection);
    for (let j = 0; j < projection.dimensions; j++) assert.ok(Math.abs(long[j] - expected[j]) < 1e-5 * (1 + Math.abs(expected[j])));
  });

  it("needs an adapter and at least one output token", () => {
    const bare = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
    assert.throws(() => projectedExampleGradients(bare, [Int32Array.of(1, 2, 3)], T, projection), ModelInputError);
    assert.throws(() => projectedOutputGradient(modelWithAdapter(), Int32Array.of(1, 2, 3), 3, T, projection), /promptLength/);
  });
});
