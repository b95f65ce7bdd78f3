import { test } from "node:test";
import assert from "node:assert/strict";
import { trainByteLevelBpe } from "../../../../nodes/src/engine/tokenizer/train-bpe.ts";
import { BYTE_TO_CHAR, splitPieces } from "../../../../nodes/src/engine/tokenizer/byte-level.ts";
import { toTokenizerConfigJson, toTokenizerJson } from "../../../../nodes/src/engine/tokenizer/bpe-files.ts";
import { loadTokenizer } from "../../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { BpeTrainingError } from "../../../../nodes/src/engine/tokenizer/errors.ts";

const TEXT = `Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse,
and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.
It is a way I have of driving off the spleen and regulating the circulation. Whenever I find myself growing grim about the mouth;
whenever it is a damp, drizzly November in my soul; whenever I find myself involuntarily pausing before coffin warehouses,
and bringing up the rear of every funeral I meet; then, I account it high time to get to sea as soon as I can. 1851, 1852, 2024!`;
const SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/** The textbook algorithm: recount every pair after every merge. The trainer's incremental counts must agree. */
function naiveMerges(text: string, merges: number): [string, string][] {
  const words = new Map<string, number>();
  for (const piece of splitPieces(text)) words.set(piece, (words.get(piece) ?? 0) + 1);
  let symbols = [...words].map(([w, count]) => ({ s: [...new TextEncoder().encode(w)], count }));
  const names = [...BYTE_TO_CHAR];
  const out: [string, string][] = [];
  for (let m = 0; m < merges; m++) {
    const counts = new Map<number, number>();
    for (const { s, count } of symbols) for (let i = 0; i + 1 < s.length; i++) counts.set(s[i] * 65536 + s[i + 1], (counts.get(s[i] * 65536 + s[i + 1]) ?? 0) + count);
    let best = -1;
    let bestCount = 1;
    for (const [key, count] of counts) if (count > bestCount || (count === bestCount && best !== -1 && key < best)) [best, bestCount] = [key, count];
    if (best === -1) break;
    const [l, r] = [Math.floor(best / 65536), best % 65536];
    const merged = names.length;
    names.push(names[l] + names[r]);
    out.push([names[l], names[r]]);
    symbols = symbols.map(({ s, count }) => {
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === l && s[i + 1] === r) { next.push(merged); i++; } else next.push(s[i]);
      }
      return { s: next, count };
    });
  }
  return out;
}

test("incremental pair counting learns exactly the merges a full recount learns", () => {
  const trained = trainByteLevelBpe([TEXT], { vocabSize: 256 + 150 });
  assert.deepEqual(trained.merges, naiveMerges(TEXT, 150));
});

test("vocabulary: specials first, then the 256 bytes, then merges; training is deterministic", () => {
  const trained = trainByteLevelBpe([TEXT, TEXT], { vocabSize: 400, specialTokens: SPECIALS });
  assert.equal(trained.vocab.get("<|endoftext|>"), 0);
  assert.equal(trained.vocab.get("<|im_end|>"), 2);
  assert.equal(trained.vocab.get("Ġ"), 3 + 32);
  assert.equal(trained.vocab.size, 400);
  assert.deepEqual(trainByteLevelBpe([TEXT, TEXT], { vocabSize: 400, specialTokens: SPECIALS }), trained);
  const [left, right] = trained.merges[0];
  assert.equal(trained.vocab.get(left + right), 3 + 256);
});

test("stops early when no pair is frequent enough", () => {
  const trained = trainByteLevelBpe(["ab ab ab cd"], { vocabSize: 1000 });
  assert.deepEqual(trained.merges, [["a", "b"], ["Ġ", "ab"]]);
  assert.equal(trained.vocab.size, 258);
});

test("writes a tokenizer.json that @huggingface/tokenizers loads, round-trips and compresses with", () => {
  const trained = trainByteLevelBpe([TEXT], { vocabSize: 500, specialTokens: SPECIALS });
  const json = toTokenizerJson(trained) as { model: { merges: string[]; vocab: Record<string, number> } };
  assert.equal(json.model.merges[0], trained.merges[0].join(" "));
  const tokenizer = loadTokenizer(JSON.parse(JSON.stringify(json)), toTokenizerConfigJson(trained));
  const ids = tokenizer.encode(TEXT);
  assert.equal(tokenizer.decode(ids), TEXT);
  const bytesPerToken = new TextEncoder().encode(TEXT).length / ids.length;
  assert.ok(bytesPerToken > 1.5, `compression ${bytesPerToken.toFixed(2)} bytes/token`);
  assert.deepEqual(tokenizer.encode("<|endoftext|>hello"), [0, ...tokenizer.encode("hello")]);
});

test("refuses impossible settings", () => {
  assert.throws(() => trainByteLevelBpe([TEXT], { vocabSize: 200 }), (e: unknown) => e instanceof BpeTrainingError && /from 256/.test(e.message));
  assert.throws(() => trainByteLevelBpe([TEXT], { vocabSize: 100_000 }), BpeTrainingError);
  assert.throws(() => trainByteLevelBpe([TEXT], { vocabSize: 300, specialTokens: ["<a>", "<a>"] }), /distinct/);
  assert.throws(() => trainByteLevelBpe([TEXT], { vocabSize: 300, minFrequency: 0 }), /minFrequency/);
  assert.throws(() => trainByteLevelBpe([3 as unknown as string], { vocabSize: 300 }), /must be strings/);
});
