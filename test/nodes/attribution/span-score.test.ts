import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildSpanIndex, creditedWindows, matchSpans, scoresToPpm, scoreSpans, spanRarityMicroBits } from "../../../nodes/src/attribution/index.ts";

const ROOT = `0x${"ef".repeat(32)}` as const;

describe("span scoring", () => {
  it("ranks a longer unique span above a short common one", () => {
    const common = [1, 2, 3, 4];
    const unique = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29];
    const documents = [
      { contributionId: 1n, tokens: [...unique, 9, 9] },
      ...Array.from({ length: 8 }, (_, i) => ({ contributionId: 2n, tokens: [...common, 30 + i] })),
    ];
    const index = buildSpanIndex(ROOT, documents);
    const output = [...common, 99, ...unique];
    const spans = matchSpans(index, output, { minSpanLength: 4, maxOccurrences: 1000 });
    assert.deepEqual(spans.map((s) => [s.length, s.occurrences]), [
      [4, 8],
      [10, 1],
    ]);
    const scores = scoreSpans(spans, 4, index.tokens.length);
    assert.ok(scores.get(1n)! > 5 * scores.get(2n)!, `unique ${scores.get(1n)} vs common ${scores.get(2n)}`);
  });

  it("scores a rare span higher than an equally long frequent one", () => {
    assert.ok(spanRarityMicroBits(1, 1_000_000) > spanRarityMicroBits(100, 1_000_000));
    assert.equal(spanRarityMicroBits(1, 1), 1_000_000); // log2(2) = 1 bit
  });

  it("credits each output window once, to the longest covering span", () => {
    const spans = [
      { outputStart: 0, length: 10, occurrences: 1, contributions: [{ contributionId: 1n, count: 1 }] },
      { outputStart: 6, length: 12, occurrences: 1, contributions: [{ contributionId: 2n, count: 1 }] },
    ];
    // k = 4: span 0 covers windows 0..6, span 1 covers 6..14; window 6 goes to the longer span 1.
    assert.deepEqual(creditedWindows(spans, 4), [6, 9]);
  });

  it("splits a span's worth by occurrences per contribution", () => {
    const spans = [{ outputStart: 0, length: 8, occurrences: 4, contributions: [{ contributionId: 1n, count: 3 }, { contributionId: 2n, count: 1 }] }];
    assert.deepEqual(scoresToPpm(scoreSpans(spans, 8, 1000)), [
      { contributionId: 1n, ppm: 750_000 },
      { contributionId: 2n, ppm: 250_000 },
    ]);
  });
});
