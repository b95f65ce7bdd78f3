import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { manifestRoot, parseManifest } from "../../../nodes/src/attribution/datanet-manifest.ts";
import {
  buildVersionManifest,
  contentSourceFromManifest,
  contributionDigest,
  contributionIdOf,
  InvalidVersionManifestError,
  prepareContribution,
  publishVersionManifest,
  rebuildTrainingSet,
  rootOf,
  TamperedContributionError,
  type AcceptedContribution,
  type PreparedContribution,
  type VersionManifest,
} from "../../../nodes/src/datanets/index.ts";
import { ContentUnavailableError, openContentStore, parseCid, type ContentStore } from "../../../nodes/src/storage/index.ts";
import { blockPath, tempDir } from "../storage/helpers.ts";

const DATANET = 3n;
const ALICE: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB: Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const utf8 = (text: string) => new TextEncoder().encode(text);

const TEXTS = [
  { text: "A datanet is a curated dataset.\n", mediaType: "text/plain" as const, contributor: ALICE },
  { text: '{"prompt":"What is LoRA?","completion":"A low-rank adapter."}\n{"prompt":"Base?","completion":"Frozen."}\n', mediaType: "application/jsonl" as const, contributor: BOB },
  { text: "# Glossary\n\n**Adapter**: small trainable weights. Olá ✓\n", mediaType: "text/markdown" as const, contributor: ALICE },
];

/** What the chain's ContributionSubmitted events would report for a prepared contribution. */
function accepted(prepared: PreparedContribution, contributor: Address): AcceptedContribution {
  return { contributionId: contributionIdOf({ datanetId: DATANET, digest: prepared.digest, contributor }), contributor, digest: prepared.digest, byteSize: BigInt(prepared.byteSize), metadataCid: prepared.metadataCid };
}

describe("Datanet version manifest", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: ContentStore;
  let prepared: PreparedContribution[];
  let published: Awaited<ReturnType<typeof publishVersionManifest>>;

  before(async () => {
    dir = await tempDir("datanet");
    ({ store } = await openContentStore("helia:", { dataDir: dir.path, fetchTimeoutMs: 5_000 }));
    prepared = [];
    for (const t of TEXTS) {
      prepared.push(await prepareContribution(store, utf8(t.text), t.mediaType, { title: "t", licence: "CC-BY-4.0", language: "en" }));
    }
    published = await publishVersionManifest(
      { datanetId: DATANET, licence: "CC-BY-4.0", contributions: prepared.map((p, i) => accepted(p, TEXTS[i].contributor)) },
      store,
    );
  });
  after(async () => {
    await store.close();
    await dir.remove();
  });

  it("prepares contributions: CID, registry digest, size and a metadata document naming the content", async () => {
    const [first] = prepared;
    assert.equal(first.digest, contributionDigest(parseCid(first.cid)));
    assert.equal(first.byteSize, utf8(TEXTS[0].text).byteLength);
    const metadata = await store.getJson<Record<string, unknown>>(parseCid(first.metadataCid));
    assert.deepEqual(metadata, { ...first.metadata });
    assert.equal(metadata.content, first.cid);
    assert.equal(metadata.mediaType, "text/plain");
  });

  it("commits the attribution manifest's Merkle root over (id, contributor, digest)", async () => {
    const { manifest, root } = published;
    assert.equal(root, manifestRoot(parseManifest(manifest)));
    assert.equal(manifest.contributions.length, 3);
    assert.equal(manifest.contributions[1].contributor, BOB);
    assert.equal(manifest.contributions[1].mediaType, "application/jsonl");
    assert.deepEqual(await store.getJson(published.cid), manifest, "stored on IPFS as published");
  });

  it("rebuilds the training set exactly from the manifest CID", async () => {
    const set = await rebuildTrainingSet(published.cid, store, { expectedRoot: published.root });
    assert.deepEqual(set.texts, TEXTS.map((t) => t.text));
    assert.equal(set.root, published.root);
    assert.deepEqual(set.contributions.map((c) => c.contributionId), prepared.map((p, i) => contributionIdOf({ datanetId: DATANET, digest: p.digest, contributor: TEXTS[i].contributor }).toString()));
    const source = contentSourceFromManifest(set.manifest, store);
    assert.deepEqual(await source.content(prepared[2].digest), utf8(TEXTS[2].text));
    assert.equal(await source.content(("0x" + "11".repeat(32)) as Hex), undefined);
  });

  async function tampered(edit: (m: VersionManifest) => void) {
    const copy = structuredClone(published.manifest);
    edit(copy);
    return store.addJson(copy);
  }

  it("detects a contribution swapped for other content under the same digest", async () => {
    const other = await store.addBytes(utf8("Injected text the curators never accepted.\n"));
    const cid = await tampered((m) => (m.contributions[1].cid = other.toString()));
    await assert.rejects(rebuildTrainingSet(cid, store), (err: Error) => {
      assert.ok(err instanceof TamperedContributionError, err.message);
      assert.equal(err.code, "digest_mismatch");
      assert.equal(err.field, "contributions[1].cid");
      return true;
    });
  });

  it("detects a consistently rewritten contribution by the on-chain root", async () => {
    const other = await prepareContribution(store, utf8("Different, self-consistent text.\n"), "text/plain", { title: "x", licence: "CC-BY-4.0", language: "en" });
    const cid = await tampered((m) => {
      m.contributions[1] = { ...m.contributions[1], cid: other.cid, digest: other.digest, byteSize: other.byteSize, contributionId: contributionIdOf({ datanetId: DATANET, digest: other.digest, contributor: m.contributions[1].contributor }).toString() };
      m.root = rootOf(m);
    });
    // internally consistent, so only the chain's root exposes it
    assert.equal((await rebuildTrainingSet(cid, store)).texts[1], "Different, self-consistent text.\n");
    await assert.rejects(rebuildTrainingSet(cid, store, { expectedRoot: published.root }), (err: Error) => err instanceof TamperedContributionError && err.code === "root_mismatch" && /on-chain root/.test(err.message));
  });

  it("detects a root that does not match the contributions", async () => {
    const cid = await tampered((m) => (m.contributions[0].contributor = BOB));
    await assert.rejects(rebuildTrainingSet(cid, store), (err: Error) => err instanceof TamperedContributionError && err.code === "root_mismatch" && err.field === "root");
  });

  it("refuses a manifest whose ids are not the registry's ids of its digests", async () => {
    const cid = await tampered((m) => {
      m.contributions[2].contributionId = "12345";
      m.root = rootOf(m);
    });
    await assert.rejects(rebuildTrainingSet(cid, store), (err: Error) => err instanceof InvalidVersionManifestError && err.code === "id_mismatch" && err.field === "contributions[2].contributionId");
  });

  it("builds only from what the chain accepted: a digest that is not the metadata's content is refused", async () => {
    const wrong = { ...accepted(prepared[0], ALICE), digest: prepared[1].digest, contributionId: contributionIdOf({ datanetId: DATANET, digest: prepared[1].digest, contributor: ALICE }) };
    await assert.rejects(buildVersionManifest({ datanetId: DATANET, licence: "CC-BY-4.0", contributions: [wrong] }, store), (err: Error) => err instanceof TamperedContributionError && err.code === "digest_mismatch");
  });

  it("refuses content corrupted on disk when no peer has a good copy", async () => {
    const path = blockPath(dir.path, parseCid(prepared[0].cid));
    const bytes = await readFile(path);
    bytes[3] ^= 0x20;
    await writeFile(path, bytes);
    await assert.rejects(rebuildTrainingSet(published.cid, store, { timeoutMs: 1_000 }), ContentUnavailableError);
  });
});
