import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildBatch, CREDIT_LEAF_TYPES, InvalidBatchInputError, manifestRoot, parseBatch, serializeBatch, splitPool } from "../../../nodes/src/attribution/index.ts";
import { ACCOUNTS, datanetFixture, fixturePools, fixtureRecords } from "./fixtures.ts";

describe("settlement batch", () => {
  const fixture = datanetFixture();
  const records = fixtureRecords(fixture);
  const manifests = new Map([[manifestRoot(fixture.manifest), fixture.manifest]]);

  it("splits every pool exactly", () => {
    for (const record of records) {
      const pool = fixturePools().get(record.requestId)!;
      const parts = [...splitPool(record, pool).values()];
      if (record.weights.length > 0) assert.equal(parts.reduce((a, b) => a + b, 0n), pool);
    }
  });

  it("credits the attributed pools exactly, reports the rest as unattributed, and proves every account", () => {
    const previous = new Map([
      [ACCOUNTS[2], 40n],
      ["0x0000000000000000000000000000000000000abc", 5n],
    ]);
    const batch = buildBatch({ records, pools: fixturePools(), manifests, previousCredits: previous });
    const pools = [...fixturePools().values()].reduce((a, b) => a + b, 0n);
    const added = batch.credits.reduce((s, c) => s + BigInt(c.added), 0n);
    assert.equal(BigInt(batch.unattributed), 500n, "req-3 has no evidence");
    assert.equal(added + BigInt(batch.unattributed), pools);
    assert.equal(BigInt(batch.credited), added);
    assert.equal(BigInt(batch.total), added + 45n);
    assert.ok(batch.credits.some((c) => c.account.toLowerCase() === "0x0000000000000000000000000000000000000abc" && c.cumulative === "5" && c.added === "0"));
    for (const credit of batch.credits) {
      assert.ok(StandardMerkleTree.verify(batch.root, CREDIT_LEAF_TYPES, [credit.account, credit.cumulative], credit.proof), credit.account);
    }
    assert.deepEqual(parseBatch(JSON.parse(serializeBatch(batch))), batch);
  });

  it("accumulates across batches", () => {
    const first = buildBatch({ records, pools: fixturePools(), manifests, previousCredits: new Map() });
    const second = buildBatch({ records, pools: fixturePools(), manifests, previousCredits: new Map(first.credits.map((c) => [c.account, BigInt(c.cumulative)])) });
    for (const credit of second.credits) {
      assert.equal(BigInt(credit.cumulative), 2n * BigInt(first.credits.find((c) => c.account === credit.account)!.cumulative));
    }
  });

  it("rejects missing pools, unknown manifests and manifests that do not match the root", () => {
    assert.throws(() => buildBatch({ records, pools: new Map(), manifests, previousCredits: new Map() }), /request req-0 has no pool amount/);
    assert.throws(() => buildBatch({ records, pools: fixturePools(), manifests: new Map(), previousCredits: new Map() }), /no manifest for Datanet root/);
    const wrong = { contributions: fixture.manifest.contributions.slice(1) };
    assert.throws(() => buildBatch({ records, pools: fixturePools(), manifests: new Map([[manifestRoot(fixture.manifest), wrong]]), previousCredits: new Map() }), InvalidBatchInputError);
  });
});
