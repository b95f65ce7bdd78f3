/**
 * The Kubo store against FakeKubo (fake-kubo.ts), an in-test HTTP server implementing the RPC
 * endpoints the store calls: no Kubo binary is installable here, so this is a unit-level test of
 * the client side (requests, verification, error mapping), not of Kubo itself.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { ContentUnavailableError, KuboRpcError, openContentStore, type ContentStore } from "../../../nodes/src/storage/index.ts";
import { FakeKubo } from "./fake-kubo.ts";
import { pseudoRandomBytes, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;

describe("Kubo store (against a fake Kubo RPC server)", () => {
  const kubo = new FakeKubo();
  let store: ContentStore;
  let helia: ContentStore;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const corrupt: CID[] = [];

  before(async () => {
    const api = await kubo.start();
    ({ store } = await openContentStore(`kubo+${api}`, { dataDir: "/nonexistent", fetchTimeoutMs: 5_000, onCorruptBlock: (cid) => corrupt.push(cid) }));
    dir = await tempDir("kubo-cmp");
    ({ store: helia } = await openContentStore("helia:", { dataDir: dir.path }));
  });
  after(async () => {
    await store.close();
    await helia.close();
    await kubo.stop();
    await dir.remove();
  });

  it("stores files and JSON with the same CIDs as the embedded node, and reads them back verified", async () => {
    assert.equal(store.kind, "kubo");
    const small = new TextEncoder().encode("kubo holds this\n");
    const big = pseudoRandomBytes(2.5 * MiB, 4);
    const smallCid = await store.addBytes(small);
    const bigCid = await store.addBytes(big);
    const jsonCid = await store.addJson({ a: [1, "two"] });
    assert.ok(smallCid.equals(await helia.addBytes(small)));
    assert.ok(bigCid.equals(await helia.addBytes(big)));
    assert.ok(jsonCid.equals(await helia.addJson({ a: [1, "two"] })));
    assert.equal(kubo.blocks.size, 1 + 4 + 1, "one block, a root over three 1 MiB leaves, one JSON block");
    assert.deepEqual(await store.get(smallCid), small);
    assert.deepEqual(await store.get(bigCid), big);
    assert.deepEqual(await store.getJson(jsonCid), { a: [1, "two"] });
    assert.equal(await store.has(smallCid), true);
    assert.equal(await store.has(CID.createV1(raw.code, await sha256.digest(Uint8Array.of(1)))), false);
  });

  it("pins through Kubo and lets Kubo collect the rest", async () => {
    const keep = await store.addBytes(new TextEncoder().encode("keep me"));
    const drop = await store.addBytes(new TextEncoder().encode("drop me"));
    assert.ok((await store.listPins()).some((c) => c.equals(keep)));
    await store.unpin(drop);
    await store.unpin(drop);
    assert.ok(!(await store.listPins()).some((c) => c.equals(drop)));
    assert.ok((await store.gc()) >= 1);
    assert.equal(await store.has(drop), false);
    assert.equal(await store.has(keep), true);
  });

  it("catches a daemon returning wrong bytes, drops the block and gets a good copy from the network", async () => {
    const bytes = new TextEncoder().encode("verified against its CID");
    const cid = await store.addBytes(bytes);
    kubo.network.set(FakeKubo.key(cid), bytes);
    kubo.corrupt(cid);
    assert.deepEqual(await store.get(cid), bytes);
    assert.ok(corrupt.some((c) => c.equals(cid)));
    assert.ok(kubo.calls.includes("block/rm"), "the bad copy was removed from Kubo");
  });

  it("reports a corrupt block nobody has a good copy of", async () => {
    const cid = await store.addBytes(new TextEncoder().encode("only copy"));
    kubo.corrupt(cid);
    await assert.rejects(store.get(cid), (err: Error) => err instanceof ContentUnavailableError && err.details.corruptBlock === cid.toString());
  });

  it("serves the gateway from Kubo's blocks", async () => {
    const cid = await store.addBytes(new TextEncoder().encode('{"hello":"gateway"}'));
    const response = await store.gatewayFetch(`ipfs://${cid}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(await response.json(), { hello: "gateway" });
  });

  it("names the daemon when it cannot be reached", async () => {
    const { store: down } = await openContentStore("kubo+http://127.0.0.1:1", { dataDir: "/nonexistent" });
    await assert.rejects(down.addBytes(Uint8Array.of(1, 2, 3)), (err: Error) => err instanceof KuboRpcError && /127\.0\.0\.1:1/.test(err.message));
    await down.close();
  });
});
