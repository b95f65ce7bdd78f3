import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { loadPeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { readSafetensors, type SafetensorsTensor } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { fromPeftLayers } from "../../../../nodes/src/engine/lora/peft-layers.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { ADAPTERS, MODELS } from "./fixtures/interop-files.ts";

/**
 * Logits Hugging Face computed from the files our writers produced (transformers' LlamaForCausalLM, and PEFT's
 * PeftModel on top for adapters, all in float32; see fixtures/hf_golden.py) against the engine's logits from the
 * same files. A transposed factor, a misnamed tensor, a lost rope_scaling or a wrong bfloat16 rounding shows here.
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
/** Float32 summation order differs between the two implementations; a wrong formula is off by far more. */
const TOLERANCE = 1e-4;

async function goldenTensors(): Promise<Map<string, SafetensorsTensor>> {
  return readSafetensors(new Uint8Array(await readFile(join(FIXTURES, "golden.safetensors")))).tensors;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "logits of different sizes");
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

async function engineLogits(modelName: string, adapterName: string | undefined, tokens: Int32Array, B: number, T: number): Promise<Float32Array> {
  const folder = await loadModelFolder(join(FIXTURES, modelName));
  const weights = new Map([...folder.tensors].map(([name, tensor]) => [name, tensor.data]));
  const model = new LlamaModel(folder.config, weights, createReferenceBackend());
  if (adapterName !== undefined) model.setAdapter(fromPeftLayers(await loadPeftAdapter(join(FIXTURES, adapterName), folder.config)));
  return model.forward(tokens, B, T).logits;
}

describe("logits match Hugging Face transformers + PEFT on files our writers saved", () => {
  const runs = [...MODELS.map((m) => ({ key: m.name, model: m.name, adapter: undefined })), ...ADAPTERS.map((a) => ({ key: a.name, model: a.base, adapter: a.name }))];
  for (const { key, model, adapter } of runs) {
    it(adapter === undefined ? `${model} (${MODELS.find((m) => m.name === model)!.dtype})` : `${adapter} on ${model}`, async (t) => {
      const golden = await goldenTensors();
      const tokensTensor = golden.get("tokens")!;
      const [B, T] = tokensTensor.shape;
      const expected = golden.get(`${key}.logits`);
      assert.ok(expected !== undefined, `golden.safetensors has no "${key}.logits": rerun fixtures/hf_golden.py`);
      const logits = await engineLogits(model, adapter, Int32Array.from(tokensTensor.data), B, T);
      const difference = maxAbsDifference(logits, expected.data);
      t.diagnostic(`max |ours − HF| = ${difference.toExponential(2)} over ${logits.length} logits`);
      assert.ok(difference < TOLERANCE, `${key}: max |ours − HF| = ${difference}`);
    });
  }

  it("each adapter really moves the logits, so a misplaced factor could not pass unseen", async () => {
    const golden = await goldenTensors();
    for (const adapter of ADAPTERS) {
      const difference = maxAbsDifference(golden.get(`${adapter.name}.logits`)!.data, golden.get(`${adapter.base}.logits`)!.data);
      assert.ok(difference > 1e-2, `${adapter.name} changes HF's logits by only ${difference}`);
    }
  });
});
