import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { identity } from "multiformats/hashes/identity";
import { sha256 } from "multiformats/hashes/sha2";
import { toHex } from "viem";
import {
  contributionDigest,
  contributionIdOf,
  InvalidContributionError,
  parseContributionMediaType,
  validateContributionContent,
  validateContributionMetadata,
} from "../../../nodes/src/datanets/index.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

function rejects(run: () => unknown, code: string, field: string, message: RegExp) {
  assert.throws(run, (err: Error) => {
    assert.ok(err instanceof InvalidContributionError, `expected InvalidContributionError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

describe("contribution content", () => {
  it("accepts the three media types, with or without a UTF-8 charset", () => {
    assert.equal(parseContributionMediaType("text/plain"), "text/plain");
    assert.equal(parseContributionMediaType("text/markdown; charset=UTF-8"), "text/markdown");
    assert.equal(parseContributionMediaType("application/jsonl"), "application/jsonl");
    rejects(() => parseContributionMediaType("application/pdf"), "unsupported_media_type", "content-type", /application\/pdf is not accepted/);
    rejects(() => parseContributionMediaType("text/plain; charset=latin1"), "unsupported_charset", "content-type", /latin1/);
    rejects(() => parseContributionMediaType(undefined), "missing_content_type", "content-type", /Content-Type/);
  });

  it("accepts UTF-8 text, Markdown and JSON Lines", () => {
    assert.equal(validateContributionContent(utf8("Olá, mundo ✓\n"), "text/plain"), "Olá, mundo ✓\n");
    validateContributionContent(utf8("# Title\n\n- item\n"), "text/markdown");
    validateContributionContent(utf8('{"q":"a"}\r\n{"q":"b"}\n'), "application/jsonl");
  });

  it("names what is wrong with a bad upload", () => {
    rejects(() => validateContributionContent(new Uint8Array(), "text/plain"), "empty", "body", /empty/);
    rejects(() => validateContributionContent(utf8("x".repeat(11)), "text/plain", 10), "too_large", "body", /11 bytes; the limit is 10/);
    rejects(() => validateContributionContent(Uint8Array.from([0x61, 0x62, 0xc3, 0x28]), "text/plain"), "invalid_utf8", "body", /offset 2/);
    rejects(() => validateContributionContent(Uint8Array.from([0x61, 0xe2, 0x82, 0xac, 0xff]), "text/plain"), "invalid_utf8", "body", /offset 4/);
    rejects(() => validateContributionContent(utf8("line one\nbinary\u0000here"), "text/markdown"), "binary_content", "body", /U\+0000 at line 2, column 7/);
    rejects(() => validateContributionContent(utf8('{"a":1}\n{"a":\n'), "application/jsonl"), "invalid_jsonl", "body", /line 2 is not JSON/);
    rejects(() => validateContributionContent(utf8('{"a":1}\n\n{"a":2}\n'), "application/jsonl"), "invalid_jsonl", "body", /line 2 is blank/);
  });
});

describe("contribution metadata", () => {
  const good = {
    format: "tributary.contribution-metadata/1",
    content: "bafkreih",
    title: "Glossary",
    licence: "CC-BY-4.0",
    mediaType: "text/plain",
    byteSize: 12,
    language: "pt-BR",
  };

  it("accepts a complete document and names the field at fault otherwise", () => {
    validateContributionMetadata(good);
    validateContributionMetadata({ ...good, description: "terms" });
    rejects(() => validateContributionMetadata({ ...good, language: "Portuguese" }), "invalid_metadata", "language", /BCP 47/);
    const { licence: _, ...noLicence } = good;
    rejects(() => validateContributionMetadata(noLicence), "invalid_metadata", "licence", /is missing/);
    rejects(() => validateContributionMetadata({ ...good, author: "me" }), "invalid_metadata", "author", /not a metadata field/);
    rejects(() => validateContributionMetadata({ ...good, mediaType: "text/html" }), "invalid_metadata", "mediaType", /one of text\/plain/);
    rejects(() => validateContributionMetadata({ ...good, byteSize: 0 }), "invalid_metadata", "byteSize", />= 1/);
  });
});

describe("registry digest and contribution id", () => {
  it("digest is the CID's sha2-256 multihash digest; the id depends on the Datanet", async () => {
    const bytes = utf8("some text");
    const cid = CID.createV1(raw.code, await sha256.digest(bytes));
    const digest = contributionDigest(cid);
    assert.equal(digest, toHex((await sha256.digest(bytes)).digest));
    // the formula itself is checked against the deployed registry in test/contracts/datanets/DatanetRegistry.node-data.test.ts
    const contributor = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const id = contributionIdOf({ datanetId: 7n, digest, contributor });
    assert.ok(id > 0n && id < 2n ** 256n);
    assert.equal(contributionIdOf({ datanetId: 7n, digest, contributor }), id);
    assert.notEqual(contributionIdOf({ datanetId: 8n, digest, contributor }), id);
    rejects(() => contributionDigest(CID.createV1(raw.code, identity.digest(bytes))), "unsupported_hash", "cid", /not a sha2-256 CID/);
  });
});
