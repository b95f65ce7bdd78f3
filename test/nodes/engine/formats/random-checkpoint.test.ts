/**
 * bench/large-model writes its 1B-parameter checkpoint with writeRandomBf16Checkpoint: checked here
 * at a tiny size that it is a valid Hugging Face model folder (config, shards, index, tokenizer) that
 * both loaders read, with bf16 values in range and norms at one.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isHalfMatrix } from "../../../../nodes/src/engine/backend/backend.ts";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import { loadModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { loadModelWeights } from "../../../../nodes/src/engine/formats/weight-loader.ts";
import { writeRandomBf16Checkpoint } from "../../../../bench/large-model/checkpoint.ts";
import { CONFIG } from "../inference/fixtures.ts";

const dirs: string[] = [];
after(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }); });

describe("bench/large-model checkpoint writer", () => {
  it("writes a sharded bf16 model folder that loads, with values in range", async () => {
    const dir = await mkdtemp(join(tmpdir(), "random-checkpoint-"));
    dirs.push(dir);
    const { parameters, bytes } = await writeRandomBf16Checkpoint(dir, CONFIG, 0.5);
    assert.equal(bytes, 2 * parameters);
    assert.ok((await readdir(dir)).includes("model.safetensors.index.json"));
    const folder = await loadModelFolder(dir);
    assert.equal(folder.config.vocabSize, CONFIG.vocabSize);
    assert.equal(folder.tokenizer.vocabSize, CONFIG.vocabSize);
    const total = [...folder.tensors.values()].reduce((sum, t) => sum + t.data.length, 0);
    assert.equal(total, parameters);
    for (const [name, tensor] of folder.tensors) {
      if (tensor.shape.length === 1) assert.ok(tensor.data.every((x) => x === 1), name);
      else assert.ok(tensor.data.every((x) => Math.abs(x) <= 0.5) && tensor.data.some((x) => x !== 0), name);
    }
    const weights = await loadModelWeights(dir, folder.config, createReferenceBackend(), { keepHalf: true });
    assert.ok([...weights.values()].some(isHalfMatrix));
  });
});
