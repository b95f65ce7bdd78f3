import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attribute, buildSpanIndex, matchSpans, matchWindows, scoresToPpm, scoreWindows, spanRarityMicroBits } from "../../../nodes/src/attribution/index.ts";

const ROOT = `0x${"ef".repeat(32)}` as const;
const OPTIONS = { minSpanLength: 4, maxOccurrences: 1000 };

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
    const spans = matchSpans(index, output, OPTIONS);
    assert.deepEqual(spans.map((s) => [s.length, s.occurrences]), [
      [4, 8],
      [10, 1],
    ]);
    const windows = matchWindows(index, spans, OPTIONS);
    assert.deepEqual(windows.map((g) => [g.outputStart, g.windows, g.occurrences]), [[0, 1, 8], [5, 7, 1]]);
    const scores = scoreWindows(windows, index.tokens.length);
    assert.ok(scores.get(1n)! > 5 * scores.get(2n)!, `unique ${scores.get(1n)} vs common ${scores.get(2n)}`);
  });

  it("scores a rare window higher than a frequent one", () => {
    assert.ok(spanRarityMicroBits(1, 1_000_000) > spanRarityMicroBits(100, 1_000_000));
    assert.equal(spanRarityMicroBits(1, 1), 1_000_000); // log2(2) = 1 bit
  });

  it("looks every window up once, even where maximal spans overlap, and groups runs with the same evidence", () => {
    const a = [10, 11, 12, 13, 14, 15];
    const documents = [
      { contributionId: 1n, tokens: [...a, 16, 17] }, // holds a + 16 17
      { contributionId: 2n, tokens: [14, 15, 40, 41, 42, 43] }, // holds the end of a, then other text
    ];
    const index = buildSpanIndex(ROOT, documents);
    const output = [...a, 40, 41, 42, 43];
    const spans = matchSpans(index, output, OPTIONS);
    assert.deepEqual(spans.map((s) => [s.outputStart, s.length]), [[0, 6], [4, 6]]);
    const windows = matchWindows(index, spans, OPTIONS);
    // Windows 0..2 lie in contribution 1's text, windows 4..6 in contribution 2's; window 3 (13 14 15 40) is in neither.
    assert.deepEqual(windows.map((g) => [g.outputStart, g.windows, g.contributions.map((c) => c.contributionId)]), [[0, 3, [1n]], [4, 3, [2n]]]);
  });

  it("splits a window's worth by occurrences per contribution", () => {
    const groups = [{ windows: 1, occurrences: 4, contributions: [{ contributionId: 1n, count: 3 }, { contributionId: 2n, count: 1 }] }];
    assert.deepEqual(scoresToPpm(scoreWindows(groups, 1000)), [
      { contributionId: 1n, ppm: 750_000 },
      { contributionId: 2n, ppm: 250_000 },
    ]);
  });

  it("credits a sentence every contributor holds to every holder, not to the one who also holds the tokens after it", () => {
    const sentence = Array.from({ length: 24 }, (_, i) => 100 + i);
    const after = [7, 8, 9, 10];
    const documents = [
      { contributionId: 1n, tokens: [50, 51, ...sentence, ...after, 52] }, // the one who also holds what follows
      { contributionId: 2n, tokens: [60, ...sentence, 61, 62] },
      { contributionId: 3n, tokens: [...sentence, 70, 71, 72] },
      { contributionId: 4n, tokens: [80, 81, 82, ...sentence] },
    ];
    const index = buildSpanIndex(ROOT, documents);
    const output = [1, 2, 3, ...sentence, ...after, 4, 5];
    const record = attribute({ requestId: "shared", model: { id: 1n, cid: "m" }, datanet: { id: 1n, version: 1 }, outputTokens: output, index, parameters: { minSpanLength: 8 } });
    // One maximal span (sentence + after) held only by contribution 1: the longest-span rule gave it everything.
    assert.deepEqual(record.evidence.spans.map((s) => [s.length, s.occurrences]), [[sentence.length + after.length, 1]]);
    const share = new Map(record.weights.map((w) => [w.contributionId, w.ppm / 1e6]));
    for (const id of ["2", "3", "4"]) assert.ok((share.get(id) ?? 0) > 0.12, `holder ${id} of the shared sentence gets ${share.get(id)}`);
    // Contribution 1 still gets more: the windows that run into the tokens after the sentence are its alone.
    assert.ok(share.get("1")! > share.get("2")! && share.get("1")! < 0.6, `contribution 1 gets ${share.get("1")}`);
    // The 17 windows inside the sentence are held by all four; the 4 that run past it only by 1.
    assert.deepEqual(record.evidence.windows.map((g) => [g.windows, g.occurrences]), [[17, 4], [4, 1]]);
  });
});
