import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { loadPeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { readSafetensors } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { fromPeftLayers } from "../../../../nodes/src/engine/lora/peft-layers.ts";

/**
 * The serving path against PEFT: one heterogeneous batch (the base model and two of our saved adapters, one of
 * them on a subset of layers and projections), prefilled in two KV-cached steps, must give for each sequence the
 * logits Hugging Face computed for that adapter alone (fixtures/hf_golden.py).
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
const TOLERANCE = 1e-4;

test("a mixed-adapter KV-cached batch gives each sequence PEFT's logits", async () => {
  const golden = readSafetensors(new Uint8Array(await readFile(join(FIXTURES, "golden.safetensors")))).tensors;
  const [, T] = golden.get("tokens")!.shape;
  const tokens = golden.get("tokens")!.data;
  const folder = await loadModelFolder(join(FIXTURES, "llama-f32"));
  const { config } = folder;
  const V = config.vocabSize;
  const backend = createReferenceBackend();
  const decoder = new BatchedDecoder(config, new Map([...folder.tensors].map(([name, t]) => [name, t.data])), backend);
  const adapter = async (name: string) => fromPeftLayers(await loadPeftAdapter(join(FIXTURES, name), config));

  // each sequence: which golden row it replays, and with which adapter
  const sequences = [
    { golden: "llama-f32", row: 0, adapter: null },
    { golden: "lora-all-f32", row: 1, adapter: await adapter("lora-all-f32") },
    { golden: "lora-subset-f32", row: 0, adapter: await adapter("lora-subset-f32") },
    { golden: "lora-all-f32", row: 0, adapter: await adapter("lora-all-f32") },
  ].map((s) => ({ ...s, cache: createSequenceKvCache(backend, config, T), logits: new Float32Array(T * V) }));

  const split = 5; // a prompt's head, then the rest against the cache
  for (const [from, to] of [[0, split], [split, T]]) {
    const segments = sequences.map((s) => ({ cache: s.cache, adapter: s.adapter, tokens: Array.from(tokens.subarray(s.row * T + from, s.row * T + to)) }));
    const logits = decoder.forward(segments, { allLogits: true });
    let offset = 0;
    for (const s of sequences) {
      s.logits.set(logits.subarray(offset * V, (offset + to - from) * V), from * V);
      offset += to - from;
    }
  }

  for (const s of sequences) {
    const expected = golden.get(`${s.golden}.logits`)!.data.subarray(s.row * T * V, (s.row + 1) * T * V);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(s.logits[i] - expected[i]));
    assert.ok(worst < TOLERANCE, `${s.golden}, row ${s.row}: max |ours − HF| = ${worst}`);
  }
});
