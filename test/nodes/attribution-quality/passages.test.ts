import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { extractPassages, NgramRegistry, sentenceStarts } from "../../../bench/attribution-quality/passages.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";
import { uniqueProse, wordTokenizer } from "./word-tokenizer.ts";

const options = { length: 10, distinctNgram: 4, perSource: 2 };

describe("passages for planted evidence", () => {
  it("finds sentence starts after terminal punctuation (and a closing quote) followed by a capital", () => {
    // "Never starts with a quote and "e.g. not" with a small letter: neither counts, which only costs candidates.
    assert.deepEqual(sentenceStarts('Call me Ishmael. Some years ago! "Never mind." How long? e.g. not this'), [0, 17, 47]);
  });

  it("cuts passages of exactly the length asked, at most perSource from one document, from sentence starts", () => {
    const tokenizer = wordTokenizer();
    const sources = [{ id: "a", text: uniqueProse("a", 6) }, { id: "b", text: uniqueProse("b", 6) }];
    const passages = extractPassages(sources, 3, tokenizer, new NgramRegistry(4), options);
    assert.deepEqual(passages.map((p) => p.sourceId), ["a", "a", "b"]);
    for (const p of passages) assert.equal(p.tokens.length, 10);
    assert.deepEqual([...passages[0].tokens], tokenizer.encode(sources[0].text).slice(0, 10));
  });

  it("never takes a passage that shares an n-gram with one taken before, across calls sharing the registry", () => {
    const tokenizer = wordTokenizer();
    const original = uniqueProse("c", 4);
    const registry = new NgramRegistry(4);
    const [first] = extractPassages([{ id: "c", text: original }], 1, tokenizer, registry, { ...options, perSource: 1 });
    // A copy of the same sentences, then fresh text: only the fresh text may be taken.
    const copy = { id: "copy", text: `${original} ${uniqueProse("d", 4)}` };
    const [second] = extractPassages([copy], 1, tokenizer, registry, options);
    const firstWords = new Set(first.tokens);
    assert.ok([...second.tokens].every((t) => !firstWords.has(t)), "the second passage repeats words of the first");
  });

  it("says how many passages it found when the documents run out", () => {
    const error = (() => {
      try {
        extractPassages([{ id: "short", text: uniqueProse("e", 1) }], 2, wordTokenizer(), new NgramRegistry(4), options);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof BenchmarkInputError);
    assert.deepEqual(error.details, { found: 1, wanted: 2, sources: 1 });
  });
});
