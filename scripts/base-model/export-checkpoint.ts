/**
 * Writes the trained base model as a Hugging Face model folder (config.json, model.safetensors in float32,
 * tokenizer.json, tokenizer_config.json, generation_config.json) and checks that it reads back bit for bit.
 */
import { loadModelFolder, saveModelFolder, type ModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import type { SafetensorsTensor } from "../../nodes/src/engine/formats/safetensors.ts";
import type { LlamaConfig } from "../../nodes/src/engine/model/config.ts";
import { llamaWeightShapes, type LlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { BaseModelRunError } from "./errors.ts";
import { END_OF_TEXT_ID } from "./recipe.ts";

export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfigJson: Record<string, unknown>;
}

/** Sampling defaults for clients that read generation_config.json (transformers' generate, our serving layer). */
export const GENERATION_CONFIG = {
  bos_token_id: END_OF_TEXT_ID,
  eos_token_id: END_OF_TEXT_ID,
  pad_token_id: END_OF_TEXT_ID,
  do_sample: true,
  temperature: 0.8,
  top_k: 40,
  max_new_tokens: 64,
};

export async function exportBaseModel(dir: string, config: LlamaConfig, weights: LlamaWeights, tokenizer: TokenizerFiles): Promise<ModelFolder> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, shape] of llamaWeightShapes(config)) {
    const data = weights.get(name);
    if (!data) throw new BaseModelRunError(`The trained model has no tensor "${name}".`, { tensor: name });
    tensors.set(name, { dtype: "F32", shape, data: Float32Array.from(data) });
  }
  await saveModelFolder(dir, {
    config,
    tensors,
    tokenizerJson: tokenizer.tokenizerJson,
    // The tokenizer was trained for up to 1024 tokens; this model has seen only its own context.
    tokenizerConfigJson: { ...tokenizer.tokenizerConfigJson, model_max_length: config.maxPositionEmbeddings },
    generationConfig: GENERATION_CONFIG,
  });
  const loaded = await loadModelFolder(dir);
  for (const [name, data] of weights) {
    const back = loaded.tensors.get(name)?.data;
    if (!back || back.length !== data.length || back.some((x, i) => !Object.is(x, data[i]))) {
      throw new BaseModelRunError(`${dir}: tensor "${name}" does not read back as it was trained.`, { dir, tensor: name });
    }
  }
  return loaded;
}
