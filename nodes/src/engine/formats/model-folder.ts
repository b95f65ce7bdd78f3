/**
 * Loads and saves a Hugging Face model folder, the layout real checkpoints (SmolLM2, Llama 3.2) come in and
 * the layout our own base model is committed in:
 *   config.json                      LlamaForCausalLM config
 *   model.safetensors                weights, or model-0000i-of-0000n.safetensors + model.safetensors.index.json
 *   tokenizer.json                   Hugging Face tokenizer
 *   tokenizer_config.json            special tokens, chat_template (optional)
 *   generation_config.json           sampling defaults (optional)
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SafetensorsTensor, FloatDtype } from "./safetensors.ts";
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
import type { ScaledLlamaConfig } from "./llama-config.ts";
import { parseLlamaConfig, toHfConfig } from "./llama-config.ts";
import { checkLlamaTensors } from "./llama-tensors.ts";
import { FolderFileError, TensorMismatchError } from "./errors.ts";
import type { TextTokenizer } from "../tokenizer/text-tokenizer.ts";
import { loadTokenizer } from "../tokenizer/text-tokenizer.ts";

/** What a model folder holds, as files would say it; `saveModelFolder` writes exactly this. */
export interface ModelFolderFiles {
  config: ScaledLlamaConfig;
  /** Hugging Face tensor names (model.layers.0.self_attn.q_proj.weight ...), float32 data. */
  tensors: Map<string, SafetensorsTensor>;
  /** tokenizer.json as parsed JSON. */
  tokenizerJson: unknown;
  /** tokenizer_config.json as parsed JSON, when the folder has one. */
  tokenizerConfigJson?: Record<string, unknown>;
  /** generation_config.json as parsed JSON, when the folder has one. */
  generationConfig?: Record<string, unknown>;
}

export interface ModelFolder extends ModelFolderFiles {
  tokenizer: TextTokenizer;
  chatTemplate?: string;
}

export interface SaveModelFolderOptions {
  /** Storage dtype of the weights; F32 unless given. */
  dtype?: FloatDtype;
}

const INDEX_FILE = "model.safetensors.index.json";
const SINGLE_FILE = "model.safetensors";

export async function loadModelFolder(dir: string): Promise<ModelFolder> {
  const config = parseLlamaConfig(await readJson(dir, "config.json"));
  const tensors = await readWeights(dir);
  const shapes = new Map([...tensors].map(([name, tensor]) => [name, tensor.shape]));
  for (const name of checkLlamaTensors(config, shapes)) tensors.delete(name);
  return { ...await loadModelFolderMetadata(dir, config), tensors };
}

/** Everything in a model folder but the weights (which formats/weight-loader.ts reads into a backend). */
export type ModelFolderMetadata = Omit<ModelFolder, "tensors">;

export async function loadModelFolderMetadata(dir: string, parsedConfig?: ScaledLlamaConfig): Promise<ModelFolderMetadata> {
  const config = parsedConfig ?? parseLlamaConfig(await readJson(dir, "config.json"));
  const tokenizerJson = await readJson(dir, "tokenizer.json");
  const tokenizerConfigJson = await readOptionalJson(dir, "tokenizer_config.json");
  const generationConfig = await readOptionalJson(dir, "generation_config.json");
  const tokenizer = loadTokenizer(tokenizerJson, tokenizerConfigJson ?? {});
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new FolderFileError(join(dir, "tokenizer.json"), `has ${tokenizer.vocabSize} token ids but config.json's vocab_size is ${config.vocabSize}`);
  }
  const folder: ModelFolderMetadata = { config, tokenizerJson, tokenizer };
  if (tokenizerConfigJson !== undefined) folder.tokenizerConfigJson = tokenizerConfigJson;
  if (generationConfig !== undefined) folder.generationConfig = generationConfig;
  if (tokenizer.chatTemplate !== undefined) folder.chatTemplate = tokenizer.chatTemplate;
  return folder;
}

/** Writes a single-file checkpoint after checking its tensors against its config. */
export async function saveModelFolder(dir: string, files: ModelFolderFiles, options: SaveModelFolderOptions = {}): Promise<void> {
  checkLlamaTensors(files.config, new Map([...files.tensors].map(([name, tensor]) => [name, tensor.shape])));
  loadTokenizer(files.tokenizerJson, files.tokenizerConfigJson ?? {}); // refuse to write a tokenizer that cannot be read back
  await mkdir(dir, { recursive: true });
  const weights = new Map([...files.tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
  const dtype = options.dtype ?? "F32";
  await writeFile(join(dir, SINGLE_FILE), writeSafetensors(weights, { metadata: { format: "pt" }, dtype }));
  await writeJson(dir, "config.json", toHfConfig(files.config, dtype));
  await writeJson(dir, "tokenizer.json", files.tokenizerJson);
  if (files.tokenizerConfigJson !== undefined) await writeJson(dir, "tokenizer_config.json", files.tokenizerConfigJson);
  if (files.generationConfig !== undefined) await writeJson(dir, "generation_config.json", files.generationConfig);
}

async function readWeights(dir: string): Promise<Map<string, SafetensorsTensor>> {
  const index = await readOptionalJson(dir, INDEX_FILE);
  if (index === undefined) return readSafetensors(await readBytes(dir, SINGLE_FILE)).tensors;

  const weightMap = index.weight_map;
  const indexPath = join(dir, INDEX_FILE);
  if (weightMap === null || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    throw new FolderFileError(indexPath, 'has no "weight_map" object');
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\") || !shard.endsWith(".safetensors")) {
      throw new FolderFileError(indexPath, `maps "${name}" to "${String(shard)}", which is not a .safetensors file in this folder`);
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [shard, names] of byShard) {
    const bytes = await readBytes(dir, shard);
    const stored = readSafetensorsHeader(bytes).entries;
    for (const name of names) {
      if (!stored.has(name)) throw new TensorMismatchError(name, `is listed in ${INDEX_FILE} but missing from ${shard}`, { shard });
    }
    for (const [name, tensor] of readSafetensors(bytes).tensors) {
      if (weightMap[name as keyof typeof weightMap] !== shard) {
        throw new TensorMismatchError(name, `is in ${shard} but ${INDEX_FILE} does not place it there`, { shard });
      }
      tensors.set(name, tensor);
    }
  }
  return tensors;
}

async function readBytes(dir: string, file: string): Promise<Uint8Array> {
  const bytes = await readOptionalBytes(dir, file);
  if (bytes === undefined) throw new FolderFileError(join(dir, file), "is missing");
  return bytes;
}

async function readOptionalBytes(dir: string, file: string): Promise<Uint8Array | undefined> {
  const path = join(dir, file);
  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FolderFileError(path, `cannot be read: ${(cause as Error).message}`);
  }
}

async function readJson(dir: string, file: string): Promise<Record<string, unknown>> {
  const json = await readOptionalJson(dir, file);
  if (json === undefined) throw new FolderFileError(join(dir, file), "is missing");
  return json;
}

async function readOptionalJson(dir: string, file: string): Promise<Record<string, unknown> | undefined> {
  const bytes = await readOptionalBytes(dir, file);
  if (bytes === undefined) return undefined;
  const path = join(dir, file);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new FolderFileError(path, `is not valid JSON: ${(cause as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new FolderFileError(path, "must hold a JSON object");
  return value as Record<string, unknown>;
}

async function writeJson(dir: string, file: string, value: unknown): Promise<void> {
  await writeFile(join(dir, file), JSON.stringify(value, null, 2) + "\n");
}
