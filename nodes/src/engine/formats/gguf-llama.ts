/**
 * Our Llama checkpoints and PEFT LoRA adapters as GGUF, the files llama.cpp and Ollama run, following what
 * llama.cpp's own converters (convert_hf_to_gguf.py, convert_lora_to_gguf.py) write for a LlamaForCausalLM:
 *   - metadata: general.architecture "llama" and the llama.* hyper-parameters; the tokenizer as
 *     tokenizer.ggml.* (model "gpt2": byte-level BPE tokens, merges, token types, special ids);
 *   - tensors renamed (model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight, ...), 1-D norms always
 *     F32, matrices F32 or F16;
 *   - Q and K rows permuted: Hugging Face keeps each head's rotary pairs as two halves (i, i + HS/2), llama.cpp's
 *     "normal" RoPE rotates adjacent pairs (2i, 2i + 1), so each head's rows are interleaved. A LoRA B of q/k
 *     (rows = output features) gets the same permutation; its A does not.
 * An adapter file is general.type "adapter", adapter.type "lora", adapter.lora.alpha, with
 * blk.N.attn_q.weight.lora_a (A [r, in]) and .lora_b (B [out, r]) per adapted projection.
 */
import type { LlamaConfig, LoraTarget } from "../model/config.ts";
import { LORA_TARGETS } from "../model/config.ts";
import { GgufExportError } from "./errors.ts";
import type { GgufFile, GgufTensor, GgufTensorType, GgufValue } from "./gguf.ts";
import { gguf } from "./gguf.ts";
import type { ScaledLlamaConfig } from "./llama-config.ts";
import { ropeInverseFrequencies } from "./llama-config.ts";
import { PROJECTION_MODULE } from "./llama-tensors.ts";
import type { LoraAdapter } from "./peft-adapter.ts";
import { checkLoraAdapter } from "./peft-adapter.ts";

/** llama.cpp's name for each projection inside blk.N. */
export const GGUF_PROJECTION: Readonly<Record<LoraTarget, string>> = {
  q_proj: "attn_q", k_proj: "attn_k", v_proj: "attn_v", o_proj: "attn_output",
  gate_proj: "ffn_gate", up_proj: "ffn_up", down_proj: "ffn_down",
};

/** llama_ftype: what general.file_type says most tensors are. */
const FILE_TYPE: Record<GgufTensorType, number> = { F32: 0, F16: 1 };

/** tokenizer.ggml.token_type values (llama_token_type). */
const TOKEN_TYPE = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

/**
 * The pre-tokenizer regexes llama.cpp knows by name. GPT-2's split is what a tokenizers ByteLevel pre-tokenizer
 * with use_regex does (ours, SmolLM2's); Llama 3's is a Split with its own regex before a ByteLevel without one.
 */
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export interface LlamaGgufSource {
  config: ScaledLlamaConfig;
  /** Hugging Face tensor names, float32 row-major data (ModelFolder.tensors). */
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
  /** tokenizer.json as parsed JSON. */
  tokenizerJson: unknown;
  chatTemplate?: string;
}

export interface LlamaGgufOptions {
  /** Storage type of the matrices (norms stay F32, as llama.cpp's converter keeps them). F32 unless given. */
  type?: GgufTensorType;
  /** general.name. */
  name?: string;
}

/** The GGUF file llama.cpp's converter would write for this checkpoint. */
export function llamaGguf(source: LlamaGgufSource, options: LlamaGgufOptions = {}): GgufFile {
  const { config } = source;
  const type = options.type ?? "F32";
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gguf.string("llama")],
    ["general.type", gguf.string("model")],
    ["general.name", gguf.string(options.name ?? "model")],
    ["general.file_type", gguf.u32(FILE_TYPE[type])],
    ["llama.vocab_size", gguf.u32(config.vocabSize)],
    ["llama.context_length", gguf.u32(config.maxPositionEmbeddings)],
    ["llama.embedding_length", gguf.u32(config.hiddenSize)],
    ["llama.block_count", gguf.u32(config.numLayers)],
    ["llama.feed_forward_length", gguf.u32(config.intermediateSize)],
    ["llama.rope.dimension_count", gguf.u32(config.headDim)],
    ["llama.attention.head_count", gguf.u32(config.numHeads)],
    ["llama.attention.head_count_kv", gguf.u32(config.numKvHeads)],
    ["llama.attention.key_length", gguf.u32(config.headDim)],
    ["llama.attention.value_length", gguf.u32(config.headDim)],
    ["llama.attention.layer_norm_rms_epsilon", gguf.f32(config.rmsNormEps)],
    ["llama.rope.freq_base", gguf.f32(config.ropeTheta)],
    ...tokenizerMetadata(source.tokenizerJson, config, source.chatTemplate),
  ]);

  const tensors: GgufTensor[] = [];
  const take = (hfName: string) => {
    const tensor = source.tensors.get(hfName);
    if (tensor === undefined) throw new GgufExportError(`the checkpoint has no tensor "${hfName}"`, { tensor: hfName });
    return tensor;
  };
  const matrix = (name: string, hfName: string, rows?: (data: Float32Array) => Float32Array): void => {
    const tensor = take(hfName);
    tensors.push({ name, shape: tensor.shape, type, data: rows === undefined ? tensor.data : rows(tensor.data) });
  };
  const norm = (name: string, hfName: string): void => {
    const tensor = take(hfName);
    tensors.push({ name, shape: tensor.shape, type: "F32", data: tensor.data });
  };

  matrix("token_embd.weight", "model.embed_tokens.weight");
  if (config.ropeScaling !== undefined) {
    // llama.cpp applies Llama 3 scaling as a per-frequency divisor (rope_freqs.weight), computed here as its converter does.
    const scaled = ropeInverseFrequencies(config);
    const unscaled = ropeInverseFrequencies({ ...config, ropeScaling: undefined });
    tensors.push({ name: "rope_freqs.weight", shape: [scaled.length], type: "F32", data: unscaled.map((f, i) => f / scaled[i]) });
  }
  for (let layer = 0; layer < config.numLayers; layer++) {
    const hf = `model.layers.${layer}`;
    norm(`blk.${layer}.attn_norm.weight`, `${hf}.input_layernorm.weight`);
    norm(`blk.${layer}.ffn_norm.weight`, `${hf}.post_attention_layernorm.weight`);
    for (const target of LORA_TARGETS) {
      const permute = rotaryRowPermutation(config, target);
      matrix(`blk.${layer}.${GGUF_PROJECTION[target]}.weight`, `${hf}.${PROJECTION_MODULE[target]}.${target}.weight`, permute);
    }
  }
  norm("output_norm.weight", "model.norm.weight");
  // A tied model has no output.weight: llama.cpp then multiplies by token_embd, as transformers does.
  if (!config.tieWordEmbeddings) matrix("output.weight", "lm_head.weight");
  return { metadata, tensors };
}

export interface LoraGgufOptions {
  type?: GgufTensorType;
  name?: string;
}

/** The GGUF LoRA adapter llama.cpp's convert_lora_to_gguf.py would write for this PEFT adapter. */
export function loraAdapterGguf(adapter: LoraAdapter, base: LlamaConfig, options: LoraGgufOptions = {}): GgufFile {
  checkLoraAdapter(adapter, base);
  const type = options.type ?? "F32";
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gguf.string("llama")],
    ["general.type", gguf.string("adapter")],
    ["general.name", gguf.string(options.name ?? "adapter")],
    ["general.file_type", gguf.u32(FILE_TYPE[type])],
    ["adapter.type", gguf.string("lora")],
    ["adapter.lora.alpha", gguf.f32(adapter.config.alpha)],
  ]);
  const tensors: GgufTensor[] = [];
  const rank = adapter.config.rank;
  adapter.layers.forEach((layer, index) => {
    for (const target of LORA_TARGETS) {
      const pair = layer[target];
      if (pair === undefined) continue;
      const inp = pair.A.length / rank;
      const out = pair.B.length / rank;
      const name = `blk.${index}.${GGUF_PROJECTION[target]}.weight`;
      const permute = rotaryRowPermutation(base, target);
      tensors.push({ name: `${name}.lora_a`, shape: [rank, inp], type, data: pair.A });
      tensors.push({ name: `${name}.lora_b`, shape: [out, rank], type, data: permute === undefined ? pair.B : permute(pair.B) });
    }
  });
  return { metadata, tensors };
}

/**
 * For q_proj and k_proj, the row reordering from Hugging Face's rotary layout to llama.cpp's (convert_hf_to_gguf's
 * LlamaModel.permute): within each head, row j * HS/2 + i moves to 2i + j. Other projections: undefined.
 */
export function rotaryRowPermutation(config: LlamaConfig, target: LoraTarget): ((rows: Float32Array) => Float32Array) | undefined {
  if (target !== "q_proj" && target !== "k_proj") return undefined;
  const heads = target === "q_proj" ? config.numHeads : config.numKvHeads;
  const HS = config.headDim;
  const half = HS / 2;
  return (data) => {
    const width = data.length / (heads * HS);
    const out = new Float32Array(data.length);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < 2; j++) {
        for (let i = 0; i < half; i++) {
          const from = (h * HS + j * half + i) * width;
          out.set(data.subarray(from, from + width), (h * HS + 2 * i + j) * width);
        }
      }
    }
    return out;
  };
}

/** tokenizer.ggml.* for a byte-level BPE tokenizer.json (GPT-2 style, as ours and SmolLM2's are). */
export function tokenizerMetadata(tokenizerJson: unknown, config: LlamaConfig, chatTemplate?: string): [string, GgufValue][] {
  const json = tokenizerJson as Record<string, unknown> | null;
  const model = json?.model as Record<string, unknown> | undefined;
  if (model?.type !== "BPE" || typeof model.vocab !== "object" || model.vocab === null) {
    throw new GgufExportError(`tokenizer.json's model is ${String(model?.type)}; only byte-level BPE tokenizers export to GGUF (tokenizer.ggml.model "gpt2")`);
  }
  const pre = preTokenizerName(json?.pre_tokenizer);

  const tokens: (string | undefined)[] = new Array(config.vocabSize);
  const types: number[] = new Array(config.vocabSize).fill(TOKEN_TYPE.NORMAL);
  for (const [token, id] of Object.entries(model.vocab as Record<string, number>)) {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) throw new GgufExportError(`tokenizer.json's token "${token}" has id ${id}, outside the model's vocabulary of ${config.vocabSize}`);
    tokens[id] = token;
  }
  for (const added of (json?.added_tokens ?? []) as { id: number; content: string; special?: boolean }[]) {
    if (added.id < 0 || added.id >= config.vocabSize) throw new GgufExportError(`added token "${added.content}" has id ${added.id}, outside the model's vocabulary of ${config.vocabSize}`);
    tokens[added.id] = added.content;
    types[added.id] = added.special === true ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
  }
  // Ids the tokenizer never produces (a vocab_size rounded up) get placeholder names, as llama.cpp's converter does.
  for (let id = 0; id < tokens.length; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TOKEN_TYPE.UNUSED;
    }
  }
  const merges = ((model.merges ?? []) as (string | [string, string])[]).map((m) => (typeof m === "string" ? m : m.join(" ")));

  const entries: [string, GgufValue][] = [
    ["tokenizer.ggml.model", gguf.string("gpt2")],
    ["tokenizer.ggml.pre", gguf.string(pre)],
    ["tokenizer.ggml.tokens", gguf.strings(tokens as string[])],
    ["tokenizer.ggml.token_type", gguf.i32s(types)],
    ["tokenizer.ggml.merges", gguf.strings(merges)],
  ];
  const eos = Array.isArray(config.eosTokenId) ? config.eosTokenId[0] : config.eosTokenId;
  if (config.bosTokenId !== undefined) entries.push(["tokenizer.ggml.bos_token_id", gguf.u32(config.bosTokenId)]);
  if (eos !== undefined) entries.push(["tokenizer.ggml.eos_token_id", gguf.u32(eos)]);
  // Our tokenizers add no BOS (tokenizer_config add_bos_token false); say so, or llama.cpp would prepend one.
  entries.push(["tokenizer.ggml.add_bos_token", gguf.bool(false)], ["tokenizer.ggml.add_eos_token", gguf.bool(false)]);
  if (chatTemplate !== undefined) entries.push(["tokenizer.chat_template", gguf.string(chatTemplate)]);
  return entries;
}

function preTokenizerName(pre: unknown): string {
  const step = pre as { type?: string; use_regex?: boolean; pretokenizers?: unknown[]; pattern?: { Regex?: string } } | null;
  if (step?.type === "ByteLevel" && step.use_regex !== false) return "gpt-2";
  if (step?.type === "Sequence" && Array.isArray(step.pretokenizers) && step.pretokenizers.length === 2) {
    const [split, byteLevel] = step.pretokenizers as { type?: string; pattern?: { Regex?: string }; use_regex?: boolean }[];
    if (split.type === "Split" && split.pattern?.Regex === LLAMA3_SPLIT && byteLevel.type === "ByteLevel" && byteLevel.use_regex === false) return "llama-bpe";
  }
  throw new GgufExportError(`tokenizer.json's pre_tokenizer (${JSON.stringify(pre)?.slice(0, 200)}) is not one llama.cpp knows by name (GPT-2's byte-level split or Llama 3's)`);
}
