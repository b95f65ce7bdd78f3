import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { swigluForward } from "../../../../nodes/src/engine/ops/swiglu.ts";
import { randomArray } from "../ops/gradcheck.ts";
import { CONFIG, tinyWeights } from "../inference/fixtures.ts";

describe("one layer forward for training and serving (model/layer-forward.ts)", () => {
  it("the MLP activation is bit-identical whether the sigmoid is kept (training) or not (serving)", () => {
    const size = 4096;
    const gate = randomArray(size, 31, 8);
    const up = randomArray(size, 32, 2);
    const kept = new Float32Array(size);
    const plain = new Float32Array(size);
    swigluForward(kept, gate, up, size, new Float32Array(size));
    swigluForward(plain, gate, up, size);
    assert.deepEqual(plain, kept);
  });

  it("LlamaModel and BatchedDecoder give bit-identical logits where their attention agrees exactly (one position)", () => {
    // Over one position both attentions return v exactly (softmax of one score is 1), so any other
    // difference between the two forwards (norms, RoPE, projections, MLP, residuals, output head)
    // would show in the logits.
    const backend = createReferenceBackend();
    const weights = tinyWeights(3);
    const model = new LlamaModel(CONFIG, weights, backend);
    const decoder = new BatchedDecoder(CONFIG, weights, backend);
    for (const token of [0, 7, 38]) {
      const trained = Float32Array.from(model.forward(Int32Array.of(token), 1, 1).logits);
      const served = decoder.forward([{ cache: createSequenceKvCache(backend, CONFIG, 4), tokens: [token], adapter: null }]);
      assert.deepEqual(served, trained, `token ${token}`);
    }
  });
});
