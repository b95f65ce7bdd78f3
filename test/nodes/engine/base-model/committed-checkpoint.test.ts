/**
 * The committed base model (models/tributary-base-v0) loads in the engine and generates exactly the text it
 * generated when it was trained: greedy decoding on the bit-reproducible backend (one thread, no fused
 * multiply-add) must give back the string recorded here and in its TRAINING.md.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createBackend } from "../../../../nodes/src/engine/backend/create-backend.ts";
import { createReferenceBackend } from "../../../../nodes/src/engine/backend/reference.ts";
import type { Backend } from "../../../../nodes/src/engine/backend/backend.ts";
import { loadModelFolder, type ModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { LlamaModel } from "../../../../nodes/src/engine/model/llama.ts";
import { continueText, generateTokens } from "../../../../scripts/base-model/generate-text.ts";
import { END_OF_TEXT_ID, parameterCount } from "../../../../scripts/base-model/recipe.ts";

const MODEL_DIR = fileURLToPath(new URL("../../../../models/tributary-base-v0/", import.meta.url));
const PROMPT = "The people of the United States";
/** Greedy continuation recorded when the checkpoint was trained (TRAINING.md, first sample, first 24 tokens). */
const EXPECTED = " of the United States and the United States of the United States, which has been in the course of the United States.";

let folder: ModelFolder;
let backend: Backend;
let model: LlamaModel;

before(async () => {
  folder = await loadModelFolder(MODEL_DIR);
  backend = await createBackend({ threads: 1, fusedMultiplyAdd: false });
  model = new LlamaModel(folder.config, new Map([...folder.tensors].map(([name, t]) => [name, t.data])), backend);
});

after(async () => {
  await backend?.dispose();
});

describe("models/tributary-base-v0", () => {
  it("is a small Llama model with a vocabulary of at most 8k tokens, stored in at most 25 MB", async () => {
    assert.ok(folder.config.vocabSize <= 8192, `vocab_size ${folder.config.vocabSize}`);
    assert.ok(folder.tokenizer.vocabSize <= folder.config.vocabSize);
    const parameters = parameterCount(folder.config);
    assert.ok(parameters > 1e6 && parameters < 10e6, `${parameters} parameters`);
    const { size } = await stat(`${MODEL_DIR}/model.safetensors`);
    assert.ok(size <= 25 * 1024 * 1024, `model.safetensors is ${size} bytes`);
    assert.equal(folder.tokenizer.eosTokenId, END_OF_TEXT_ID);
    assert.equal(folder.tokenizer.tokenToId("<|endoftext|>"), END_OF_TEXT_ID);
  });

  it("generates the recorded greedy continuation, the same on every run", () => {
    const first = continueText(model, folder.tokenizer, PROMPT, { maxNewTokens: 24 });
    assert.equal(first, EXPECTED);
    assert.equal(continueText(model, folder.tokenizer, PROMPT, { maxNewTokens: 24 }), first);
  });

  it("picks the same greedy tokens on the plain TypeScript reference backend", () => {
    const prompt = [END_OF_TEXT_ID, ...folder.tokenizer.encode(PROMPT, { addSpecialTokens: false })];
    const reference = new LlamaModel(folder.config, model.weights, createReferenceBackend());
    assert.deepEqual(generateTokens(reference, prompt, { maxNewTokens: 6 }), generateTokens(model, prompt, { maxNewTokens: 6 }));
  });
});
