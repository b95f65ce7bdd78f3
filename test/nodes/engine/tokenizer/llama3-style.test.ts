import { test } from "node:test";
import assert from "node:assert/strict";
import { loadTokenizer } from "../../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { tinyTokenizerFiles } from "../formats/tiny-checkpoint.ts";

/**
 * Llama 3's tokenizer.json differs from GPT-2's: its own split regex before a ByteLevel step without a regex,
 * and a TemplateProcessing post-processor that prepends <|begin_of_text|>. Built here on a small vocabulary.
 */
function llama3StyleTokenizerJson(): Record<string, unknown> {
  const base = structuredClone(tinyTokenizerFiles(300).tokenizerJson) as {
    added_tokens: { id: number; content: string }[];
    model: { vocab: Record<string, number> };
  };
  const bosId = 300;
  const addedToken = { id: bosId, content: "<|begin_of_text|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  base.model.vocab["<|begin_of_text|>"] = bosId;
  return {
    ...base,
    added_tokens: [...base.added_tokens, addedToken],
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [bosId], tokens: ["<|begin_of_text|>"] } },
    },
  };
}

test("a Llama 3 style tokenizer adds BOS through its post-processor and finds it by name", () => {
  const tokenizer = loadTokenizer(llama3StyleTokenizerJson());
  assert.equal(tokenizer.bosTokenId, 300);
  const ids = tokenizer.encode("The whale 12345 swam.");
  assert.equal(ids[0], 300);
  assert.equal(tokenizer.encode("The whale", { addSpecialTokens: false })[0] !== 300, true);
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), "The whale 12345 swam.");
  assert.equal(tokenizer.decode(ids), "<|begin_of_text|>The whale 12345 swam.");
});
