import { test } from "node:test";
import assert from "node:assert/strict";
import { loadTokenizer } from "../../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { TokenizerConfigError } from "../../../../nodes/src/engine/tokenizer/errors.ts";
import { tinyTokenizerFiles } from "../formats/tiny-checkpoint.ts";

const { tokenizerJson, tokenizerConfigJson } = tinyTokenizerFiles(400);
const tokenizer = loadTokenizer(tokenizerJson, tokenizerConfigJson);

const HARD_TEXTS = [
  "", " ", "  leading and trailing  ", "tabs\tand\nnew\r\nlines\n\n",
  "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷", "CJK 漢字かなカナ 한국어", "combining e\u0301 a\u0308 n\u0303 Z\u0351\u0336",
  "RTL עברית العربية", "math ∑∫√∞ ≠ ≤", "nul\u0000and\u0001controls\u007f", "private \uE000 astral \u{10FFFF}",
];

test("round-trips any well-formed text", () => {
  for (const text of HARD_TEXTS) assert.equal(tokenizer.decode(tokenizer.encode(text)), text, JSON.stringify(text));
});

test("round-trips random Unicode strings", () => {
  let state = 7;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let n = 0; n < 200; n++) {
    let text = "";
    const length = next() % 20;
    for (let i = 0; i < length; i++) {
      let code = next() % 0x110000;
      if (code >= 0xd800 && code <= 0xdfff) code = 0x20;
      text += String.fromCodePoint(code);
    }
    assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  }
});

test("lone surrogates (not valid UTF-16 text) become U+FFFD, as TextEncoder does", () => {
  assert.equal(tokenizer.decode(tokenizer.encode("a\uD800b\uDC00")), "a\uFFFDb\uFFFD");
});

test("exposes the special token ids and the chat template", () => {
  assert.equal(tokenizer.bosTokenId, 0);
  assert.equal(tokenizer.eosTokenId, 0);
  assert.equal(tokenizer.padTokenId, 0);
  assert.equal(tokenizer.eosToken, "<|endoftext|>");
  assert.equal(tokenizer.tokenToId("<|im_end|>"), 2);
  assert.equal(tokenizer.idToToken(2), "<|im_end|>");
  assert.equal(tokenizer.vocabSize, 400);
  assert.match(tokenizer.chatTemplate ?? "", /<\|im_start\|>/);
  assert.equal(tokenizer.decode([0, ...tokenizer.encode("hi")], { skipSpecialTokens: true }), "hi");
});

test("without tokenizer_config.json the special tokens are found by their usual names", () => {
  const bare = loadTokenizer(tokenizerJson);
  assert.equal(bare.eosTokenId, 0);
  assert.equal(bare.padTokenId, undefined);
  assert.equal(bare.chatTemplate, undefined);
  const named = loadTokenizer(tokenizerJson, { eos_token: { content: "<|im_end|>" }, chat_template: [{ name: "default", template: "x" }] });
  assert.equal(named.eosTokenId, 2);
  assert.equal(named.chatTemplate, "x");
});

test("refuses bad tokenizer files and ids with clear errors", () => {
  assert.throws(() => loadTokenizer({}), (e: unknown) => e instanceof TokenizerConfigError && /"model" section/.test(e.message));
  assert.throws(() => loadTokenizer(tokenizerJson, []), /tokenizer_config.json must be a JSON object/);
  assert.throws(() => loadTokenizer(tokenizerJson, { eos_token: "<nope>" }), /eos_token "<nope>" is not in the vocabulary/);
  assert.throws(() => loadTokenizer(tokenizerJson, { bos_token: 5 }), /bos_token must be a string/);
  assert.throws(() => loadTokenizer(tokenizerJson, { chat_template: 5 }), /chat_template/);
  assert.throws(() => tokenizer.decode([400]), /token id 400 is outside the vocabulary \(0..399\)/);
  assert.throws(() => tokenizer.decode([-1]), TokenizerConfigError);
  assert.throws(() => tokenizer.encode(5 as unknown as string), /encode expects a string/);
});
