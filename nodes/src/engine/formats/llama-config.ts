/**
 * Hugging Face config.json <-> LlamaConfig.
 * Accepts LlamaForCausalLM (model_type "llama") and Mistral checkpoints without a sliding window, which are
 * the same network; refuses anything whose math differs (biases, other activations, unimplemented RoPE scaling)
 * with an error naming the field. Defaults are the ones transformers' LlamaConfig uses.
 */
import type { LlamaConfig } from "../model/config.ts";
import { ConfigFieldError } from "./errors.ts";
import type { FloatDtype } from "./safetensors.ts";

/** Llama 3.1 / 3.2 RoPE scaling ("rope_type": "llama3"): long wavelengths are stretched by `factor`. */
export interface Llama3RopeScaling {
  type: "llama3";
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** A LlamaConfig plus the RoPE scaling a checkpoint may ask for; the model passes it to `ropeInverseFrequencies`. */
export type ScaledLlamaConfig = LlamaConfig & { ropeScaling?: Llama3RopeScaling };

type Json = Record<string, unknown>;

const ARCHITECTURES: ReadonlySet<string> = new Set(["LlamaForCausalLM", "MistralForCausalLM"]);
const MODEL_TYPES: ReadonlySet<string> = new Set(["llama", "mistral"]);

/** Parses a config.json object (already JSON.parse'd) into the engine's config. */
export function parseLlamaConfig(json: unknown): ScaledLlamaConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigFieldError("(root)", "must be a JSON object", json);
  }
  const hf = json as Json;
  checkArchitecture(hf);

  const hiddenSize = positiveInteger(hf, "hidden_size");
  const numHeads = positiveInteger(hf, "num_attention_heads");
  const numKvHeads = positiveInteger(hf, "num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigFieldError("num_key_value_heads", `must divide num_attention_heads (${numHeads})`, numKvHeads);
  }
  if (hf.head_dim === undefined || hf.head_dim === null) {
    if (hiddenSize % numHeads !== 0) {
      throw new ConfigFieldError("num_attention_heads", `must divide hidden_size (${hiddenSize}) when head_dim is not given`, numHeads);
    }
  }
  const headDim = positiveInteger(hf, "head_dim", hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new ConfigFieldError("head_dim", "must be even for rotary embeddings", headDim);

  const activation = hf.hidden_act ?? "silu";
  if (activation !== "silu") throw new ConfigFieldError("hidden_act", `is "${String(activation)}"; only "silu" (SwiGLU) is implemented`, activation);
  for (const field of ["attention_bias", "mlp_bias"]) {
    if (hf[field] !== undefined && hf[field] !== false) {
      throw new ConfigFieldError(field, "must be false: projections with biases are not implemented", hf[field]);
    }
  }
  const maxPositionEmbeddings = positiveInteger(hf, "max_position_embeddings", 2048);
  const slidingWindow = hf.sliding_window;
  if (slidingWindow !== undefined && slidingWindow !== null && !(typeof slidingWindow === "number" && slidingWindow >= maxPositionEmbeddings)) {
    throw new ConfigFieldError("sliding_window", "must be null: sliding-window attention is not implemented", slidingWindow);
  }

  const rope = parseRope(hf);
  const config: ScaledLlamaConfig = {
    vocabSize: positiveInteger(hf, "vocab_size"),
    hiddenSize,
    intermediateSize: positiveInteger(hf, "intermediate_size"),
    numLayers: positiveInteger(hf, "num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: positiveNumber(hf, "rms_norm_eps", 1e-6),
    ropeTheta: rope.theta,
    maxPositionEmbeddings,
    tieWordEmbeddings: boolean(hf, "tie_word_embeddings", false),
  };
  const bos = optionalTokenId(hf, "bos_token_id");
  if (bos !== undefined) config.bosTokenId = bos as number;
  const eos = optionalTokenId(hf, "eos_token_id", true);
  if (eos !== undefined) config.eosTokenId = eos;
  if (rope.scaling !== undefined) config.ropeScaling = rope.scaling;
  return config;
}

function checkArchitecture(hf: Json): void {
  const modelType = hf.model_type;
  if (modelType !== undefined && !MODEL_TYPES.has(modelType as string)) {
    throw new ConfigFieldError("model_type", `is "${String(modelType)}"; only Llama-architecture models ("llama", "mistral") are supported`, modelType);
  }
  const architectures = hf.architectures;
  if (architectures !== undefined && architectures !== null) {
    if (!Array.isArray(architectures) || !architectures.some((a) => ARCHITECTURES.has(a))) {
      throw new ConfigFieldError("architectures", `must include LlamaForCausalLM or MistralForCausalLM`, architectures);
    }
  }
  if (modelType === undefined && (architectures === undefined || architectures === null)) {
    throw new ConfigFieldError("model_type", 'is missing (and so is "architectures"): cannot tell the architecture');
  }
}

/**
 * RoPE settings live in `rope_theta` + `rope_scaling` (transformers 4.x) or in one `rope_parameters`
 * object (transformers 5); both spell the scaling kind `rope_type`, older files `type`.
 */
function parseRope(hf: Json): { theta: number; scaling?: Llama3RopeScaling } {
  const parameters = hf.rope_parameters;
  if (parameters !== undefined && parameters !== null) {
    if (typeof parameters !== "object" || Array.isArray(parameters)) throw new ConfigFieldError("rope_parameters", "must be an object", parameters);
    const theta = positiveNumber(parameters as Json, "rope_theta", 10000, "rope_parameters.rope_theta");
    return { theta, scaling: parseRopeScaling(parameters as Json, "rope_parameters") };
  }
  const theta = positiveNumber(hf, "rope_theta", 10000);
  const scaling = hf.rope_scaling;
  if (scaling === undefined || scaling === null) return { theta };
  if (typeof scaling !== "object" || Array.isArray(scaling)) throw new ConfigFieldError("rope_scaling", "must be an object or null", scaling);
  return { theta, scaling: parseRopeScaling(scaling as Json, "rope_scaling") };
}

function parseRopeScaling(scaling: Json, field: string): Llama3RopeScaling | undefined {
  const kind = scaling.rope_type ?? scaling.type ?? "default";
  if (kind === "default") return undefined;
  if (kind !== "llama3") {
    throw new ConfigFieldError(`${field}.rope_type`, `is "${String(kind)}"; only "default" and "llama3" RoPE are implemented`, kind);
  }
  const result: Llama3RopeScaling = {
    type: "llama3",
    factor: positiveNumber(scaling, "factor", undefined, `${field}.factor`),
    lowFreqFactor: positiveNumber(scaling, "low_freq_factor", undefined, `${field}.low_freq_factor`),
    highFreqFactor: positiveNumber(scaling, "high_freq_factor", undefined, `${field}.high_freq_factor`),
    originalMaxPositionEmbeddings: positiveInteger(scaling, "original_max_position_embeddings", undefined, `${field}.original_max_position_embeddings`),
  };
  if (result.highFreqFactor <= result.lowFreqFactor) {
    throw new ConfigFieldError(`${field}.high_freq_factor`, `must be greater than low_freq_factor (${result.lowFreqFactor})`, result.highFreqFactor);
  }
  return result;
}

/**
 * RoPE inverse frequencies, HS/2 of them: theta^(-2i/HS), with Llama 3's scaling applied when the config has it
 * (transformers' `_compute_llama3_parameters`): wavelengths longer than original_context/low_freq_factor are
 * divided by `factor`, shorter than original_context/high_freq_factor kept, and those between interpolated.
 */
export function ropeInverseFrequencies(config: ScaledLlamaConfig): Float32Array {
  const half = config.headDim / 2;
  const out = new Float32Array(half);
  const scaling = config.ropeScaling;
  for (let i = 0; i < half; i++) {
    const frequency = 1 / config.ropeTheta ** ((2 * i) / config.headDim);
    out[i] = scaling === undefined ? frequency : scaleLlama3(frequency, scaling);
  }
  return out;
}

function scaleLlama3(frequency: number, s: Llama3RopeScaling): number {
  const wavelength = (2 * Math.PI) / frequency;
  const lowFreqWavelength = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelength = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  if (wavelength < highFreqWavelength) return frequency;
  if (wavelength > lowFreqWavelength) return frequency / s.factor;
  const smooth = (s.originalMaxPositionEmbeddings / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return (1 - smooth) * (frequency / s.factor) + smooth * frequency;
}

/** transformers' name for each storage dtype: config.json's torch_dtype, which `dtype="auto"` loads the weights as. */
const TORCH_DTYPE: Record<FloatDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/** The config.json that transformers writes for a LlamaForCausalLM with this config, its weights stored as `dtype`. */
export function toHfConfig(config: ScaledLlamaConfig, dtype: FloatDtype = "F32"): Record<string, unknown> {
  const hf: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    hidden_act: "silu",
    max_position_embeddings: config.maxPositionEmbeddings,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: config.ropeScaling === undefined ? null : {
      rope_type: "llama3",
      factor: config.ropeScaling.factor,
      low_freq_factor: config.ropeScaling.lowFreqFactor,
      high_freq_factor: config.ropeScaling.highFreqFactor,
      original_max_position_embeddings: config.ropeScaling.originalMaxPositionEmbeddings,
    },
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    initializer_range: 0.02,
    pretraining_tp: 1,
    tie_word_embeddings: config.tieWordEmbeddings,
    torch_dtype: TORCH_DTYPE[dtype],
    use_cache: true,
  };
  if (config.bosTokenId !== undefined) hf.bos_token_id = config.bosTokenId;
  if (config.eosTokenId !== undefined) hf.eos_token_id = config.eosTokenId;
  return hf;
}

function positiveInteger(json: Json, key: string, fallback?: number, field: string = key): number {
  const value = json[key] ?? fallback;
  if (value === undefined) throw new ConfigFieldError(field, "is missing");
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new ConfigFieldError(field, "must be a positive integer", value);
  return value as number;
}

function positiveNumber(json: Json, key: string, fallback?: number, field: string = key): number {
  const value = json[key] ?? fallback;
  if (value === undefined) throw new ConfigFieldError(field, "is missing");
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new ConfigFieldError(field, "must be a positive number", value);
  return value;
}

function boolean(json: Json, key: string, fallback: boolean): boolean {
  const value = json[key] ?? fallback;
  if (typeof value !== "boolean") throw new ConfigFieldError(key, "must be true or false", value);
  return value;
}

function optionalTokenId(json: Json, key: string, allowList = false): number | number[] | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  const isId = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (isId(value)) return value as number;
  if (allowList && Array.isArray(value) && value.length > 0 && value.every(isId)) return [...value] as number[];
  throw new ConfigFieldError(key, allowList ? "must be a token id or a list of token ids" : "must be a token id", value);
}
