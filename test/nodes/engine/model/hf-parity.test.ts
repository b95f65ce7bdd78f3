import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Backend } from "../../../../nodes/src/engine/backend/backend.ts";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { createBackend } from "../../../../nodes/src/engine/backend/create-backend.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { parseLlamaConfig } from "../../../../nodes/src/engine/formats/llama-config.ts";
import { readSafetensors, type SafetensorsTensor } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { loadPeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { fromPeftLayers } from "../../../../nodes/src/engine/lora/peft-layers.ts";
import { IGNORE_INDEX } from "../../../../nodes/src/engine/ops/cross-entropy.ts";

/**
 * Parity with Hugging Face transformers + PEFT: fixtures/make_hf_golden.py ran LlamaForCausalLM
 * (eager attention) and a PEFT LoRA model on tiny random checkpoints and saved logits, loss and
 * gradients; the engine must reproduce them from the same files, on the reference backend and on
 * the fastest one this runtime has (so the fast kernels are checked end to end, not only per matmul).
 */
const FIXTURES = join(import.meta.dirname, "fixtures");

async function tensors(path: string): Promise<Map<string, SafetensorsTensor>> {
  return readSafetensors(new Uint8Array(await readFile(path))).tensors;
}

/** ‖a − b‖ / ‖b‖: float32 rounding differs between the two implementations, the maths must not. */
function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

async function loadFixture(name: string) {
  const dir = join(FIXTURES, name);
  const config = parseLlamaConfig(JSON.parse(await readFile(join(dir, "config.json"), "utf8")));
  const weights = new Map([...(await tensors(join(dir, "model.safetensors")))].map(([n, t]) => [n, t.data]));
  const golden = await tensors(join(dir, "golden.safetensors"));
  const [B, T] = golden.get("tokens")!.shape;
  const tokens = Int32Array.from(golden.get("tokens")!.data);
  const labels = golden.get("labels")!.data;
  // HF shifts labels inside the loss: position t is scored against labels[t + 1].
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) targets[b * T + t] = labels[b * T + t + 1];
  const adapter = fromPeftLayers(await loadPeftAdapter(dir, config));
  return { config, weights, golden, B, T, tokens, targets, adapter };
}

const BACKENDS: [string, () => Promise<Backend>][] = [["reference", async () => createReferenceBackend()], ["fastest", createBackend]];

for (const [backendLabel, makeBackend] of BACKENDS) for (const name of ["llama-gqa", "llama-tied-rope3"]) {
  describe(`Hugging Face parity: ${name}, ${backendLabel} backend`, () => {
    let backend: Backend;
    before(async () => {
      backend = await makeBackend();
    });
    after(() => backend.dispose());

    it("base model: logits, loss and every weight's gradient", async () => {
      const { config, weights, golden, B, T, tokens, targets } = await loadFixture(name);
      const model = new LlamaModel(config, weights, backend, { trainBase: true });
      const { logits, loss } = model.forward(tokens, B, T, targets);
      assert.ok(relativeError(logits, golden.get("logits")!.data) < 1e-5, `logits error ${relativeError(logits, golden.get("logits")!.data)}`);
      assert.ok(Math.abs(loss! - golden.get("loss")!.data[0]) < 1e-5, `loss ${loss} vs ${golden.get("loss")!.data[0]}`);
      model.zeroGradients();
      model.backward();
      for (const [weightName, grad] of model.weightGrads!) {
        const expected = golden.get(`grad.${weightName}`)!.data;
        assert.ok(relativeError(grad, expected) < 1e-4, `${weightName}: gradient error ${relativeError(grad, expected)}`);
      }
    });

    it("with the PEFT adapter: logits, loss and LoRA gradients", async () => {
      const { config, weights, golden, B, T, tokens, targets, adapter } = await loadFixture(name);
      const model = new LlamaModel(config, weights, backend);
      model.setAdapter(adapter);
      const { logits, loss } = model.forward(tokens, B, T, targets);
      assert.ok(relativeError(logits, golden.get("lora.logits")!.data) < 1e-5, `logits error ${relativeError(logits, golden.get("lora.logits")!.data)}`);
      assert.ok(Math.abs(loss! - golden.get("lora.loss")!.data[0]) < 1e-5, `loss ${loss} vs ${golden.get("lora.loss")!.data[0]}`);
      model.zeroGradients();
      model.backward();
      const grads = model.getAdapterGradients()!;
      assert.equal(grads.size, config.numLayers * 7);
      for (const [key, { A, B: gradB }] of grads) {
        for (const [half, grad] of [["A", A], ["B", gradB]] as const) {
          const expected = golden.get(`lora.grad.${key}.${half}`)!.data;
          assert.ok(relativeError(grad, expected) < 1e-4, `${key}.lora_${half}: gradient error ${relativeError(grad, expected)}`);
        }
      }
    });
  });
}
