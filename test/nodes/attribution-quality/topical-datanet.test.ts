import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildTopicalDatanet, sharedNgrams } from "../../../bench/attribution-quality/topical-datanet.ts";
import { contributorAddress } from "../../../bench/attribution-quality/planted-datanet.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";
import { uniqueProse, wordTokenizer } from "./word-tokenizer.ts";

const names = ["a", "b", "c", "d", "e", "f"];
const documents = names.map((name) => ({ id: `datanet/${name}`, text: uniqueProse(name, 40) }));
const controlText = ["u", "v", "w"].map((name) => ({ id: `control/${name}`, text: uniqueProse(name, 10) }));
const tokenizer = wordTokenizer();
const options = {
  contributors: 4, passagesPerContributor: 3, promptsPerContributor: 2, contentTokens: 20, promptContentTokens: 4, control: 3,
  distinctNgram: 8, template: true, seed: 5,
};

/** True when `part` occurs as a contiguous run inside `whole`. */
function inside(part: Int32Array, whole: readonly number[]): boolean {
  outer: for (let i = 0; i + part.length <= whole.length; i++) {
    for (let j = 0; j < part.length; j++) if (whole[i + j] !== part[j]) continue outer;
    return true;
  }
  return false;
}

describe("topical Datanet (each contributor's passages from one document, prompts from its other passages)", () => {
  const d = buildTopicalDatanet(documents, controlText, tokenizer, options);
  const documentTokens = new Map(documents.map((doc) => [doc.id, tokenizer.encode(doc.text)]));

  it("gives every contributor its own document and all of its contributions from that document", () => {
    assert.deepEqual(d.contributors, [0, 1, 2, 3].map(contributorAddress));
    assert.equal(new Set(d.documents).size, 4, "one document per contributor");
    assert.equal(d.contributions.length, 4 * 3);
    d.contributions.forEach((c, i) => {
      assert.equal(c.contributionId, BigInt(i + 1));
      const holder = d.contributors.indexOf(c.contributor);
      assert.ok(inside(c.content, documentTokens.get(d.documents[holder])!), `contribution ${i} is a passage of its holder's document`);
    });
    assert.deepEqual(d.manifest.contributions.map((c) => c.contributor), d.contributions.map((c) => c.contributor));
  });

  it("cuts each contributor's prompts from other passages of the same document, with the holder as the truth", () => {
    assert.equal(d.probes.length, 4 * 2);
    for (const p of d.probes) {
      const holder = d.contributors.indexOf(p.truth);
      assert.equal(p.document, d.documents[holder]);
      const content = p.prompt.subarray(p.prompt.length - options.promptContentTokens);
      const rest = p.reference.subarray(0, p.reference.length - d.footer.length);
      assert.equal(content.length + rest.length, options.contentTokens);
      const whole = Int32Array.from([...content, ...rest]);
      assert.ok(inside(whole, documentTokens.get(p.document)!), "the prompt and its continuation are one passage of the document");
      assert.ok(!d.contributions.some((c) => inside(whole, [...c.content])), "the passage is not in the Datanet");
    }
    assert.equal(d.heldOut.length, d.probes.length);
  });

  it("shares no 8-gram between any held-out passage and any contribution, nor between contributions", () => {
    const heldOut = d.probes.map((p) => Int32Array.from([...p.prompt.subarray(p.prompt.length - options.promptContentTokens), ...p.reference.subarray(0, p.reference.length - d.footer.length)]));
    assert.equal(sharedNgrams(heldOut, d.contributions.map((c) => c.tokens), 8), 0);
    for (const [i, c] of d.contributions.entries()) {
      assert.equal(sharedNgrams([c.content], d.contributions.filter((_, j) => j !== i).map((o) => o.content), 8), 0);
    }
  });

  it("wraps passages in the shared template with headers that say nothing about the contributor", () => {
    const headerIndex = (tokens: Int32Array) => d.header.findIndex((h) => h.every((t, i) => tokens[i] === t));
    for (const account of d.contributors) {
      const mine = d.contributions.filter((c) => c.contributor === account);
      assert.deepEqual(mine.map((c) => headerIndex(c.tokens)), [0, 1, 2], "every contributor: headers 0, 1, 2 in turn");
      for (const c of mine) assert.deepEqual([...c.tokens.subarray(c.tokens.length - d.footer.length)], [...d.footer]);
      assert.deepEqual(d.probes.filter((p) => p.truth === account).map((p) => headerIndex(p.prompt)), [0, 1]);
    }
    const bare = buildTopicalDatanet(documents, controlText, tokenizer, { ...options, template: false });
    assert.ok(bare.contributions.every((c) => c.tokens.length === options.contentTokens && c.tokens.every((t, i) => t === c.content[i])));
    assert.ok(bare.probes.every((p) => p.prompt.length === options.promptContentTokens && p.reference.length === options.contentTokens - options.promptContentTokens));
  });

  it("is the same for the same seed and maps contributors to documents by the seed", () => {
    const again = buildTopicalDatanet(documents, controlText, tokenizer, options);
    assert.deepEqual(again.documents, d.documents);
    assert.equal(again.root, d.root);
    const other = [6, 7, 8, 9, 10].map((seed) => buildTopicalDatanet(documents, controlText, tokenizer, { ...options, seed }).documents.join());
    assert.ok(other.some((o) => o !== d.documents.join()), "another seed maps contributors to other documents");
  });

  it("skips documents too short for their passages and says when too few remain", () => {
    const short = [...documents.slice(0, 3), { id: "datanet/short", text: uniqueProse("z", 2) }];
    assert.throws(() => buildTopicalDatanet(short, controlText, tokenizer, options), (e: unknown) => e instanceof BenchmarkInputError && /Only 3 of 4 documents/.test(e.message));
    assert.throws(() => buildTopicalDatanet(documents, controlText, tokenizer, { ...options, promptContentTokens: 18 }), BenchmarkInputError);
  });

  it("counts shared n-grams", () => {
    assert.equal(sharedNgrams([[1, 2, 3, 4]], [[9, 2, 3, 4, 9]], 3), 1);
    assert.equal(sharedNgrams([[1, 2, 3, 4], [2, 3, 4]], [[2, 3, 4]], 3), 2);
    assert.equal(sharedNgrams([[1, 2, 3, 4]], [[4, 3, 2, 1]], 2), 0);
    assert.throws(() => sharedNgrams([[1]], [[1]], 0), BenchmarkInputError);
  });
});
