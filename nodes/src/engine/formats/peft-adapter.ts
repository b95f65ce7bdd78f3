/**
 * LoRA adapters in PEFT's layout, so that what we train loads in PEFT, vLLM and LoRAX and what they train loads here:
 *   adapter_config.json          peft_type "LORA", r, lora_alpha, target_modules, ...
 *   adapter_model.safetensors    base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight  [r, in]
 *                                base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight  [out, r]
 * (PEFT drops the adapter name ".default" from keys when saving; keys that still carry it are read too.)
 *
 * In memory an adapter is `LoraAdapter`: `layers[i][target]` holds that projection's A [r, in] and B [out, r],
 * row-major float32. The update to a projection's weight W [out, in] is (alpha / r) * B @ A, so its output is
 *   y = x W^T + (alpha / r) * (x A^T) B^T.
 * A layer without an entry for a target is not adapted there (PEFT's layers_to_transform).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LlamaConfig, LoraConfig, LoraTarget } from "../model/config.ts";
import { LORA_TARGETS } from "../model/config.ts";
import { ConfigFieldError, FolderFileError, TensorMismatchError } from "./errors.ts";
import type { FloatDtype, TensorToWrite } from "./safetensors.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { PROJECTION_MODULE, projectionPath, projectionShape } from "./llama-tensors.ts";

/** One adapted projection. A: [r, in], B: [out, r]. */
export interface LoraPair {
  A: Float32Array;
  B: Float32Array;
}

export type LoraLayer = Partial<Record<LoraTarget, LoraPair>>;

export interface LoraAdapter {
  config: LoraConfig;
  /** base_model_name_or_path: the base model's name (ours: its registered id or CID). */
  baseModel: string;
  /** One entry per decoder layer of the base model. */
  layers: LoraLayer[];
  /** Training dropout, recorded for PEFT; 0 unless given. */
  dropout?: number;
}

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

const KEY_PATTERN = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)(?:\.default)?\.weight$/;

/** The adapter_config.json fields PEFT must not have set, because the engine would compute something else. */
const REFUSED_SETTINGS: readonly [field: string, allowed: (value: unknown) => boolean, why: string][] = [
  ["peft_type", (v) => v === "LORA", 'must be "LORA"'],
  ["task_type", (v) => v === undefined || v === null || v === "CAUSAL_LM", 'must be "CAUSAL_LM"'],
  ["bias", (v) => v === undefined || v === "none", 'must be "none": trained biases are not supported'],
  ["fan_in_fan_out", (v) => v === undefined || v === false, "must be false (Llama projections are [out, in])"],
  ["use_rslora", (v) => v === undefined || v === false, "must be false: rank-stabilized scaling is not implemented"],
  ["use_dora", (v) => v === undefined || v === false, "must be false: DoRA is not implemented"],
  ["modules_to_save", (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0), "must be null: fully trained extra modules are not supported"],
  ["rank_pattern", (v) => v === undefined || v === null || isEmptyObject(v), "must be empty: per-module ranks are not supported"],
  ["alpha_pattern", (v) => v === undefined || v === null || isEmptyObject(v), "must be empty: per-module alphas are not supported"],
  ["layer_replication", (v) => v === undefined || v === null, "must be null: layer replication is not supported"],
  ["lora_bias", (v) => v === undefined || v === false, "must be false: LoRA biases are not supported"],
];

/** Parses adapter_config.json and adapter_model.safetensors bytes, checking every shape against the base model. */
export function readPeftAdapter(configJson: unknown, weightBytes: Uint8Array, base: LlamaConfig): LoraAdapter {
  if (configJson === null || typeof configJson !== "object" || Array.isArray(configJson)) {
    throw new ConfigFieldError("(root)", "of adapter_config.json must be a JSON object", configJson);
  }
  const json = configJson as Record<string, unknown>;
  for (const [field, allowed, why] of REFUSED_SETTINGS) {
    if (!allowed(json[field])) throw new ConfigFieldError(field, why, json[field]);
  }
  const rank = json.r;
  if (!Number.isSafeInteger(rank) || (rank as number) <= 0) throw new ConfigFieldError("r", "must be a positive integer", rank);
  const alpha = json.lora_alpha;
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0) throw new ConfigFieldError("lora_alpha", "must be a positive number", alpha);
  const targetModules = parseTargets(json.target_modules);
  const transformed = parseLayersToTransform(json.layers_to_transform, base.numLayers);
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== "number" || dropout < 0 || dropout >= 1) throw new ConfigFieldError("lora_dropout", "must be a number in [0, 1)", dropout);
  const baseModel = json.base_model_name_or_path ?? "";
  if (typeof baseModel !== "string") throw new ConfigFieldError("base_model_name_or_path", "must be a string", baseModel);

  const layers: LoraLayer[] = Array.from({ length: base.numLayers }, () => ({}));
  const halves = new Map<string, { A?: Float32Array; B?: Float32Array }>();
  for (const [name, tensor] of readSafetensors(weightBytes).tensors) {
    const match = KEY_PATTERN.exec(name);
    if (match === null) throw new TensorMismatchError(name, "is not a LoRA A/B weight of a Llama projection (PEFT key expected)");
    const layer = Number(match[1]);
    const target = match[3] as LoraTarget;
    if (!LORA_TARGETS.includes(target) || PROJECTION_MODULE[target] !== match[2]) throw new TensorMismatchError(name, `names an unknown projection "${match[2]}.${match[3]}"`);
    if (layer >= base.numLayers) throw new TensorMismatchError(name, `is for layer ${layer} but the base model has ${base.numLayers} layers`);
    if (!targetModules.includes(target)) throw new TensorMismatchError(name, `adapts ${target}, which target_modules does not list`, { targetModules });
    if (!transformed.has(layer)) throw new TensorMismatchError(name, `is for layer ${layer}, which layers_to_transform excludes`);
    const [out, inp] = projectionShape(base, target);
    const expected = match[4] === "A" ? [rank as number, inp] : [out, rank as number];
    if (tensor.shape.length !== 2 || tensor.shape[0] !== expected[0] || tensor.shape[1] !== expected[1]) {
      throw new TensorMismatchError(name, `has shape [${tensor.shape.join(", ")}] but r=${rank} and the base model imply [${expected.join(", ")}]`, { shape: tensor.shape, expectedShape: expected });
    }
    const key = `${layer}.${target}`;
    const pair = halves.get(key) ?? {};
    pair[match[4] as "A" | "B"] = tensor.data;
    halves.set(key, pair);
  }
  for (const layer of transformed) {
    for (const target of targetModules) {
      const pair = halves.get(`${layer}.${target}`);
      for (const half of ["A", "B"] as const) {
        if (pair?.[half] === undefined) throw new TensorMismatchError(peftKey(layer, target, half), "is missing from the adapter");
      }
      layers[layer][target] = pair as LoraPair;
    }
  }
  return { config: { rank: rank as number, alpha, targetModules }, baseModel, layers, dropout };
}

/** Produces adapter_config.json (as written by PEFT) and adapter_model.safetensors bytes. */
export function writePeftAdapter(adapter: LoraAdapter, base: LlamaConfig, dtype: FloatDtype = "F32"): { configJson: Record<string, unknown>; weights: Uint8Array } {
  checkLoraAdapter(adapter, base);
  const tensors = new Map<string, TensorToWrite>();
  const adaptedLayers: number[] = [];
  adapter.layers.forEach((layer, index) => {
    const targets = Object.keys(layer) as LoraTarget[];
    if (targets.length > 0) adaptedLayers.push(index);
    for (const target of targets) {
      const pair = layer[target] as LoraPair;
      const [out, inp] = projectionShape(base, target);
      tensors.set(peftKey(index, target, "A"), { shape: [adapter.config.rank, inp], data: pair.A });
      tensors.set(peftKey(index, target, "B"), { shape: [out, adapter.config.rank], data: pair.B });
    }
  });
  const everyLayer = adaptedLayers.length === base.numLayers;
  const configJson: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: adapter.baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: everyLayer ? null : adaptedLayers,
    loftq_config: {},
    lora_alpha: adapter.config.alpha,
    lora_dropout: adapter.dropout ?? 0,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    peft_type: "LORA",
    r: adapter.config.rank,
    rank_pattern: {},
    revision: null,
    target_modules: LORA_TARGETS.filter((t) => adapter.config.targetModules.includes(t)),
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
  return { configJson, weights: writeSafetensors(tensors, { metadata: { format: "pt" }, dtype }) };
}

/**
 * Checks an in-memory adapter against its base model: one entry per layer, only targeted projections, and every
 * adapted layer adapting all of them (PEFT has no way to say otherwise), with A and B of the right length.
 */
export function checkLoraAdapter(adapter: LoraAdapter, base: LlamaConfig): void {
  const { rank, alpha, targetModules } = adapter.config;
  if (!Number.isSafeInteger(rank) || rank <= 0) throw new ConfigFieldError("rank", "must be a positive integer", rank);
  if (!Number.isFinite(alpha) || alpha <= 0) throw new ConfigFieldError("alpha", "must be a positive number", alpha);
  parseTargets(targetModules);
  if (adapter.layers.length !== base.numLayers) {
    throw new ConfigFieldError("layers", `has ${adapter.layers.length} entries but the base model has ${base.numLayers} layers`, adapter.layers.length);
  }
  adapter.layers.forEach((layer, index) => {
    const targets = Object.keys(layer);
    if (targets.length === 0) return;
    for (const target of targets) {
      if (!targetModules.includes(target as LoraTarget)) throw new TensorMismatchError(`${projectionPath(index, target as LoraTarget)}`, `is adapted but ${target} is not in targetModules`);
    }
    for (const target of targetModules) {
      const pair = layer[target];
      const [out, inp] = projectionShape(base, target);
      const sizes = { A: rank * inp, B: out * rank };
      for (const half of ["A", "B"] as const) {
        const data = pair?.[half];
        if (!(data instanceof Float32Array)) throw new TensorMismatchError(peftKey(index, target, half), "is missing from the adapter");
        if (data.length !== sizes[half]) {
          throw new TensorMismatchError(peftKey(index, target, half), `has ${data.length} values but needs ${sizes[half]} (${half === "A" ? `[${rank}, ${inp}]` : `[${out}, ${rank}]`})`);
        }
      }
    }
  });
}

export async function loadPeftAdapter(dir: string, base: LlamaConfig): Promise<LoraAdapter> {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  const configText = await readOrExplain(configPath);
  let configJson: unknown;
  try {
    configJson = JSON.parse(new TextDecoder().decode(configText));
  } catch (cause) {
    throw new FolderFileError(configPath, `is not valid JSON: ${(cause as Error).message}`);
  }
  return readPeftAdapter(configJson, await readOrExplain(weightsPath), base);
}

export async function savePeftAdapter(dir: string, adapter: LoraAdapter, base: LlamaConfig, dtype: FloatDtype = "F32"): Promise<void> {
  const { configJson, weights } = writePeftAdapter(adapter, base, dtype);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(configJson, null, 2) + "\n");
  await writeFile(join(dir, ADAPTER_WEIGHTS_FILE), weights);
}

/** PEFT's saved key for one half of one projection's adapter. */
export function peftKey(layer: number, target: LoraTarget, half: "A" | "B"): string {
  return `base_model.model.${projectionPath(layer, target)}.lora_${half}.weight`;
}

function parseTargets(value: unknown): LoraTarget[] {
  if (typeof value === "string") {
    throw new ConfigFieldError("target_modules", "is a regular expression or 'all-linear'; a list of projection names is required", value);
  }
  if (!Array.isArray(value) || value.length === 0) throw new ConfigFieldError("target_modules", "must be a non-empty list of projection names", value);
  for (const target of value) {
    if (!LORA_TARGETS.includes(target)) {
      throw new ConfigFieldError("target_modules", `names "${String(target)}"; allowed: ${LORA_TARGETS.join(", ")}`, value);
    }
  }
  if (new Set(value).size !== value.length) throw new ConfigFieldError("target_modules", "lists a projection twice", value);
  return [...value] as LoraTarget[];
}

function parseLayersToTransform(value: unknown, numLayers: number): Set<number> {
  if (value === undefined || value === null) return new Set(Array.from({ length: numLayers }, (_, i) => i));
  const list = Number.isSafeInteger(value) ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((l) => Number.isSafeInteger(l) && l >= 0 && l < numLayers)) {
    throw new ConfigFieldError("layers_to_transform", `must be null or layer indices below ${numLayers}`, value);
  }
  return new Set(list as number[]);
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

async function readOrExplain(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new FolderFileError(path, code === "ENOENT" ? "is missing" : `cannot be read: ${(cause as Error).message}`);
  }
}
