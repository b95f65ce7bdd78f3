import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { EMBED_TOKENS, initLlamaWeights, layerWeightName } from "../../../../nodes/src/engine/model/weights.ts";
import { createLoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { IGNORE_INDEX } from "../../../../nodes/src/engine/ops/cross-entropy.ts";
import { ModelInputError } from "../../../../nodes/src/engine/model/errors.ts";
import { assertGradientClose, numericalGradient, randomArray, sampleIndices } from "../ops/gradcheck.ts";
import { TINY, TINY_LORA } from "./tiny.ts";

const backend = createReferenceBackend();
const [B, T] = [2, 8];

function batch(seed: number): { tokens: Int32Array; targets: Int32Array } {
  const noise = randomArray(B * T * 2, seed);
  const tokens = Int32Array.from(noise.subarray(0, B * T), (x) => Math.floor((x + 1) * 32) % TINY.vocabSize);
  const targets = Int32Array.from(noise.subarray(B * T), (x) => Math.floor((x + 1) * 32) % TINY.vocabSize);
  targets[3] = IGNORE_INDEX;
  return { tokens, targets };
}

/** A few elements of each embedding row the batch reads (a tied embedding's other rows get gradient too, but these suffice). */
function embeddingRowsOf(tokens: Int32Array): number[] {
  const C = TINY.hiddenSize;
  return [...new Set(tokens)].flatMap((t) => [t * C, t * C + 7, t * C + C - 1]);
}

describe("whole-model backward matches finite differences of the loss", () => {
  for (const tie of [false, true]) {
    it(`LoRA gradients (base frozen), tied embeddings ${tie}`, () => {
      const config = { ...TINY, tieWordEmbeddings: tie };
      const weights = initLlamaWeights(config, 1, 0.3);
      const model = new LlamaModel(config, weights, backend);
      const adapter = createLoraAdapter(config, TINY_LORA, { seed: 2, baseModel: "tiny" });
      // Nonzero B so the gradients of A are not identically zero.
      for (const f of adapter.weights.values()) f.B.set(randomArray(f.B.length, 3, 0.3));
      model.setAdapter(adapter);
      const { tokens, targets } = batch(4);
      const loss = () => model.forward(tokens, B, T, targets).loss!;
      model.zeroGradients();
      loss();
      model.backward();
      const grads = model.getAdapterGradients()!;
      for (const [key, factors] of adapter.weights) {
        const g = grads.get(key)!;
        assertGradientClose(`${key}.lora_A`, g.A, numericalGradient(factors.A, loss), 2e-2);
        assertGradientClose(`${key}.lora_B`, g.B, numericalGradient(factors.B, loss), 2e-2);
      }
      assert.equal(model.weightGrads, null);
    });

    it(`full base-weight gradients, tied embeddings ${tie}`, () => {
      const config = { ...TINY, tieWordEmbeddings: tie };
      const weights = initLlamaWeights(config, 5, 0.3);
      const model = new LlamaModel(config, weights, backend, { trainBase: true });
      const { tokens, targets } = batch(6);
      const loss = () => model.forward(tokens, B, T, targets).loss!;
      model.zeroGradients();
      loss();
      model.backward();
      for (const [name, grad] of model.weightGrads!) {
        const param = weights.get(name)!;
        const indices = name === EMBED_TOKENS ? embeddingRowsOf(tokens) : sampleIndices(param.length, 24);
        assertGradientClose(name, grad, numericalGradient(param, loss, 1e-2, indices), 2e-2, indices);
      }
    });
  }

  it("backward accumulates: two backwards of half-scaled losses equal one full", () => {
    const weights = initLlamaWeights(TINY, 7, 0.3);
    const model = new LlamaModel(TINY, weights, backend, { trainBase: true });
    const { tokens, targets } = batch(8);
    model.zeroGradients();
    model.forward(tokens, B, T, targets);
    model.backward();
    const once = Float32Array.from(model.weightGrads!.get(layerWeightName(0, "self_attn.q_proj"))!);
    model.zeroGradients();
    for (let i = 0; i < 2; i++) {
      model.forward(tokens, B, T, targets);
      model.backward(0.5);
    }
    const twice = model.weightGrads!.get(layerWeightName(0, "self_attn.q_proj"))!;
    for (let i = 0; i < once.length; i++) assert.ok(Math.abs(once[i] - twice[i]) <= 1e-6 + 1e-5 * Math.abs(once[i]));
  });

  it("rejects bad input with ModelInputError", () => {
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
    assert.throws(() => model.forward(new Int32Array(5), 2, 3), ModelInputError);
    assert.throws(() => model.backward(), ModelInputError);
    assert.throws(() => model.forward(new Int32Array(65), 1, 65), /maxPositionEmbeddings/);
  });
});
