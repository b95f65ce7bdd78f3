import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { createBackend } from "../../../../nodes/src/engine/backend/create-backend.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { ContextOverflowError, InvalidRequestError } from "../../../../nodes/src/engine/inference/errors.ts";
import type { LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { CONFIG, randomAdapter, tinyWeights } from "./fixtures.ts";

const backend = createReferenceBackend();
const weights = tinyWeights();
const V = CONFIG.vocabSize;

/** Logits [T, V] of the whole sequence at once, from the training model (no KV cache). */
function fullForward(tokens: number[], adapter: LoraAdapter | null): Float32Array {
  const model = new LlamaModel(CONFIG, weights, backend);
  model.setAdapter(adapter);
  return Float32Array.from(model.forward(Int32Array.from(tokens), 1, tokens.length).logits);
}

function assertClose(actual: Float32Array, expected: Float32Array, tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${label}: logit ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

describe("BatchedDecoder", () => {
  it("prefill + decode steps in a mixed batch give the full-sequence forward's logits (1e-5)", () => {
    const decoder = new BatchedDecoder(CONFIG, weights, backend);
    const adapterA = randomAdapter(7);
    const adapterB = randomAdapter(8);
    // Different prompt lengths and adapters; two share adapter A, one runs the base model.
    const sequences = [
      { tokens: [1, 5, 9, 2, 33, 7, 7, 20, 11, 3], prompt: 4, adapter: adapterA },
      { tokens: [30, 2, 2, 8, 14, 21, 5, 6, 0, 1], prompt: 1, adapter: null },
      { tokens: [12, 13, 14, 15, 16, 17, 18, 19, 3, 4], prompt: 7, adapter: adapterB },
      { tokens: [9, 9, 1, 0, 38, 37, 2, 4, 6, 8], prompt: 3, adapter: adapterA },
    ];
    const caches = sequences.map(() => createSequenceKvCache(backend, CONFIG, 16));
    const incremental = sequences.map(({ tokens }) => new Float32Array(tokens.length * V));
    // Step 0 prefills every prompt (all logits, to check prefill rows too); later steps feed one token
    // per sequence, while its position differs from the others'.
    const first = decoder.forward(sequences.map(({ tokens, prompt, adapter }, s) => ({ cache: caches[s], tokens: tokens.slice(0, prompt), adapter })), { allLogits: true });
    let row = 0;
    sequences.forEach(({ prompt }, s) => {
      incremental[s].set(first.subarray(row * V, (row + prompt) * V));
      row += prompt;
    });
    for (let step = 0; ; step++) {
      const live = sequences.map((seq, s) => ({ ...seq, s, position: seq.prompt + step })).filter(({ tokens, position }) => position < tokens.length);
      if (live.length === 0) break;
      const logits = decoder.forward(live.map(({ tokens, s, position, adapter }) => ({ cache: caches[s], tokens: [tokens[position]], adapter })));
      live.forEach(({ s, position }, i) => incremental[s].set(logits.subarray(i * V, (i + 1) * V), position * V));
    }
    sequences.forEach(({ tokens, adapter }, s) => {
      assert.equal(caches[s].length, tokens.length);
      assertClose(incremental[s], fullForward(tokens, adapter), 1e-5, `sequence ${s}`);
    });
  });

  it("a sequence's logits are bit-identical alone and in a batch with other adapters", () => {
    const decoder = new BatchedDecoder(CONFIG, weights, backend);
    const adapters = [randomAdapter(1), randomAdapter(2), null, randomAdapter(3)];
    const prompts = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]];
    const alone = prompts.map((tokens, s) => decoder.forward([{ cache: createSequenceKvCache(backend, CONFIG, 8), tokens, adapter: adapters[s] }]).slice());
    const batched = decoder.forward(prompts.map((tokens, s) => ({ cache: createSequenceKvCache(backend, CONFIG, 8), tokens, adapter: adapters[s] })));
    prompts.forEach((_, s) => assert.deepEqual(batched.subarray(s * V, (s + 1) * V), alone[s], `sequence ${s}`));
  });

  it("an adapter whose B is zero gives exactly the base model's logits", () => {
    const decoder = new BatchedDecoder(CONFIG, weights, backend);
    const zeroB = randomAdapter(4);
    for (const { B } of zeroB.weights.values()) B.fill(0);
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const base = decoder.forward([{ cache: createSequenceKvCache(backend, CONFIG, 8), tokens, adapter: null }], { allLogits: true }).slice();
    const adapted = decoder.forward([{ cache: createSequenceKvCache(backend, CONFIG, 8), tokens, adapter: zeroB }], { allLogits: true }).slice();
    assert.deepEqual(adapted, base);
    // ...while the same adapter with its random B does change them, so the check above means something.
    const changed = decoder.forward([{ cache: createSequenceKvCache(backend, CONFIG, 8), tokens, adapter: randomAdapter(4) }], { allLogits: true });
    assert.ok(changed.some((x, i) => Math.abs(x - base[i]) > 1e-2));
  });

  it("on the fastest backend (WASM SIMD where available) matches the reference backend within 1e-4", async () => {
    const fast = await createBackend();
    try {
      // Weights in the backend's own memory, as a server loads them, so no kernel call copies them.
      const fastWeights = new Map([...weights].map(([name, tensor]) => {
        const copy = fast.alloc(tensor.length);
        copy.set(tensor);
        return [name, copy];
      }));
      const results = [new BatchedDecoder(CONFIG, weights, backend), new BatchedDecoder(CONFIG, fastWeights, fast)].map((decoder) => {
        const adapters = [randomAdapter(1), null, randomAdapter(2)];
        const caches = adapters.map(() => createSequenceKvCache(decoder.backend, CONFIG, 16));
        const prefill = decoder.forward(adapters.map((adapter, s) => ({ cache: caches[s], tokens: [1, 2, 3, 4, 5, 6, 7, 8, 9].slice(s), adapter })), { allLogits: true }).slice();
        const decode = decoder.forward(adapters.map((adapter, s) => ({ cache: caches[s], tokens: [10 + s], adapter }))).slice();
        return { prefill, decode };
      });
      assertClose(results[1].prefill, results[0].prefill, 1e-4, `prefill on ${fast.name}`);
      assertClose(results[1].decode, results[0].decode, 1e-4, `decode on ${fast.name}`);
    } finally {
      await fast.dispose();
    }
  });

  it("rejects a step that would overflow a KV cache slot or reuse one cache twice", () => {
    const decoder = new BatchedDecoder(CONFIG, weights, backend);
    const cache = createSequenceKvCache(backend, CONFIG, 4);
    assert.throws(() => decoder.forward([{ cache, tokens: [1, 2, 3, 4, 5], adapter: null }]), ContextOverflowError);
    assert.throws(() => decoder.forward([{ cache, tokens: [1], adapter: null }, { cache, tokens: [2], adapter: null }]), InvalidRequestError);
    assert.throws(() => decoder.forward([{ cache, tokens: [], adapter: null }]), InvalidRequestError);
    assert.equal(cache.length, 0);
  });
});
