import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contributorsById } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex } from "../../../nodes/src/attribution/span-index.ts";
import { attribute } from "../../../nodes/src/attribution/attribute.ts";
import { buildTemplatedDatanet } from "../../../bench/attribution-quality/templated-datanet.ts";
import { contributorAddress } from "../../../bench/attribution-quality/planted-datanet.ts";
import { accountShares } from "../../../bench/attribution-quality/ranking-metrics.ts";
import { contentNgrams } from "../../../bench/attribution-quality/regime.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";
import { uniqueProse, wordTokenizer } from "./word-tokenizer.ts";

const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
const datanetText = names.map((name) => ({ id: `datanet/${name}`, text: uniqueProse(name, 10) }));
const unrelatedText = ["u", "v", "w"].map((name) => ({ id: `control/${name}`, text: uniqueProse(name, 10) }));
const tokenizer = { ...wordTokenizer(), vocabSize: 100_000 };
const options = {
  contributors: 4, uniquePerContributor: 2, nearDuplicates: 2, editEvery: 5, mixed: 3, heldOut: 2, unrelated: 2,
  contentTokens: 24, promptContentTokens: 4, distinctNgram: 8, seed: 3,
};

describe("templated Datanet (boilerplate, near-duplicates, mixed outputs)", () => {
  const d = buildTemplatedDatanet(datanetText, unrelatedText, tokenizer, options);

  it("wraps every content in a shared header and footer, and copies near-duplicates, edited, to the next contributor", () => {
    assert.deepEqual(d.contributors, [0, 1, 2, 3].map(contributorAddress));
    assert.equal(d.contributions.length, 4 * 2 + 2);
    d.contributions.forEach((c, i) => {
      const header = d.header[d.contributors.indexOf(c.contributor) % d.header.length];
      assert.deepEqual([...c.tokens.subarray(0, header.length)], [...header]);
      assert.deepEqual([...c.tokens.subarray(c.tokens.length - d.footer.length)], [...d.footer]);
      assert.equal(c.contributionId, BigInt(i + 1));
    });
    const copies = d.contributions.filter((c) => c.nearDuplicateCopy);
    assert.equal(copies.length, 2);
    for (const copy of copies) {
      const original = d.contributions.find((c) => !c.nearDuplicateCopy && c.content === copy.content)!;
      assert.notEqual(copy.contributor, original.contributor);
      const a = original.tokens.subarray(original.tokens.length - d.footer.length - 24, original.tokens.length - d.footer.length);
      const b = copy.tokens.subarray(copy.tokens.length - d.footer.length - 24, copy.tokens.length - d.footer.length);
      const changed = [...a].filter((t, i) => t !== b[i]).length;
      assert.equal(changed, Math.floor(24 / 5), "every 5th token changed");
    }
  });

  it("gives each probe its true holders: one, both near-duplicate holders, two mixed sources, none for unrelated text", () => {
    const kinds = d.probes.map((p) => p.kind);
    assert.equal(kinds.filter((k) => k === "unique").length, 6);
    assert.equal(kinds.filter((k) => k === "near-duplicate").length, 2);
    assert.equal(kinds.filter((k) => k === "mixed").length, 3);
    assert.equal(kinds.filter((k) => k === "unrelated").length, 2);
    for (const p of d.probes) {
      if (p.kind === "unrelated") assert.equal(p.truths.length, 0);
      else if (p.kind === "unique") assert.equal(p.truths.length, 1);
      else assert.equal(new Set(p.truths).size, 2);
      assert.deepEqual([...p.reference.subarray(p.reference.length - d.footer.length)], [...d.footer], "every reference ends in the shared footer");
    }
    assert.equal(d.heldOut.length, 2);
    assert.throws(() => buildTemplatedDatanet(datanetText, unrelatedText, tokenizer, { ...options, contributors: 1 }), BenchmarkInputError);
  });

  it("flags outputs that copy a content's 8-gram, not ones made of template text or running across the template junction", () => {
    const copies = contentNgrams(d);
    const c = d.contributions[0];
    const header = d.header[0].length;
    assert.equal(copies(c.tokens.subarray(header, header + 8)), true);
    assert.equal(copies(d.footer), false);
    assert.equal(copies(c.tokens.subarray(0, header + 7)), false, "header + 7 content tokens: no 8-gram wholly inside the content");
    assert.equal(copies(c.tokens.subarray(c.tokens.length - d.footer.length - 7)), false);
  });

  it("the shared footer alone splits among every holder, so an unrelated output is credited to nobody strongly by span", () => {
    const index = buildSpanIndex(d.root, d.indexDocuments);
    const contributorOf = contributorsById(d.manifest);
    for (const p of d.probes.filter((x) => x.kind === "unrelated")) {
      const record = attribute({ requestId: "u", model: { id: 1n, cid: "x" }, datanet: { id: 1n, version: 1 }, outputTokens: p.reference, index });
      const shares = [...accountShares(record.weights.map((w) => ({ contributionId: BigInt(w.contributionId), ppm: w.ppm })), contributorOf).values()];
      assert.equal(shares.length, 4);
      assert.ok(Math.max(...shares) < 0.5, `top share ${Math.max(...shares)}`);
    }
  });
});
