import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLlamaCpp, type LlamaCpp } from "../../../../bench/peers/llama-cpp.ts";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { exportAdapterGguf, exportModelGguf } from "../../../../nodes/src/engine/formats/gguf-export.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { savePeftAdapter } from "../../../../nodes/src/engine/formats/peft-adapter.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";
import { argmax } from "../../../../nodes/src/engine/inference/sampler.ts";
import { createLoraAdapter, type LoraAdapter } from "../../../../nodes/src/engine/lora/adapter.ts";
import { toPeftLayers } from "../../../../nodes/src/engine/lora/peft-layers.ts";
import { Rng } from "../../../../nodes/src/engine/train/rng.ts";

/**
 * llama.cpp (node-llama-cpp's prebuilt CPU binaries) runs the committed base model and a LoRA adapter exported by
 * the GGUF writer and greedily generates the tokens our engine generates. Needs bench/peers/llama-cpp installed
 * (`npm run bench:peers` installs it); skipped with the reason otherwise. gguf.test.ts checks the files without it.
 */
const MODEL_DIR = join(import.meta.dirname, "../../../../models/tributary-base-v0");
const PROMPTS = ["The river", "Once upon a time, there was", "In the beginning"];
const NEW_TOKENS = 16;

const peer = await loadLlamaCpp(1);
const skip = "missing" in peer ? peer.missing : false;

test("llama.cpp greedily generates our tokens from the exported base model and adapter, at f32 and f16", { skip }, async () => {
  const { llama } = peer as { llama: LlamaCpp };
  const dir = await mkdtemp(join(tmpdir(), "gguf-llama-cpp-"));
  try {
    const folder = await loadModelFolder(MODEL_DIR);
    const { config } = folder;
    const adapter = randomAdapter(config);
    await savePeftAdapter(join(dir, "adapter"), toPeftLayers(adapter, config.numLayers), config);
    await exportModelGguf(MODEL_DIR, join(dir, "base-f32.gguf"));
    await exportModelGguf(MODEL_DIR, join(dir, "base-f16.gguf"), { type: "F16" });
    await exportAdapterGguf(join(dir, "adapter"), MODEL_DIR, join(dir, "adapter-f32.gguf"));

    const backend = createReferenceBackend();
    const decoder = new BatchedDecoder(config, new Map([...folder.tensors].map(([name, t]) => [name, t.data])), backend);
    const ours = (prompt: number[], lora: LoraAdapter | null) => {
      const cache = createSequenceKvCache(backend, config, prompt.length + NEW_TOKENS);
      const out: number[] = [];
      let next: number[] = prompt;
      for (let i = 0; i < NEW_TOKENS; i++) {
        const logits = decoder.forward([{ cache, tokens: next, adapter: lora }]);
        out.push(argmax(logits, 0, config.vocabSize));
        next = [out[out.length - 1]];
      }
      return out;
    };

    const base32 = await llama.loadModel({ modelPath: join(dir, "base-f32.gguf") });
    const base16 = await llama.loadModel({ modelPath: join(dir, "base-f16.gguf") });
    const theirs = async (model: typeof base32, prompt: number[], adapterFile?: string) => {
      const context = await model.createContext({ contextSize: 128, batchSize: 128, threads: 1, ...(adapterFile === undefined ? {} : { lora: { adapters: [{ filePath: adapterFile }] } }) });
      const out: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
        out.push(token);
        if (out.length === NEW_TOKENS) break;
      }
      await context.dispose();
      return out;
    };

    let adapterChangedSomething = false;
    for (const text of PROMPTS) {
      const prompt = folder.tokenizer.encode(text);
      assert.deepEqual(base32.tokenize(text), prompt, `llama.cpp tokenizes "${text}" as our tokenizer does`);
      const plain = ours(prompt, null);
      assert.deepEqual(await theirs(base32, prompt), plain, `f32 base model, "${text}"`);
      assert.deepEqual(await theirs(base16, prompt), plain, `f16 base model, "${text}"`);
      const adapted = ours(prompt, adapter);
      assert.deepEqual(await theirs(base32, prompt, join(dir, "adapter-f32.gguf")), adapted, `f32 base model + adapter, "${text}"`);
      adapterChangedSomething ||= adapted.join() !== plain.join();
      assert.equal(base32.detokenize(plain), folder.tokenizer.decode(plain));
    }
    assert.ok(adapterChangedSomething, "the adapter changes the greedy continuation of at least one prompt (else the adapter check proves nothing)");
    await base32.dispose();
    await base16.dispose();
  } finally {
    await llama.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A rank-8 adapter on every projection with both factors random, strong enough to change greedy continuations. */
function randomAdapter(config: Parameters<typeof createLoraAdapter>[0]): LoraAdapter {
  const adapter = createLoraAdapter(config, { rank: 8, alpha: 16, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] }, { seed: 7, baseModel: "tributary-base-v0" });
  const rng = new Rng(11);
  for (const { B } of adapter.weights.values()) for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-0.05, 0.05);
  return adapter;
}
