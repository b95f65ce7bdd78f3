import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildSpanIndex, findOccurrences, InvalidParameterError, InvalidTokenError, longestMatchAt, matchSpans, type SpanIndex } from "../../../nodes/src/attribution/index.ts";
import { copiedOutput, datanetFixture, randomTokens, seededRandom } from "./fixtures.ts";

const ROOT = `0x${"cd".repeat(32)}` as const;

/** Reference: occurrences of `query` by scanning every document at every position. */
function bruteOccurrences(docs: number[][], query: number[]): { doc: number; at: number }[] {
  const found: { doc: number; at: number }[] = [];
  docs.forEach((doc, d) => {
    for (let at = 0; at + query.length <= doc.length; at++) {
      if (query.every((t, i) => doc[at + i] === t)) found.push({ doc: d, at });
    }
  });
  return found;
}

function bruteLongestMatch(docs: number[][], output: number[], start: number): number {
  let length = 0;
  while (start + length < output.length && bruteOccurrences(docs, output.slice(start, start + length + 1)).length > 0) length++;
  return length;
}

describe("span matching", () => {
  it("finds the same longest match and occurrence count as a brute-force scan", () => {
    const random = seededRandom(3);
    for (let trial = 0; trial < 40; trial++) {
      const alphabet = 2 + Math.floor(random() * 4);
      const docs = Array.from({ length: 1 + Math.floor(random() * 4) }, () => randomTokens(random, Math.floor(random() * 40) + 1, alphabet));
      const index = buildSpanIndex(ROOT, docs.map((tokens, i) => ({ contributionId: BigInt(i), tokens })));
      const output = randomTokens(random, 30, alphabet);
      for (let start = 0; start < output.length; start++) {
        const { length, range } = longestMatchAt(index, output, start);
        assert.equal(length, bruteLongestMatch(docs, output, start), `trial ${trial} start ${start}`);
        if (length > 0) assert.equal(range.hi - range.lo, bruteOccurrences(docs, output.slice(start, start + length)).length);
      }
    }
  });

  it("reports maximal spans only, with per-contribution counts", () => {
    const random = seededRandom(5);
    const docs = Array.from({ length: 3 }, () => randomTokens(random, 60, 3));
    const index = buildSpanIndex(ROOT, docs.map((tokens, i) => ({ contributionId: BigInt(i + 1), tokens })));
    const output = randomTokens(random, 40, 3);
    const spans = matchSpans(index, output, { minSpanLength: 4, maxOccurrences: 1000 });
    const lengths = output.map((_, s) => bruteLongestMatch(docs, output, s));
    const expected = lengths.flatMap((length, s) => (length >= 4 && (s === 0 || length >= lengths[s - 1]) ? [{ s, length }] : []));
    assert.deepEqual(spans.map((x) => ({ s: x.outputStart, length: x.length })), expected);
    for (const span of spans) {
      const found = bruteOccurrences(docs, span.tokens);
      assert.equal(span.occurrences, found.length);
      const perDoc = [1n, 2n, 3n].map((id) => ({ contributionId: id, count: found.filter((f) => f.doc === Number(id) - 1).length })).filter((c) => c.count > 0);
      assert.deepEqual(span.contributions, perDoc);
    }
  });

  it("never matches across a document boundary", () => {
    const index = buildSpanIndex(ROOT, [
      { contributionId: 1n, tokens: [1, 2, 3, 4] },
      { contributionId: 2n, tokens: [5, 6, 7, 8] },
    ]);
    assert.equal(longestMatchAt(index, [3, 4, 5, 6], 0).length, 2);
    assert.deepEqual(matchSpans(index, [1, 2, 3, 4, 5, 6, 7, 8], { minSpanLength: 3, maxOccurrences: 10 }).map((s) => [s.outputStart, s.length]), [
      [0, 4],
      [4, 4],
    ]);
  });

  it("finds a copied passage with the contribution it came from", () => {
    const fixture = datanetFixture();
    const spans = matchSpans(fixture.index, copiedOutput(fixture, 2, 100, 40));
    assert.ok(spans.some((s) => s.outputStart === 8 && s.length === 40 && s.occurrences === 1 && s.contributions[0].contributionId === 12n));
  });

  it("samples the documents of very frequent spans evenly, up to maxOccurrences", () => {
    const index: SpanIndex = buildSpanIndex(
      ROOT,
      Array.from({ length: 50 }, (_, i) => ({ contributionId: BigInt(i % 2), tokens: [7, 7, 7] })),
    );
    const [span] = matchSpans(index, [7, 7], { minSpanLength: 2, maxOccurrences: 10 });
    assert.equal(span.occurrences, 100);
    assert.equal(span.contributions.reduce((sum, c) => sum + c.count, 0), 10);
    assert.equal(findOccurrences(index, [7, 7, 7]).hi - findOccurrences(index, [7, 7, 7]).lo, 50);
  });

  it("rejects the separator in outputs and bad options", () => {
    const { index } = datanetFixture();
    assert.throws(() => matchSpans(index, [1, 0xffffffff]), (e: unknown) => e instanceof InvalidTokenError && /output position 1/.test(e.message));
    assert.throws(() => matchSpans(index, [1], { minSpanLength: 0, maxOccurrences: 5 }), InvalidParameterError);
  });
});
