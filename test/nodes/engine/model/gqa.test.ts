import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights, layerWeightName } from "../../../../nodes/src/engine/model/weights.ts";
import { TINY } from "./tiny.ts";

describe("grouped-query attention in the model", () => {
  it("NKV < NH equals NKV = NH with each k/v head's weight rows repeated (repeat_kv order)", () => {
    const grouped = { ...TINY, numKvHeads: 2 };
    const full = { ...TINY, numKvHeads: TINY.numHeads };
    const weights = initLlamaWeights(grouped, 11, 0.2);
    const fullWeights = new Map(weights);
    const { headDim: HS, hiddenSize: C, numHeads: NH } = TINY;
    const repeat = NH / grouped.numKvHeads;
    for (let l = 0; l < TINY.numLayers; l++) {
      for (const name of ["self_attn.k_proj", "self_attn.v_proj"] as const) {
        const w = weights.get(layerWeightName(l, name))!;
        const wide = new Float32Array(NH * HS * C);
        // Rows of head g are rows g·HS .. (g+1)·HS of the [NKV·HS, C] weight; head h of the wide one reads kv head floor(h / repeat).
        for (let h = 0; h < NH; h++) wide.set(w.subarray(Math.floor(h / repeat) * HS * C, (Math.floor(h / repeat) + 1) * HS * C), h * HS * C);
        fullWeights.set(layerWeightName(l, name), wide);
      }
    }
    const backend = createReferenceBackend();
    const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 7 + 3) % TINY.vocabSize);
    const a = Float32Array.from(new LlamaModel(grouped, weights, backend).forward(tokens, 2, 8).logits);
    const b = new LlamaModel(full, fullWeights, backend).forward(tokens, 2, 8).logits;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `logit ${i}: ${a[i]} vs ${b[i]}`);
  });
});
