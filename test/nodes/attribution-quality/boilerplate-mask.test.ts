import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { boilerplateMask, sharedNgrams } from "../../../bench/attribution-quality/boilerplate-mask.ts";

const A = "0x00000000000000000000000000000000000000aa" as const;
const B = "0x00000000000000000000000000000000000000bb" as const;
const seq = (...xs: number[]) => Int32Array.from(xs);

describe("shared text left out of the gradient's loss (boilerplate-mask.ts)", () => {
  // Both accounts' contributions open with the same 4-token header; A holds one text twice.
  const header = [1, 2, 3, 4];
  const shared = sharedNgrams([
    { account: A, tokens: seq(...header, 10, 11, 12) },
    { account: A, tokens: seq(20, 21, 22, 23, 24) },
    { account: A, tokens: seq(20, 21, 22, 23, 24) },
    { account: B, tokens: seq(...header, 30, 31) },
  ], 3);

  it("counts an n-gram as shared only when two accounts hold it, not one account twice", () => {
    assert.deepEqual([...shared].sort(), ["1,2,3", "2,3,4"]);
  });

  it("marks every token inside a shared n-gram, and nothing else", () => {
    assert.deepEqual([...boilerplateMask(seq(9, 1, 2, 3, 4, 5, 20, 21, 22), shared, 3)], [0, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual([...boilerplateMask(seq(1, 2), shared, 3)], [0, 0], "shorter than n: nothing to match");
  });
});
