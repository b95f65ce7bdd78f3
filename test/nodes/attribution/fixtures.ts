/** Shared test data: a seeded random source and a small Datanet with its index, manifest and sketch. */
import { keccak256, toHex, type Address } from "viem";
import { attribute, buildSpanIndex, manifestRoot, type AttributionRecord, type DatanetManifest, type GradientSketch, type IndexDocument, type SpanIndex } from "../../../nodes/src/attribution/index.ts";

/** mulberry32: small, fast and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTokens(random: () => number, length: number, alphabet: number): number[] {
  return Array.from({ length }, () => Math.floor(random() * alphabet));
}

export const ACCOUNTS: Address[] = [
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
];

export interface DatanetFixture {
  documents: IndexDocument[];
  manifest: DatanetManifest;
  index: SpanIndex;
  sketch: GradientSketch;
}

/**
 * Four contributions (ids 10..13) of 400 random tokens from a 50-token vocabulary, owned by three
 * accounts (13 shares 10's owner), a gradient sketch with two examples per contribution.
 */
export function datanetFixture(seed = 1): DatanetFixture {
  const random = seededRandom(seed);
  const ids = [10n, 11n, 12n, 13n];
  const documents = ids.map((contributionId) => ({ contributionId, tokens: randomTokens(random, 400, 50) }));
  const manifest: DatanetManifest = {
    contributions: ids.map((contributionId, i) => ({
      contributionId,
      contributor: ACCOUNTS[i % 3],
      digest: keccak256(toHex(`contribution ${contributionId}`)),
    })),
  };
  const index = buildSpanIndex(manifestRoot(manifest), documents);
  const dims = 16;
  const exampleContributionIds = ids.flatMap((id) => [id, id]);
  const checkpoints = [0.01, 0.005].map((learningRate) => ({
    learningRate,
    exampleGradients: Float32Array.from({ length: exampleContributionIds.length * dims }, () => random() * 2 - 1),
  }));
  // Random gradients stand in for an engine's here; the provenance names made-up digests. The
  // verifier's recomputation of real gradients is tested in verify-gradients.test.ts.
  const provenance = {
    projection: { kind: "kronecker-rademacher" as const, seed: 1, dims },
    sequenceLength: 64,
    baseModel: keccak256(toHex("base model")),
    checkpoints: checkpoints.map((c, i) => ({ step: 100 * (i + 1), learningRate: c.learningRate, digest: keccak256(toHex(`checkpoint ${i}`)) })),
  };
  return { documents, manifest, index, sketch: { dims, exampleContributionIds, checkpoints, provenance } };
}

/** An output that copies `length` tokens of document `doc` from `from`, between novel tokens (ids 1000+). */
export function copiedOutput(fixture: DatanetFixture, doc: number, from: number, length: number, novel = 8): number[] {
  const tokens = Array.from(fixture.documents[doc].tokens).slice(from, from + length);
  const filler = (n: number, base: number) => Array.from({ length: n }, (_, i) => base + i);
  return [...filler(novel, 1000), ...tokens, ...filler(novel, 2000)];
}

/** Four records over the fixture: three copied passages and one novel output (span evidence only). */
export function fixtureRecords(fixture: DatanetFixture): AttributionRecord[] {
  const outputs = [copiedOutput(fixture, 0, 10, 30), copiedOutput(fixture, 1, 200, 12), copiedOutput(fixture, 3, 0, 50), [1000, 1001, 1002]];
  return outputs.map((outputTokens, i) =>
    attribute({
      requestId: `req-${i}`,
      model: { id: 1n, cid: "bafymodel" },
      datanet: { id: 1n, version: 1 },
      outputTokens,
      index: fixture.index,
    }),
  );
}

export function fixturePools(): Map<string, bigint> {
  return new Map([
    ["req-0", 1_000_001n],
    ["req-1", 333n],
    ["req-2", 10n ** 24n + 7n],
    ["req-3", 500n],
  ]);
}
