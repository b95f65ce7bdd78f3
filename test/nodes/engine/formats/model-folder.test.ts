import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelFolder, saveModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { readSafetensors, writeSafetensors } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { toHfConfig } from "../../../../nodes/src/engine/formats/llama-config.ts";
import { FolderFileError, TensorMismatchError } from "../../../../nodes/src/engine/formats/errors.ts";
import { TINY_CONFIG, tinyTensors, tinyTokenizerFiles } from "./tiny-checkpoint.ts";

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tributary-model-folder-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const files = () => ({ config: TINY_CONFIG, tensors: tinyTensors(), ...tinyTokenizerFiles(), generationConfig: { bos_token_id: 0, eos_token_id: 0, max_new_tokens: 32 } });

test("a tiny model folder saved then loaded is the same model", () => withDir(async (dir) => {
  const saved = files();
  await saveModelFolder(dir, saved);
  const loaded = await loadModelFolder(dir);
  assert.deepEqual(loaded.config, TINY_CONFIG);
  assert.deepEqual(loaded.tensors, saved.tensors);
  assert.deepEqual(loaded.generationConfig, saved.generationConfig);
  assert.equal(loaded.tokenizer.eosTokenId, 0);
  assert.match(loaded.chatTemplate ?? "", /im_start/);
  assert.equal(loaded.tokenizer.decode(loaded.tokenizer.encode("The whale")), "The whale");
  assert.deepEqual(JSON.parse(await readFile(join(dir, "config.json"), "utf8")), toHfConfig(TINY_CONFIG));
}));

test("loads a sharded checkpoint through model.safetensors.index.json", () => withDir(async (dir) => {
  const saved = files();
  await saveModelFolder(dir, saved);
  await rm(join(dir, "model.safetensors"));
  const names = [...saved.tensors.keys()];
  const shards = [names.slice(0, 10), names.slice(10)];
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    await writeFile(join(dir, file), writeSafetensors(new Map(shard.map((n) => [n, { shape: saved.tensors.get(n)!.shape, data: saved.tensors.get(n)!.data }])), { dtype: "BF16" }));
    for (const name of shard) weightMap[name] = file;
  }
  await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  const loaded = await loadModelFolder(dir);
  assert.equal(loaded.tensors.size, saved.tensors.size);
  assert.equal(loaded.tensors.get(names[12])!.dtype, "BF16");

  weightMap[names[0]] = "model-00002-of-00002.safetensors";
  await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
  await assert.rejects(loadModelFolder(dir), (e: unknown) => e instanceof TensorMismatchError && e.tensor === names[0]);
  await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { [names[0]]: "../elsewhere.safetensors" } }));
  await assert.rejects(loadModelFolder(dir), /not a .safetensors file in this folder/);
}));

test("tied embeddings need no lm_head; old rotary buffers are dropped", () => withDir(async (dir) => {
  const tied = { ...TINY_CONFIG, tieWordEmbeddings: true };
  const tensors = tinyTensors(tied);
  assert.equal(tensors.has("lm_head.weight"), false);
  await saveModelFolder(dir, { ...files(), config: tied, tensors });
  const withBuffer = readSafetensors(await readFile(join(dir, "model.safetensors"))).tensors;
  withBuffer.set("model.layers.0.self_attn.rotary_emb.inv_freq", { dtype: "F32", shape: [2], data: new Float32Array(2) });
  await writeFile(join(dir, "model.safetensors"), writeSafetensors(withBuffer));
  const loaded = await loadModelFolder(dir);
  assert.equal(loaded.tensors.has("model.layers.0.self_attn.rotary_emb.inv_freq"), false);
  assert.equal(loaded.config.tieWordEmbeddings, true);
}));

test("names the tensor that is missing, misshapen or unexpected", () => withDir(async (dir) => {
  const saved = files();
  await saveModelFolder(dir, saved);
  const rewrite = async (edit: (t: ReturnType<typeof tinyTensors>) => void) => {
    const tensors = tinyTensors();
    edit(tensors);
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(tensors));
  };
  await rewrite((t) => t.delete("model.layers.1.mlp.down_proj.weight"));
  await assert.rejects(loadModelFolder(dir), (e: unknown) => e instanceof TensorMismatchError && e.tensor === "model.layers.1.mlp.down_proj.weight" && /missing/.test(e.message));
  await rewrite((t) => t.set("model.layers.0.self_attn.k_proj.weight", { dtype: "F32", shape: [16, 16], data: new Float32Array(256) }));
  await assert.rejects(loadModelFolder(dir), /k_proj.weight" has shape \[16, 16\] but the config implies \[8, 16\]/);
  await rewrite((t) => t.set("model.layers.0.self_attn.q_proj.bias", { dtype: "F32", shape: [16], data: new Float32Array(16) }));
  await assert.rejects(loadModelFolder(dir), (e: unknown) => e instanceof TensorMismatchError && e.tensor === "model.layers.0.self_attn.q_proj.bias");
  await assert.rejects(saveModelFolder(dir, { ...saved, tensors: new Map() }), TensorMismatchError);
}));

test("names the file that is missing or broken", () => withDir(async (dir) => {
  await assert.rejects(loadModelFolder(dir), (e: unknown) => e instanceof FolderFileError && e.path === join(dir, "config.json") && /is missing/.test(e.message));
  await saveModelFolder(dir, files());
  await writeFile(join(dir, "tokenizer_config.json"), "{ nope");
  await assert.rejects(loadModelFolder(dir), (e: unknown) => e instanceof FolderFileError && e.path.endsWith("tokenizer_config.json") && /not valid JSON/.test(e.message));
  await rm(join(dir, "tokenizer_config.json"));
  await rm(join(dir, "tokenizer.json"));
  await assert.rejects(loadModelFolder(dir), (e: unknown) => e instanceof FolderFileError && e.path.endsWith("tokenizer.json"));
  await saveModelFolder(dir, { ...files(), ...tinyTokenizerFiles(400) });
  await assert.rejects(loadModelFolder(dir), /has 400 token ids but config.json's vocab_size is 300/);
}));
