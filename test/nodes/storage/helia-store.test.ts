import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { CID } from "multiformats/cid";
import * as jsonCodec from "multiformats/codecs/json";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { ContentUnavailableError, HeliaContentStore, openContentStore, parseStoreUrl, StoreUrlError, type HeliaNode, InvalidCidError, parseCid } from "../../../nodes/src/storage/index.ts";
import { blockPath, pseudoRandomBytes, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;

async function openNode(prefix: string, corrupt: CID[] = []) {
  const dir = await tempDir(prefix);
  const opened = await openContentStore("helia:", { dataDir: dir.path, fetchTimeoutMs: 10_000, onCorruptBlock: (cid) => corrupt.push(cid) });
  return { dir, store: opened.store as HeliaContentStore, node: opened.node as HeliaNode, corrupt };
}

describe("storage URL", () => {
  it("parses helia: and kubo+http://host:port, and names the problem otherwise", () => {
    assert.deepEqual(parseStoreUrl("helia:"), { kind: "helia" });
    assert.deepEqual(parseStoreUrl("kubo+http://127.0.0.1:5001"), { kind: "kubo", apiUrl: "http://127.0.0.1:5001" });
    assert.throws(() => parseStoreUrl("ipfs://x"), (err: Error) => err instanceof StoreUrlError && /kubo\+http/.test(err.message));
    assert.throws(() => parseCid("not-a-cid"), InvalidCidError);
  });
});

describe("embedded Helia store", () => {
  let a: Awaited<ReturnType<typeof openNode>>;
  before(async () => {
    a = await openNode("a");
  });
  after(async () => {
    await a.store.close();
    await a.dir.remove();
  });

  it("stores a small file as one raw block whose CID is the sha2-256 of its bytes", async () => {
    const bytes = new TextEncoder().encode("hello, datanet\n");
    const cid = await a.store.addBytes(bytes);
    assert.equal(cid.version, 1);
    assert.equal(cid.code, raw.code);
    assert.ok(cid.equals(CID.createV1(raw.code, await sha256.digest(bytes))));
    assert.deepEqual(await a.store.get(cid), bytes);
    assert.equal(await a.store.has(cid), true);
  });

  it("chunks a large file into a UnixFS tree and reads it back whole", async () => {
    const bytes = pseudoRandomBytes(1 * MiB + 12345, 7);
    const cid = await a.store.addBytes(bytes);
    assert.equal(cid.code, 0x70, "dag-pb root over raw leaves");
    assert.deepEqual(await a.store.get(cid), bytes);
  });

  it("stores JSON as a json-codec block", async () => {
    const value = { name: "manifest", items: [1, 2, 3], nested: { ok: true } };
    const cid = await a.store.addJson(value);
    assert.equal(cid.code, jsonCodec.code);
    assert.deepEqual(await a.store.getJson(cid), value);
  });

  it("keeps pinned content and collects the rest", async () => {
    const kept = await a.store.addBytes(pseudoRandomBytes(2.5 * MiB, 11));
    const dropped = await a.store.addBytes(pseudoRandomBytes(2.5 * MiB, 12));
    const pins = (await a.store.listPins()).map(String);
    assert.ok(pins.includes(kept.toString()) && pins.includes(dropped.toString()));

    await a.store.unpin(dropped);
    await a.store.unpin(dropped); // unpinning twice is harmless
    await a.store.pin(kept); // pinning twice is harmless
    assert.ok(!(await a.store.listPins()).some((c) => c.equals(dropped)));
    const removed = await a.store.gc();
    assert.ok(removed >= 4, `the unpinned 2.5 MiB file's root and 3 leaves are collected (removed ${removed})`);
    assert.equal(await a.store.has(dropped), false);
    assert.equal(await a.store.has(kept), true);
    assert.deepEqual(await a.store.get(kept), pseudoRandomBytes(2.5 * MiB, 11));
    assert.equal(await a.store.gc(), 0, "nothing left to collect");
  });

  it("detects a corrupted block on disk, drops it and reports it when no peer has a good copy", async () => {
    const bytes = new TextEncoder().encode("a contribution nobody else holds");
    const cid = await a.store.addBytes(bytes);
    const path = blockPath(a.dir.path, cid);
    const onDisk = await readFile(path);
    onDisk[0] ^= 0xff;
    await writeFile(path, onDisk);
    await assert.rejects(a.store.get(cid, { timeoutMs: 1_500 }), (err: Error) => {
      assert.ok(err instanceof ContentUnavailableError, err.message);
      assert.equal(err.details.corruptBlock, cid.toString());
      assert.match(err.message, /corrupt on disk/);
      return true;
    });
    assert.equal(await a.store.has(cid), false, "the bad copy was deleted");
  });
});

describe("two embedded nodes", () => {
  let a: Awaited<ReturnType<typeof openNode>>;
  let b: Awaited<ReturnType<typeof openNode>>;
  before(async () => {
    a = await openNode("a");
    b = await openNode("b");
    await b.node.libp2p.dial(a.node.libp2p.getMultiaddrs()[0]);
  });
  after(async () => {
    await Promise.all([a.store.close(), b.store.close()]);
    await Promise.all([a.dir.remove(), b.dir.remove()]);
  });

  it("fetches an adapter-sized file from a peer over bitswap, verified", async () => {
    const adapter = pseudoRandomBytes(4 * MiB, 3);
    const cid = await a.store.addBytes(adapter);
    assert.equal(await b.store.has(cid), false);
    const started = performance.now();
    const fetched = await b.store.get(cid);
    const ms = performance.now() - started;
    assert.deepEqual(fetched, adapter);
    assert.equal(await b.store.has(cid), true);
    console.log(`# bitswap: 4 MiB in ${ms.toFixed(0)} ms`);
  });

  it("refetches a block corrupted on disk from the peer", async () => {
    const bytes = pseudoRandomBytes(2.5 * MiB, 5);
    // Both nodes hold the file (b stored it itself: a bitswap peer will not resend a block it sent
    // within the last 5 s, and a corrupted disk block is normally found long after it arrived).
    const cid = await a.store.addBytes(bytes);
    assert.ok((await b.store.addBytes(bytes)).equals(cid));
    // corrupt b's copy of the first leaf
    const firstLeaf = CID.createV1(raw.code, await sha256.digest(bytes.subarray(0, MiB)));
    const path = blockPath(b.dir.path, firstLeaf);
    const onDisk = await readFile(path);
    onDisk[100] ^= 0x01;
    await writeFile(path, onDisk);

    assert.deepEqual(await b.store.get(cid), bytes);
    assert.ok(b.corrupt.some((c) => c.equals(firstLeaf)), "the corruption was reported");
    assert.deepEqual(await readFile(path), Buffer.from(bytes.subarray(0, MiB)), "a good copy is back on disk");
  });

  it("reports content no peer has within the timeout", async () => {
    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode("never stored anywhere")));
    await assert.rejects(b.store.get(missing, { timeoutMs: 1_000 }), ContentUnavailableError);
  });

  it("pins content held by a peer (fetching it) and refuses to pin content nobody has", async () => {
    const bytes = pseudoRandomBytes(1.5 * MiB, 8);
    const cid = await a.store.addBytes(bytes);
    await b.store.pin(cid);
    assert.ok((await b.store.listPins()).some((p) => p.equals(cid)));
    assert.deepEqual(await b.store.get(cid, { timeoutMs: 1_000 }), bytes, "every block is local now");

    const quick = new HeliaContentStore(b.node, { fetchTimeoutMs: 1_000, onClose: async () => {} });
    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode("nobody has this")));
    await assert.rejects(quick.pin(missing), ContentUnavailableError);
  });
});

describe("restart", () => {
  it("keeps blocks, pins and the peer id in the data directory", async () => {
    const dir = await tempDir("restart");
    try {
      const first = await openContentStore("helia:", { dataDir: dir.path });
      const cid = await first.store.addBytes(new TextEncoder().encode("survives a restart"));
      const peerId = first.node!.libp2p.peerId.toString();
      await first.store.close();

      const second = await openContentStore("helia:", { dataDir: dir.path });
      try {
        assert.equal(second.node!.libp2p.peerId.toString(), peerId);
        assert.ok((await second.store.listPins()).some((p) => p.equals(cid)));
        assert.equal(new TextDecoder().decode(await second.store.get(cid, { timeoutMs: 1_000 })), "survives a restart");
      } finally {
        await second.store.close();
      }
    } finally {
      await dir.remove();
    }
  });
});
