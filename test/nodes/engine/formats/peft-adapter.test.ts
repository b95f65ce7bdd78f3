import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoraTarget } from "../../../../nodes/src/engine/model/config.ts";
import type { LoraAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { loadPeftAdapter, peftKey, readPeftAdapter, savePeftAdapter, writePeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { projectionShape } from "../../../../nodes/src/engine/formats/llama-tensors.ts";
import { readSafetensors, writeSafetensors } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { ConfigFieldError, FolderFileError, TensorMismatchError } from "../../../../nodes/src/engine/formats/errors.ts";
import { TINY_CONFIG, randomValues } from "./tiny-checkpoint.ts";

const RANK = 4;

function tinyAdapter(targets: LoraTarget[] = ["q_proj", "v_proj", "down_proj"], layers = [0, 1]): LoraAdapter {
  let seed = 100;
  return {
    config: { rank: RANK, alpha: 8, targetModules: targets },
    baseModel: "tributary/base-tiny",
    dropout: 0.05,
    layers: Array.from({ length: TINY_CONFIG.numLayers }, (_, layer) => {
      if (!layers.includes(layer)) return {};
      return Object.fromEntries(targets.map((target) => {
        const [out, inp] = projectionShape(TINY_CONFIG, target);
        return [target, { A: randomValues(RANK * inp, seed++), B: randomValues(out * RANK, seed++) }];
      }));
    }),
  };
}

test("writes PEFT's key names, shapes and adapter_config.json", () => {
  const { configJson, weights } = writePeftAdapter(tinyAdapter(), TINY_CONFIG);
  const tensors = readSafetensors(weights).tensors;
  assert.deepEqual(tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")?.shape, [RANK, 16]);
  assert.deepEqual(tensors.get("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")?.shape, [8, RANK]);
  assert.deepEqual(tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")?.shape, [RANK, 24]);
  assert.equal(tensors.size, 2 * 3 * 2);
  assert.equal(configJson.peft_type, "LORA");
  assert.equal(configJson.task_type, "CAUSAL_LM");
  assert.equal(configJson.r, RANK);
  assert.equal(configJson.lora_alpha, 8);
  assert.equal(configJson.lora_dropout, 0.05);
  assert.equal(configJson.bias, "none");
  assert.equal(configJson.fan_in_fan_out, false);
  assert.equal(configJson.use_rslora, false);
  assert.equal(configJson.layers_to_transform, null);
  assert.equal(configJson.base_model_name_or_path, "tributary/base-tiny");
  assert.deepEqual(configJson.target_modules, ["q_proj", "v_proj", "down_proj"]);
});

test("an adapter saved then loaded is the same adapter (f32 exact, bf16 close)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tributary-peft-"));
  try {
    const adapter = tinyAdapter();
    await savePeftAdapter(dir, adapter, TINY_CONFIG);
    assert.deepEqual(await loadPeftAdapter(dir, TINY_CONFIG), adapter);
    await savePeftAdapter(dir, adapter, TINY_CONFIG, "BF16");
    const loaded = await loadPeftAdapter(dir, TINY_CONFIG);
    const original = adapter.layers[1].down_proj!.B;
    loaded.layers[1].down_proj!.B.forEach((v, i) => assert.ok(Math.abs(v - original[i]) <= Math.abs(original[i]) / 256));
    await rm(join(dir, "adapter_model.safetensors"));
    await assert.rejects(loadPeftAdapter(dir, TINY_CONFIG), (e: unknown) => e instanceof FolderFileError && e.path.endsWith("adapter_model.safetensors"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("layers_to_transform round-trips: unadapted layers have no entries", () => {
  const adapter = tinyAdapter(["o_proj"], [1]);
  const { configJson, weights } = writePeftAdapter(adapter, TINY_CONFIG);
  assert.deepEqual(configJson.layers_to_transform, [1]);
  const back = readPeftAdapter(configJson, weights, TINY_CONFIG);
  assert.deepEqual(back.layers[0], {});
  assert.deepEqual(back.layers[1].o_proj, adapter.layers[1].o_proj);
});

test("reads keys that still carry PEFT's adapter name", () => {
  const { configJson, weights } = writePeftAdapter(tinyAdapter(["k_proj"]), TINY_CONFIG);
  const renamed = new Map([...readSafetensors(weights).tensors].map(([k, t]) => [k.replace(".weight", ".default.weight"), t]));
  assert.equal(readPeftAdapter(configJson, writeSafetensors(renamed), TINY_CONFIG).layers[1].k_proj!.A.length, RANK * 16);
});

test("refuses adapter configs the engine would compute differently, naming the field", () => {
  const { configJson, weights } = writePeftAdapter(tinyAdapter(), TINY_CONFIG);
  const cases: [Record<string, unknown>, string][] = [
    [{ peft_type: "IA3" }, "peft_type"], [{ task_type: "SEQ_CLS" }, "task_type"], [{ bias: "all" }, "bias"],
    [{ fan_in_fan_out: true }, "fan_in_fan_out"], [{ use_rslora: true }, "use_rslora"], [{ use_dora: true }, "use_dora"],
    [{ modules_to_save: ["lm_head"] }, "modules_to_save"], [{ rank_pattern: { q_proj: 8 } }, "rank_pattern"],
    [{ alpha_pattern: { q_proj: 8 } }, "alpha_pattern"], [{ r: 0 }, "r"], [{ lora_alpha: "8" }, "lora_alpha"],
    [{ target_modules: "all-linear" }, "target_modules"], [{ target_modules: ["q_proj", "lm_head"] }, "target_modules"],
    [{ target_modules: [] }, "target_modules"], [{ layers_to_transform: [5] }, "layers_to_transform"],
    [{ lora_dropout: 1.5 }, "lora_dropout"], [{ base_model_name_or_path: 3 }, "base_model_name_or_path"],
  ];
  for (const [change, field] of cases) {
    assert.throws(() => readPeftAdapter({ ...configJson, ...change }, weights, TINY_CONFIG), (e: unknown) => e instanceof ConfigFieldError && e.field === field, field);
  }
});

test("names the adapter tensor that is missing, misshapen or unexpected", () => {
  const { configJson, weights } = writePeftAdapter(tinyAdapter(), TINY_CONFIG);
  const edited = (edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void) => {
    const tensors = new Map([...readSafetensors(weights).tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
    edit(tensors);
    return writeSafetensors(tensors);
  };
  const missing = peftKey(1, "v_proj", "B");
  assert.throws(() => readPeftAdapter(configJson, edited((t) => t.delete(missing)), TINY_CONFIG), (e: unknown) => e instanceof TensorMismatchError && e.tensor === missing);
  const q = peftKey(0, "q_proj", "A");
  assert.throws(() => readPeftAdapter(configJson, edited((t) => t.set(q, { shape: [RANK, 8], data: new Float32Array(RANK * 8) })), TINY_CONFIG), /has shape \[4, 8\] but r=4 and the base model imply \[4, 16\]/);
  const unlisted = peftKey(0, "k_proj", "A");
  assert.throws(() => readPeftAdapter(configJson, edited((t) => t.set(unlisted, { shape: [RANK, 16], data: new Float32Array(RANK * 16) })), TINY_CONFIG), /target_modules does not list/);
  const stray = "base_model.model.lm_head.weight";
  assert.throws(() => readPeftAdapter(configJson, edited((t) => t.set(stray, { shape: [1], data: new Float32Array(1) })), TINY_CONFIG), (e: unknown) => e instanceof TensorMismatchError && e.tensor === stray);
  const deep = "base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight";
  assert.throws(() => readPeftAdapter(configJson, edited((t) => t.set(deep, { shape: [RANK, 16], data: new Float32Array(RANK * 16) })), TINY_CONFIG), /layer 7 but the base model has 2 layers/);
});

test("refuses to write an in-memory adapter that does not fit its base model", () => {
  const adapter = tinyAdapter();
  assert.throws(() => writePeftAdapter({ ...adapter, layers: adapter.layers.slice(1) }, TINY_CONFIG), /has 1 entries but the base model has 2 layers/);
  const short = tinyAdapter();
  short.layers[0].q_proj!.A = new Float32Array(3);
  assert.throws(() => writePeftAdapter(short, TINY_CONFIG), /q_proj.lora_A.weight" has 3 values but needs 64/);
  const partial = tinyAdapter();
  delete partial.layers[0].v_proj;
  assert.throws(() => writePeftAdapter(partial, TINY_CONFIG), (e: unknown) => e instanceof TensorMismatchError && e.tensor === peftKey(0, "v_proj", "A"));
  assert.throws(() => writePeftAdapter({ ...adapter, config: { ...adapter.config, rank: 0 } }, TINY_CONFIG), ConfigFieldError);
});
