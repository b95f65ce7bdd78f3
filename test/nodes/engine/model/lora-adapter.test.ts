import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../../../nodes/src/engine/model/weights.ts";
import { InvalidLoraConfigError, createLoraAdapter, loraKey } from "../../../../nodes/src/engine/lora/adapter.ts";
import { fromPeftLayers, toPeftLayers } from "../../../../nodes/src/engine/lora/peft-layers.ts";
import { loadPeftAdapter, savePeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { randomArray } from "../ops/gradcheck.ts";
import { TINY, TINY_LORA } from "./tiny.ts";

const backend = createReferenceBackend();
const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 5 + 1) % TINY.vocabSize);

describe("LoRA adapters", () => {
  it("initialise as PEFT does: A uniform(±1/√in), B zero, seeded", () => {
    const a = createLoraAdapter(TINY, TINY_LORA, { seed: 1, baseModel: "tiny" });
    const b = createLoraAdapter(TINY, TINY_LORA, { seed: 1, baseModel: "tiny" });
    assert.deepEqual(a.weights, b.weights);
    assert.equal(a.weights.size, TINY.numLayers * TINY_LORA.targetModules.length);
    const down = a.weights.get(loraKey(1, "down_proj"))!;
    assert.equal(down.A.length, TINY_LORA.rank * TINY.intermediateSize);
    assert.ok(down.A.every((x) => Math.abs(x) <= 1 / Math.sqrt(TINY.intermediateSize)));
    assert.ok(down.A.some((x) => Math.abs(x) > 0.5 / Math.sqrt(TINY.intermediateSize)));
    assert.ok(down.B.every((x) => x === 0));
    assert.notDeepEqual(a.weights, createLoraAdapter(TINY, TINY_LORA, { seed: 2, baseModel: "tiny" }).weights);
  });

  it("a fresh adapter leaves the model's output unchanged; a trained one changes it", () => {
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 3, 0.2), backend);
    const base = Float32Array.from(model.forward(tokens, 2, 8).logits);
    const adapter = createLoraAdapter(TINY, TINY_LORA, { seed: 4, baseModel: "tiny" });
    model.setAdapter(adapter);
    assert.deepEqual(model.forward(tokens, 2, 8).logits, base);
    adapter.weights.get(loraKey(0, "v_proj"))!.B.set(randomArray(TINY.numKvHeads * TINY.headDim * TINY_LORA.rank, 5));
    assert.notDeepEqual(model.forward(tokens, 2, 8).logits, base);
  });

  it("round-trips through a PEFT folder and gives the same logits", async () => {
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 6, 0.2), backend);
    const adapter = createLoraAdapter(TINY, { rank: 4, alpha: 16, targetModules: ["q_proj", "v_proj", "down_proj"] }, { seed: 7, baseModel: "tiny" });
    for (const f of adapter.weights.values()) f.B.set(randomArray(f.B.length, 8, 0.2));
    model.setAdapter(adapter);
    const before = Float32Array.from(model.forward(tokens, 2, 8).logits);
    const dir = await mkdtemp(join(tmpdir(), "tributary-peft-"));
    try {
      await savePeftAdapter(dir, toPeftLayers(adapter, TINY.numLayers), TINY);
      const loaded = fromPeftLayers(await loadPeftAdapter(dir, TINY));
      assert.deepEqual(loaded.weights, adapter.weights);
      model.setAdapter(loaded);
      assert.deepEqual(model.forward(tokens, 2, 8).logits, before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects bad configs and adapters that do not fit the model", () => {
    assert.throws(() => createLoraAdapter(TINY, { ...TINY_LORA, rank: 0 }, { seed: 1, baseModel: "x" }), InvalidLoraConfigError);
    assert.throws(() => createLoraAdapter(TINY, { ...TINY_LORA, targetModules: ["qkv" as never] }, { seed: 1, baseModel: "x" }), /targetModules/);
    const adapter = createLoraAdapter(TINY, TINY_LORA, { seed: 1, baseModel: "x" });
    const model = new LlamaModel(TINY, initLlamaWeights(TINY, 1), backend);
    assert.throws(() => model.setAdapter(adapter) ?? model.setAdapter({ ...adapter, config: { ...adapter.config, rank: 3 } }), /lora_A/);
    assert.throws(() => model.setAdapter({ ...adapter, weights: new Map([["9.q_proj", adapter.weights.get("0.q_proj")!]]) }), /weights/);
  });
});
