import { test } from "node:test";
import assert from "node:assert/strict";
import { loadTokenizer } from "../../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { StreamDecoder } from "../../../../nodes/src/engine/tokenizer/stream-decoder.ts";
import { BYTE_TO_CHAR } from "../../../../nodes/src/engine/tokenizer/byte-level.ts";
import { tinyTokenizerFiles } from "../formats/tiny-checkpoint.ts";

const { tokenizerJson, tokenizerConfigJson } = tinyTokenizerFiles(400);
const tokenizer = loadTokenizer(tokenizerJson, tokenizerConfigJson);

test("streams text token by token, never emitting half a UTF-8 character", () => {
  const text = "The whale 😀 漢字 e\u0301 👨‍👩‍👧 ships.";
  const ids = tokenizer.encode(text);
  assert.ok(ids.length > [...text].length, "multi-byte characters span several byte tokens with this tiny vocabulary");
  const decoder = tokenizer.createStreamDecoder();
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  for (const piece of pieces) assert.ok(!piece.includes("\uFFFD"), JSON.stringify(pieces));
  assert.equal(pieces.join(""), text);
  assert.ok(pieces.filter((p) => p === "").length > 0, "some tokens were held back until their character completed");
});

test("bytes that never complete a character are flushed as U+FFFD, and text after them still flows", () => {
  const byteToken = (byte: number) => tokenizer.tokenToId(BYTE_TO_CHAR[byte])!;
  const euroFirstTwo = [byteToken(0xe2), byteToken(0x82)]; // "€" is E2 82 AC
  const decoder = tokenizer.createStreamDecoder();
  assert.equal(euroFirstTwo.map((id) => decoder.push(id)).join(""), "");
  assert.equal(decoder.flush(), "\uFFFD");

  const flowing = tokenizer.createStreamDecoder();
  const out = [...euroFirstTwo, ...tokenizer.encode("ok")].map((id) => flowing.push(id)).join("") + flowing.flush();
  assert.equal(out, "\uFFFDok");
});

test("works with any decode function, e.g. one that drops a leading space", () => {
  const words = ["Hello", " big", " world"];
  const decoder = new StreamDecoder((ids) => ids.map((i) => words[i]).join("").trimStart());
  assert.equal([0, 1, 2].map((id) => decoder.push(id)).join("") + decoder.flush(), "Hello big world");
});
