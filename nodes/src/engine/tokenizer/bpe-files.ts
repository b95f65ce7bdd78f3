/**
 * Writes a trained byte-level BPE as the standard Hugging Face files: tokenizer.json (loadable by the Rust/Python
 * `tokenizers` library, transformers' fast tokenizers and @huggingface/tokenizers) and tokenizer_config.json.
 * Merges are written as "left right" strings, which every `tokenizers` version reads (byte-level tokens never
 * contain a space: space is "Ġ").
 */
import type { TrainedBpe } from "./train-bpe.ts";

/** ChatML, as SmolLM2 uses; needs "<|im_start|>" and "<|im_end|>" among the special tokens. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function toTokenizerJson(trained: TrainedBpe): Record<string, unknown> {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: trained.specialTokens.map((content) => ({
      id: trained.vocab.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries([...trained.vocab].sort((a, b) => a[1] - b[1])),
      merges: trained.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

export interface TokenizerConfigOptions {
  /** Marks both the start and the end of a document; the first special token unless given. */
  endOfTextToken?: string;
  chatTemplate?: string;
  modelMaxLength?: number;
}

export function toTokenizerConfigJson(trained: TrainedBpe, options: TokenizerConfigOptions = {}): Record<string, unknown> {
  const endOfText = options.endOfTextToken ?? trained.specialTokens[0];
  const addedTokensDecoder = Object.fromEntries(
    trained.specialTokens.map((content) => [
      String(trained.vocab.get(content)),
      { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  );
  const config: Record<string, unknown> = {
    add_bos_token: false,
    add_eos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    additional_special_tokens: trained.specialTokens.filter((t) => t !== endOfText),
    bos_token: endOfText ?? null,
    eos_token: endOfText ?? null,
    pad_token: endOfText ?? null,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? 2048,
    tokenizer_class: "GPT2Tokenizer",
  };
  if (options.chatTemplate !== undefined) config.chat_template = options.chatTemplate;
  return config;
}
