import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { ropeInverseFrequencies, type ScaledLlamaConfig } from "../../../../nodes/src/engine/formats/llama-config.ts";
import { TINY } from "./tiny.ts";

describe("RoPE frequencies in the model", () => {
  it("follow the config's llama3 rope scaling, or frequencies passed in", () => {
    const scaled: ScaledLlamaConfig = {
      ...TINY, headDim: 8, numHeads: 2, numKvHeads: 1,
      ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 },
    };
    const plain: ScaledLlamaConfig = { ...scaled, ropeScaling: undefined };
    const weights = initLlamaWeights(scaled, 1, 0.3);
    const backend = createReferenceBackend();
    const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 3) % TINY.vocabSize);
    const withScaling = Float32Array.from(new LlamaModel(scaled, weights, backend).forward(tokens, 1, 16).logits);
    const without = Float32Array.from(new LlamaModel(plain, weights, backend).forward(tokens, 1, 16).logits);
    const explicit = new LlamaModel(plain, weights, backend, { ropeInverseFrequencies: ropeInverseFrequencies(scaled) }).forward(tokens, 1, 16).logits;
    assert.notDeepEqual(withScaling, without);
    assert.deepEqual(explicit, withScaling);
  });
});
