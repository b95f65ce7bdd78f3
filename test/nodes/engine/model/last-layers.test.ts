import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../../../nodes/src/engine/backend/backend.ts";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights, type LlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter, loraKey, type LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { LORA_TARGETS, type LlamaConfig } from "../../../../nodes/src/engine/model/config.ts";
import { IGNORE_INDEX } from "../../../../nodes/src/engine/ops/cross-entropy.ts";
import { ModelInputError } from "../../../../nodes/src/engine/model/errors.ts";
import {
  adapterGradientTensors, projectGradient, projectedExampleGradients, projectedOutputGradient,
} from "../../../../nodes/src/engine/train/projected-gradients.ts";
import { projectGradientKronecker } from "../../../../nodes/src/engine/train/kronecker-projection.ts";
import { adapterGradientBlocks } from "../../../../nodes/src/engine/train/projected-gradients.ts";
import { batchedProjectedExampleGradients } from "../../../../nodes/src/engine/train/batched-example-gradients.ts";
import { makeBatch } from "../../../../nodes/src/engine/train/data.ts";
import { randomArray } from "../ops/gradcheck.ts";
import { TINY, TINY_LORA } from "./tiny.ts";

// Four layers, so K = 1 … 3 each stop in the middle of the stack.
const CONFIG: LlamaConfig = { ...TINY, numLayers: 4 };
const L = CONFIG.numLayers;
const [B, T] = [2, 8];

function batch(seed: number): { tokens: Int32Array; targets: Int32Array } {
  const noise = randomArray(B * T * 2, seed);
  const tokens = Int32Array.from(noise.subarray(0, B * T), (x) => Math.floor((x + 1) * 32) % CONFIG.vocabSize);
  const targets = Int32Array.from(noise.subarray(B * T), (x) => Math.floor((x + 1) * 32) % CONFIG.vocabSize);
  targets[3] = IGNORE_INDEX;
  return { tokens, targets };
}

function onBackend(backend: Backend, weights: LlamaWeights): LlamaWeights {
  return new Map([...weights].map(([name, t]) => {
    const data = backend.alloc(t.length);
    data.set(t);
    return [name, data];
  }));
}

function adapterFor(): LoraAdapter {
  const adapter = createLoraAdapter(CONFIG, TINY_LORA, { seed: 2, baseModel: "tiny" });
  for (const f of adapter.weights.values()) f.B.set(randomArray(f.B.length, 3, 0.3));
  return adapter;
}

/** Copies of every adapter gradient, by "layer.target.A|B". */
function gradients(model: LlamaModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [key, { A, B: b }] of model.getAdapterGradients()!) {
    out.set(`${key}.A`, Float32Array.from(A));
    out.set(`${key}.B`, Float32Array.from(b));
  }
  return out;
}

/** Two accumulated micro-batches (the second scaled), with the given forward options. */
function accumulatedGradients(model: LlamaModel, lastLayers?: number): { grads: Map<string, Float32Array>; losses: number[]; logits: Float32Array } {
  model.zeroGradients();
  const losses: number[] = [];
  let logits = new Float32Array(0);
  for (const [seed, scale] of [[4, 0.5], [5, 0.25]] as const) {
    const { tokens, targets } = batch(seed);
    const result = model.forward(tokens, B, T, targets, { lastLayers });
    losses.push(result.loss!);
    logits = Float32Array.from(result.logits);
    model.backward(scale);
  }
  return { grads: gradients(model), losses, logits };
}

const backends: [string, () => Promise<Backend>][] = [
  ["reference", async () => createReferenceBackend()],
  ["wasm SIMD, 2 threads", () => createWasmBackend({ threads: 2, minParallelWork: 0, fusedMultiplyAdd: false })],
  ["wasm SIMD with FMA, 2 threads", () => createWasmBackend({ threads: 2, minParallelWork: 0, fusedMultiplyAdd: true })],
];

for (const [name, create] of backends) {
  describe(`backward through the last K layers only (${name} backend)`, () => {
    let backend: Backend;
    before(async () => { backend = await create(); });
    after(async () => { await backend.dispose(); });

    it("gives the last K layers' LoRA gradients of the full backward bit for bit, and none below", () => {
      const weights = onBackend(backend, initLlamaWeights(CONFIG, 1, 0.3));
      const model = new LlamaModel(CONFIG, weights, backend);
      model.setAdapter(adapterFor());
      const full = accumulatedGradients(model);
      for (let K = 1; K <= L; K++) {
        const restricted = accumulatedGradients(model, K);
        // The forward is the same computation: losses and logits are identical.
        assert.deepEqual(restricted.losses, full.losses);
        assert.deepEqual(restricted.logits, full.logits);
        for (const [key, grad] of full.grads) {
          const layer = Number(key.split(".")[0]);
          const got = restricted.grads.get(key)!;
          if (layer >= L - K) {
            assert.ok(grad.some((x) => x !== 0), `${key} has a gradient in the full backward`);
            assert.deepEqual(got, grad, `K = ${K}: ${key} differs from the full backward`);
          } else {
            assert.ok(got.every((x) => x === 0), `K = ${K}: ${key} (below layer ${L - K}) got a gradient`);
          }
        }
      }
      // And back to the full backward on the same model: the activations follow the option.
      assert.deepEqual(accumulatedGradients(model).grads, full.grads);
      model.dispose();
      for (const w of weights.values()) backend.free(w);
    });

    it("keeps activations for the last K layers only", () => {
      const weights = onBackend(backend, initLlamaWeights(CONFIG, 1, 0.3));
      const model = new LlamaModel(CONFIG, weights, backend);
      model.setAdapter(adapterFor());
      const { tokens, targets } = batch(4);
      const live = (K: number) => {
        model.forward(tokens, B, T, targets, { lastLayers: K });
        return backend.memoryStats().liveBytes;
      };
      const [all, one, two] = [live(L), live(1), live(2)];
      assert.ok(one < two && two < all, `live bytes: K=1 ${one}, K=2 ${two}, K=L ${all}`);
      // K = 1 keeps one layer's set plus the shared one; K = 2 keeps one more.
      assert.equal(all - two, (L - 2 - 1) * (two - one));
      model.dispose();
      for (const w of weights.values()) backend.free(w);
    });
  });
}

describe("lastLayers: checks and the projected gradients", () => {
  const backend = createReferenceBackend();
  const projection = { dimensions: 64, seed: 7 };

  function model(): LlamaModel {
    const m = new LlamaModel(CONFIG, initLlamaWeights(CONFIG, 1, 0.3), backend);
    m.setAdapter(adapterFor());
    return m;
  }

  it("rejects a K outside [1, L] and a restricted backward of a model that trains its base", () => {
    const m = model();
    const { tokens, targets } = batch(4);
    for (const K of [0, L + 1, 1.5, -1]) assert.throws(() => m.forward(tokens, B, T, targets, { lastLayers: K }), ModelInputError);
    const base = new LlamaModel(CONFIG, initLlamaWeights(CONFIG, 1, 0.3), backend, { trainBase: true });
    assert.throws(() => base.forward(tokens, B, T, targets, { lastLayers: 1 }), /trains its base weights/);
    base.forward(tokens, B, T, targets, { lastLayers: L });
    assert.throws(() => projectedOutputGradient(m, tokens.subarray(0, T + 1), 2, T, projection, { lastLayers: 0 }), ModelInputError);
  });

  it("does no backward work below layer L − K: each layer fewer costs one layer's matmuls fewer", () => {
    let calls = 0;
    const counting: Backend = { ...backend, name: "counting", matmul: (...args) => { calls++; backend.matmul(...args); } };
    const m = new LlamaModel(CONFIG, initLlamaWeights(CONFIG, 1, 0.3), counting);
    m.setAdapter(adapterFor());
    const { tokens, targets } = batch(4);
    const backwardCalls = (K: number): number => {
      m.forward(tokens, B, T, targets, { lastLayers: K });
      calls = 0;
      m.backward();
      return calls;
    };
    const perLayer = backwardCalls(2) - backwardCalls(1);
    assert.ok(perLayer > 0);
    for (let K = 1; K <= L; K++) assert.equal(backwardCalls(K), backwardCalls(1) + (K - 1) * perLayer, `K = ${K}`);
  });

  it("a projected output or example gradient of the last K layers is the projection of the full gradient with earlier layers zeroed", () => {
    const m = model();
    const sequence = Int32Array.from({ length: T + 1 }, (_, i) => (i * 7 + 3) % CONFIG.vocabSize);
    const promptLength = 3;
    const prepared = makeBatch([sequence], 1, T);
    for (let t = 0; t < promptLength - 1; t++) prepared.targets[t] = IGNORE_INDEX;
    m.zeroGradients();
    m.forward(prepared.tokens, 1, T, prepared.targets);
    m.backward();
    const K = 2;
    // The full gradient with the layers below L − K zeroed, in the projection's order.
    const zeroedBelow = (): void => {
      for (let layer = 0; layer < L - K; layer++) {
        for (const target of LORA_TARGETS) {
          const g = m.getAdapterGradients()!.get(loraKey(layer, target));
          g?.A.fill(0);
          g?.B.fill(0);
        }
      }
    };
    zeroedBelow();
    const dense = projectGradient(adapterGradientTensors(m).map((t) => Float32Array.from(t)), projection);
    const kronecker = projectGradientKronecker(adapterGradientBlocks(m).map((b) => ({ ...b, data: Float32Array.from(b.data) })), projection);
    assert.deepEqual(projectedOutputGradient(m, sequence, promptLength, T, projection, { lastLayers: K }), dense);
    const kron = { ...projection, kind: "kronecker-rademacher" as const };
    assert.deepEqual(projectedOutputGradient(m, sequence, promptLength, T, kron, { lastLayers: K }), kronecker);
    // Not the full-layer projection.
    assert.notDeepEqual(projectedOutputGradient(m, sequence, promptLength, T, kron), kronecker);

    // Training examples: one at a time and split out of a batched pass agree with the same restriction.
    const examples = [sequence, Int32Array.from({ length: 12 }, (_, i) => (i * 11 + 2) % CONFIG.vocabSize)];
    const single = projectedExampleGradients(m, examples, T, kron, { lastLayers: K });
    const batched = batchedProjectedExampleGradients(m, examples, T, kron, 2, { lastLayers: K });
    const [e0] = projectedExampleGradients(m, [examples[0]], T, kron);
    assert.notDeepEqual(single[0], e0);
    single.forEach((row, i) => {
      for (let j = 0; j < row.length; j++) assert.ok(Math.abs(row[j] - batched[i][j]) < 1e-5 * (1 + Math.abs(row[j])), `example ${i}, ${j}`);
    });
    // Example 0 is the whole sequence scored from its first target: its restricted projection is the
    // full gradient's with earlier layers zeroed.
    const whole = makeBatch([sequence], 1, T);
    m.zeroGradients();
    m.forward(whole.tokens, 1, T, whole.targets);
    m.backward();
    zeroedBelow();
    assert.deepEqual(single[0], projectGradientKronecker(adapterGradientBlocks(m), kron));
  });
});
