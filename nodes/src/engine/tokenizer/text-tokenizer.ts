/**
 * A Hugging Face tokenizer (tokenizer.json + optional tokenizer_config.json) behind the small interface the
 * engine needs: ids in, ids out, the special token ids, a streaming decoder and the chat template.
 * Tokenization itself is @huggingface/tokenizers (pure JS), which reads the standard tokenizer.json.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { TokenizerConfigError } from "./errors.ts";
import { StreamDecoder } from "./stream-decoder.ts";

export interface EncodeOptions {
  /** Apply the tokenizer's post-processor (e.g. Llama 3's BOS); true unless given. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

export interface TextTokenizer {
  /** Size of the id space: the largest id plus one, added tokens included. */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** tokenizer_config.json's chat_template (the "default" one when it holds several). */
  readonly chatTemplate: string | undefined;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** A decoder for one generated stream; it never emits half a UTF-8 character. */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
}

type Json = Record<string, unknown>;

/** Names a checkpoint without tokenizer_config.json most likely uses, tried in order. */
const FALLBACK_NAMES = {
  bos: ["<|begin_of_text|>", "<s>", "<|endoftext|>"],
  eos: ["<|end_of_text|>", "</s>", "<|endoftext|>"],
} as const;

export function loadTokenizer(tokenizerJson: unknown, tokenizerConfigJson: unknown = {}): TextTokenizer {
  if (tokenizerJson === null || typeof tokenizerJson !== "object" || typeof (tokenizerJson as Json).model !== "object") {
    throw new TokenizerConfigError('tokenizer.json must be an object with a "model" section');
  }
  if (tokenizerConfigJson === null || typeof tokenizerConfigJson !== "object" || Array.isArray(tokenizerConfigJson)) {
    throw new TokenizerConfigError("tokenizer_config.json must be a JSON object", { tokenizerConfigJson });
  }
  const config = tokenizerConfigJson as Json;
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, normalizeTokenConfig(config));
  } catch (cause) {
    throw new TokenizerConfigError(`tokenizer.json could not be loaded: ${(cause as Error).message}`);
  }

  const vocab = tokenizer.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);

  const idOf = (field: "bos_token" | "eos_token" | "pad_token", fallbacks: readonly string[]): { token?: string; id?: number } => {
    const token = tokenContent(config[field], field);
    if (token !== undefined) {
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw new TokenizerConfigError(`${field} "${token}" is not in the vocabulary`, { field, token });
      return { token, id };
    }
    for (const candidate of fallbacks) {
      const id = tokenizer.token_to_id(candidate);
      if (id !== undefined) return { token: candidate, id };
    }
    return {};
  };
  const bos = idOf("bos_token", FALLBACK_NAMES.bos);
  const eos = idOf("eos_token", FALLBACK_NAMES.eos);
  const pad = idOf("pad_token", []);
  const chatTemplate = pickChatTemplate(config.chat_template);

  const decode = (ids: readonly number[], options: DecodeOptions = {}): string => {
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= vocabSize) {
        throw new TokenizerConfigError(`token id ${id} is outside the vocabulary (0..${vocabSize - 1})`, { id, vocabSize });
      }
    }
    // the library refuses an empty list; streaming decodes empty windows all the time
    if (ids.length === 0) return "";
    return tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  };

  return {
    vocabSize,
    bosTokenId: bos.id,
    eosTokenId: eos.id,
    padTokenId: pad.id,
    bosToken: bos.token,
    eosToken: eos.token,
    chatTemplate,
    encode: (text, options = {}) => {
      if (typeof text !== "string") throw new TokenizerConfigError(`encode expects a string, got ${typeof text}`);
      return tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
    },
    decode,
    tokenToId: (token) => tokenizer.token_to_id(token),
    idToToken: (id) => tokenizer.id_to_token(id),
    createStreamDecoder: (options = {}) => new StreamDecoder((ids) => decode(ids, options)),
  };
}

/** tokenizer_config.json may spell a special token as a string or as an AddedToken object { content }. */
function tokenContent(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "object" && typeof (value as Json).content === "string") return (value as Json).content as string;
  throw new TokenizerConfigError(`${field} must be a string or { content: string }`, { field, value });
}

/** The library expects special tokens as plain strings. */
function normalizeTokenConfig(config: Json): Json {
  const normalized: Json = { ...config };
  for (const field of ["bos_token", "eos_token", "pad_token", "unk_token"]) {
    const content = tokenContent(config[field], field);
    if (content === undefined) delete normalized[field];
    else normalized[field] = content;
  }
  return normalized;
}

/** chat_template is a string, or a list of { name, template } of which "default" is the chat one. */
function pickChatTemplate(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => t !== null && typeof t === "object" && t.name === "default");
    if (named !== undefined && typeof named.template === "string") return named.template;
  }
  throw new TokenizerConfigError('chat_template must be a string or a list holding a { name: "default", template } entry', { chat_template: value });
}
