import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { attribute } from "../../../nodes/src/attribution/attribute.ts";
import { contributorsById } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex } from "../../../nodes/src/attribution/span-index.ts";
import { buildPlantedDatanet, contributorAddress } from "../../../bench/attribution-quality/planted-datanet.ts";
import { topContributor } from "../../../bench/attribution-quality/quality-metrics.ts";
import { BenchmarkInputError } from "../../../bench/attribution-quality/errors.ts";
import { uniqueProse, wordTokenizer } from "./word-tokenizer.ts";

const documentNames = ["a", "b", "c", "d", "e", "f", "g", "h"];
const datanetText = documentNames.map((name) => ({ id: `datanet/${name}`, text: uniqueProse(name, 8) }));
const unrelatedText = ["u", "v", "w"].map((name) => ({ id: `control/${name}`, text: uniqueProse(name, 8) }));
const options = { contributors: 3, uniquePerContributor: 2, fillerPassages: 2, unrelatedPassages: 3, passageLength: 20, distinctNgram: 8, seed: 7 };

describe("planted-evidence Datanet", () => {
  const datanet = buildPlantedDatanet(datanetText, unrelatedText, wordTokenizer(), options);

  it("gives each contributor its unique passages and a copy of every filler passage", () => {
    assert.deepEqual(datanet.contributors, [0, 1, 2].map(contributorAddress));
    assert.equal(new Set(datanet.contributors).size, 3);
    assert.equal(datanet.contributions.length, 3 * (2 + 2));
    assert.deepEqual(datanet.contributions.map((c) => c.contributionId), datanet.contributions.map((_, i) => BigInt(i + 1)));
    for (const contributor of datanet.contributors) {
      const own = datanet.contributions.filter((c) => c.contributor === contributor);
      assert.deepEqual(own.map((c) => c.kind), ["unique", "unique", "filler", "filler"]);
    }
    const fillerCopies = datanet.contributions.filter((c) => c.kind === "filler" && c.passage === 0);
    assert.equal(fillerCopies.length, 3);
    assert.ok(fillerCopies.every((c) => c.tokens === fillerCopies[0].tokens));
    assert.equal(datanet.unique.length, 6);
    for (const u of datanet.unique) assert.equal(datanet.contributions[Number(u.contributionId) - 1].contributor, u.owner);
  });

  it("takes unrelated passages only from the unrelated documents", () => {
    assert.equal(datanet.unrelated.length, 3);
    assert.ok(datanet.unrelated.every((p) => p.sourceId.startsWith("control/")));
    assert.ok(datanet.contributions.every((c) => c.sourceId.startsWith("datanet/")));
  });

  it("plants evidence the attribution pipeline credits to its owner alone, and is the same for the same seed", () => {
    const index = buildSpanIndex(datanet.root, datanet.indexDocuments);
    const contributorOf = contributorsById(datanet.manifest);
    for (const { passage, owner } of datanet.unique) {
      const record = attribute({ requestId: "r", model: { id: 1n, cid: "m" }, datanet: { id: 1n, version: 1 }, outputTokens: passage.tokens.subarray(5), index });
      assert.deepEqual(topContributor(record.weights.map((w) => ({ contributionId: BigInt(w.contributionId), ppm: w.ppm })), contributorOf), { contributor: owner, share: 1 });
    }
    const again = buildPlantedDatanet(datanetText, unrelatedText, wordTokenizer(), options);
    assert.equal(again.root, datanet.root);
    const sources = (d: typeof datanet) => d.contributions.map((c) => c.sourceId);
    assert.deepEqual(sources(again), sources(datanet));
    assert.notDeepEqual(sources(buildPlantedDatanet(datanetText, unrelatedText, wordTokenizer(), { ...options, seed: 8 })), sources(datanet));
  });

  it("rejects a passage no longer than the distinct n-gram", () => {
    assert.throws(() => buildPlantedDatanet(datanetText, unrelatedText, wordTokenizer(), { ...options, passageLength: 8 }), BenchmarkInputError);
  });
});
