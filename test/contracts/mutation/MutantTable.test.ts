import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MUTANTS } from "../../../scripts/mutation/mutants.ts";

const root = resolve(import.meta.dirname, "../../..");

// `npm run test:mutation` takes minutes, so it is not part of `npm test`; this check is, and fails as soon as a
// contract change moves a guard the mutation table removes, naming the mutant to update.
describe("Mutation table (scripts/mutation/mutants.ts) matches the contracts", () => {
  it("has unique mutant ids", () => {
    const ids = MUTANTS.map((mutant) => mutant.id);
    assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), []);
  });

  for (const mutant of MUTANTS) {
    it(`${mutant.id}: its snippet occurs exactly once in ${mutant.file} and its tests exist`, () => {
      const source = readFileSync(resolve(root, mutant.file), "utf8");
      const matches = source.split(mutant.find).length - 1;
      assert.equal(matches, 1, `mutant ${mutant.id}: snippet found ${matches} times in ${mutant.file}; update its "find" to the guard's current text`);
      assert.notEqual(mutant.find, mutant.replace, `mutant ${mutant.id} changes nothing`);
      assert.ok(mutant.tests.length > 0, `mutant ${mutant.id} names no tests`);
      for (const test of mutant.tests) assert.ok(existsSync(resolve(root, test)), `mutant ${mutant.id}: no test file ${test}`);
    });
  }
});
