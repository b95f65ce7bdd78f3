import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkSharedTextProvenance, findSharedText, SharedTextMask } from "../../../nodes/src/attribution/shared-text.ts";
import { InvalidGradientSketchError } from "../../../nodes/src/attribution/errors.ts";
import { ACCOUNTS } from "./fixtures.ts";

const [A, B, C] = ACCOUNTS;
const seq = (...xs: number[]) => Int32Array.from(xs);

describe("shared text: n-grams contributions of several accounts hold", () => {
  // A and B open with the same 4-token header; A holds one text twice; C holds a text B also holds, one token changed.
  const header = [1, 2, 3, 4];
  const contributions = [
    { contributor: A, tokens: seq(...header, 10, 11, 12) },
    { contributor: A, tokens: seq(20, 21, 22, 23, 24) },
    { contributor: A, tokens: seq(20, 21, 22, 23, 24) },
    { contributor: B, tokens: seq(...header, 30, 31, 40, 41, 42, 43) },
    { contributor: C, tokens: seq(40, 41, 42, 99, 5, 40, 41, 42, 43) },
  ];
  const shared = findSharedText(contributions, { n: 3 });

  it("counts an n-gram as shared only when two accounts hold it, not one account twice; runs are maximal and deduplicated", () => {
    assert.deepEqual(shared, { n: 3, minAccounts: 2, runs: [[1, 2, 3, 4], [40, 41, 42, 43], [40, 41, 42]] });
    assert.deepEqual(findSharedText(contributions, { n: 3, minAccounts: 3 }).runs, [], "no 3-gram is held by three accounts");
    assert.deepEqual(findSharedText(contributions).runs, [], "the default n = 8 finds nothing this short");
  });

  it("masks every token inside a shared n-gram, and nothing else", () => {
    const mask = new SharedTextMask(shared);
    assert.deepEqual([...mask.unscored(seq(9, 1, 2, 3, 4, 5, 20, 21, 22))], [0, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual([...mask.unscored(seq(2, 3, 4, 40, 41, 42, 7))], [1, 1, 1, 1, 1, 1, 0], "2 3 4 is a 3-gram of a run; so is 40 41 42");
    assert.deepEqual([...mask.unscored(seq(1, 2))], [0, 0], "shorter than n: nothing to match");
    // The runs' n-grams are exactly the shared ones: 41 42 43 is, 42 43 x is not.
    assert.deepEqual([...mask.unscored(seq(41, 42, 43, 8))], [1, 1, 1, 0]);
  });

  it("refuses malformed shared text (a sketch file is untrusted input) and a threshold of one account", () => {
    const bad = [
      { n: 0, minAccounts: 2, runs: [] },
      { n: 3, minAccounts: 1, runs: [] },
      { n: 3, minAccounts: 2, runs: [[1, 2]] },
      { n: 3, minAccounts: 2, runs: [[1, 2, -3]] },
      { n: 3, minAccounts: 2, runs: [[1, 2, 2 ** 32]] },
      { n: 3, minAccounts: 2 },
    ];
    for (const value of bad) assert.throws(() => checkSharedTextProvenance(value as never), InvalidGradientSketchError, JSON.stringify(value));
    assert.throws(() => findSharedText(contributions, { minAccounts: 1 }), /minAccounts/);
  });
});
