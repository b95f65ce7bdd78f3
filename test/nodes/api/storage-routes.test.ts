import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { registerStorageRoutes } from "../../../nodes/src/api/storage-routes.ts";
import { contributionDigest } from "../../../nodes/src/datanets/index.ts";
import { openContentStore, parseCid, type ContentStore } from "../../../nodes/src/storage/index.ts";
import { pseudoRandomBytes, tempDir } from "../storage/helpers.ts";

const META = { title: "Glossary of adapters", licence: "CC-BY-4.0", language: "en", description: "Terms, one per line" };
const metaHeader = (meta: unknown) => encodeURIComponent(JSON.stringify(meta));

describe("storage routes", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: ContentStore;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    dir = await tempDir("routes");
    ({ store } = await openContentStore("helia:", { dataDir: dir.path }));
    app = Fastify();
    await registerStorageRoutes(app, { store, maxContributionBytes: 4096, gatewayTimeoutMs: 1_000 });
    app.get("/other", async () => ({ ok: true })); // the rest of the server is untouched
    base = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => {
    await app.close();
    await store.close();
    await dir.remove();
  });

  const contribute = (body: string | Uint8Array | undefined, contentType: string | undefined, meta: string | null = metaHeader(META)) => {
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers["content-type"] = contentType;
    if (meta !== null) headers["x-contribution-metadata"] = meta;
    return fetch(`${base}/v1/contributions`, { method: "POST", body, headers });
  };

  async function expectError(response: Response, status: number, code: string, field: string) {
    const body = (await response.json()) as { error: { code: string; message: string; field: string } };
    assert.equal(response.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    assert.equal(body.error.field, field);
    assert.ok(body.error.message.length > 10, "the message explains the problem");
    return body.error;
  }

  it("accepts a text contribution and returns the registry's arguments", async () => {
    const text = "adapter: a small set of trainable weights\nbase model: the frozen network ✓\n";
    const response = await contribute(text, "text/plain; charset=utf-8");
    assert.equal(response.status, 201);
    const body = (await response.json()) as { cid: string; digest: string; byteSize: number; metadataCid: string; metadata: Record<string, unknown> };
    const bytes = new TextEncoder().encode(text);
    assert.equal(body.cid, CID.createV1(raw.code, await sha256.digest(bytes)).toString());
    assert.equal(body.digest, contributionDigest(parseCid(body.cid)));
    assert.equal(body.byteSize, bytes.byteLength);
    assert.deepEqual(body.metadata, { format: "tributary.contribution-metadata/1", content: body.cid, mediaType: "text/plain", byteSize: bytes.byteLength, ...META });

    const file = await fetch(`${base}/ipfs/${body.cid}`);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(file.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await file.text(), text);

    const metadata = await fetch(`${base}/ipfs/${body.metadataCid}`);
    assert.equal(metadata.status, 200);
    assert.match(metadata.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await metadata.json(), body.metadata);
  });

  it("stores a small JSON document and serves it back by its CID", async () => {
    const document = { format: "tributary.job-dispute/1", jobId: "3", reason: "held-out perplexity is worse than the report says" };
    const response = await fetch(`${base}/v1/documents`, { method: "POST", body: JSON.stringify(document), headers: { "content-type": "application/json" } });
    assert.equal(response.status, 201);
    const { cid } = (await response.json()) as { cid: string };
    assert.deepEqual(await store.getJson(parseCid(cid)), document);
    assert.deepEqual(await (await fetch(`${base}/ipfs/${cid}`)).json(), document);
  });

  it("refuses documents that are not JSON objects with a format, or too large", async () => {
    const post = (body: string, type = "application/json") => fetch(`${base}/v1/documents`, { method: "POST", body, headers: { "content-type": type } });
    await expectError(await post("{}", "text/plain"), 415, "unsupported_media_type", "content-type");
    await expectError(await post("{nope"), 400, "invalid_json", "body");
    await expectError(await post("[1,2]"), 400, "invalid_document", "body");
    await expectError(await post('{"reason":"x"}'), 400, "invalid_document", "format");
    await expectError(await post(JSON.stringify({ format: "tributary.job-dispute/1", reason: "x".repeat(70_000) })), 413, "too_large", "body");
    assert.equal((await fetch(`${base}/other`)).status, 200);
  });

  it("accepts JSON Lines and Markdown", async () => {
    assert.equal((await contribute('{"q":"a","a":"b"}\n{"q":"c","a":"d"}\n', "application/jsonl")).status, 201);
    assert.equal((await contribute("# Title\n\nBody *text*.\n", "text/markdown")).status, 201);
  });

  it("answers malformed uploads with a 4xx naming the problem, and keeps serving", async () => {
    await expectError(await contribute('{"q":"a"}\n{"q":\n', "application/jsonl"), 400, "invalid_jsonl", "body");
    await expectError(await contribute(Uint8Array.from([0x68, 0x69, 0xff, 0xfe]), "text/plain"), 400, "invalid_utf8", "body");
    await expectError(await contribute("%PDF-1.7", "application/pdf"), 415, "unsupported_media_type", "content-type");
    await expectError(await contribute("hello", "text/plain; charset=iso-8859-1"), 415, "unsupported_charset", "content-type");
    await expectError(await contribute(new TextEncoder().encode("hello"), undefined), 415, "missing_content_type", "content-type");
    await expectError(await contribute("hello", "text/plain", null), 400, "missing_metadata", "x-contribution-metadata");
    await expectError(await contribute("hello", "text/plain", "%7Bnot json"), 400, "invalid_metadata", "x-contribution-metadata");
    await expectError(await contribute("hello", "text/plain", metaHeader({ ...META, language: "English" })), 400, "invalid_metadata", "language");
    await expectError(await contribute("hello", "text/plain", metaHeader({ title: "t", language: "en" })), 400, "invalid_metadata", "licence");
    await expectError(await contribute("hello", "text/plain", metaHeader({ ...META, byteSize: 1 })), 400, "invalid_metadata", "byteSize");
    await expectError(await contribute("", "text/plain"), 400, "empty", "body");
    const tooLarge = await expectError(await contribute("x".repeat(5000), "text/plain"), 413, "too_large", "body");
    assert.match(tooLarge.message, /4096/);

    assert.equal((await contribute("still serving\n", "text/plain")).status, 201);
    assert.deepEqual(await (await fetch(`${base}/other`)).json(), { ok: true });
  });

  it("serves chunked files, raw blocks and ranges through the verified gateway", async () => {
    const big = pseudoRandomBytes(2.5 * 1024 * 1024, 9);
    const cid = await store.addBytes(big);
    const whole = await fetch(`${base}/ipfs/${cid}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("content-type"), "application/octet-stream");
    assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), big);

    const part = await fetch(`${base}/ipfs/${cid}`, { headers: { range: "bytes=100-199" } });
    assert.equal(part.status, 206);
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), big.subarray(100, 200));

    const small = await store.addBytes(new TextEncoder().encode("raw block"));
    const block = await fetch(`${base}/ipfs/${small}`, { headers: { accept: "application/vnd.ipld.raw" } });
    assert.equal(block.status, 200);
    assert.equal(block.headers.get("content-type"), "application/vnd.ipld.raw");
    assert.equal(await block.text(), "raw block");
  });

  it("answers 400 for a malformed CID and 404 for content nobody has", async () => {
    await expectError(await fetch(`${base}/ipfs/not-a-cid`), 400, "invalid_cid", "cid");
    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode("nowhere")));
    await expectError(await fetch(`${base}/ipfs/${missing}`), 404, "not_found", "cid");
    assert.deepEqual(await (await fetch(`${base}/other`)).json(), { ok: true });
  });
});
