import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildSuffixArray } from "../../../nodes/src/attribution/index.ts";
import { seededRandom, randomTokens } from "./fixtures.ts";

/** Reference: sort suffix start positions by comparing the suffixes token by token. */
function naiveSuffixArray(text: ArrayLike<number>): number[] {
  const n = text.length;
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    for (; a < n && b < n; a++, b++) if (text[a] !== text[b]) return text[a] - text[b];
    return a === n ? -1 : 1;
  });
}

function check(text: number[], upper: number): void {
  const sa = buildSuffixArray(Uint32Array.from(text), upper);
  assert.deepEqual(Array.from(sa), naiveSuffixArray(text), `text ${text.join(",")}`);
}

describe("buildSuffixArray (SA-IS)", () => {
  it("handles the empty, one- and two-token texts", () => {
    check([], 0);
    check([5], 5);
    check([2, 1], 2);
    check([1, 2], 2);
    check([3, 3], 3);
  });

  it("matches a naive sort on random texts over small alphabets", () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 500; trial++) {
      const alphabet = 1 + Math.floor(random() * 5);
      check(randomTokens(random, Math.floor(random() * 80), alphabet), alphabet);
    }
  });

  it("matches a naive sort on repetitive texts (all same, periodic, Fibonacci word)", () => {
    for (const n of [3, 17, 64, 255]) check(new Array(n).fill(4), 4);
    for (const period of [2, 3, 5, 7]) check(Array.from({ length: 200 }, (_, i) => (i % period) * 3), 20);
    let [a, b] = ["0", "01"];
    while (b.length < 300) [a, b] = [b, b + a];
    check([...b].map(Number), 1);
  });

  it("matches a naive sort on a large vocabulary with repeated blocks", () => {
    const random = seededRandom(11);
    const block = randomTokens(random, 50, 60000);
    check([...block, ...randomTokens(random, 30, 60000), ...block, ...block.slice(10)], 60000);
  });
});
