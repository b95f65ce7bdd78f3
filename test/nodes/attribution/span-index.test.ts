import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  buildSpanIndex,
  decodeSpanIndex,
  documentAt,
  DOCUMENT_SEPARATOR,
  encodeSpanIndex,
  InvalidSpanIndexError,
  InvalidTokenError,
  loadSpanIndex,
  saveSpanIndex,
} from "../../../nodes/src/attribution/index.ts";
import { datanetFixture } from "./fixtures.ts";

const ROOT = `0x${"ab".repeat(32)}` as const;

describe("span index", () => {
  it("concatenates documents with a separator and maps positions to contributions", () => {
    const index = buildSpanIndex(ROOT, [
      { contributionId: 5n, tokens: [1, 2, 3] },
      { contributionId: 9n, tokens: [4] },
      { contributionId: 5n, tokens: [2, 2] },
    ]);
    assert.deepEqual(Array.from(index.tokens), [1, 2, 3, DOCUMENT_SEPARATOR, 4, DOCUMENT_SEPARATOR, 2, 2, DOCUMENT_SEPARATOR]);
    assert.deepEqual(Array.from(index.documentStarts), [0, 4, 6, 9]);
    assert.deepEqual([0, 3, 4, 5, 6, 8].map((p) => documentAt(index, p)), [0, 0, 1, 1, 2, 2]);
    assert.deepEqual(index.contributionIds, [5n, 9n, 5n]);
  });

  it("keeps the same suffix order when sparse token ids are replaced by ranks", () => {
    const dense = buildSpanIndex(ROOT, [{ contributionId: 1n, tokens: [3, 1, 2, 1, 3, 1] }]);
    const sparse = buildSpanIndex(ROOT, [{ contributionId: 1n, tokens: [3e9, 1e9, 2e9, 1e9, 3e9, 1e9] }]);
    assert.deepEqual(Array.from(sparse.suffixArray), Array.from(dense.suffixArray));
  });

  it("rejects the separator and non-integer token ids, naming the position", () => {
    assert.throws(() => buildSpanIndex(ROOT, [{ contributionId: 1n, tokens: [1, DOCUMENT_SEPARATOR] }]), (e: unknown) => {
      assert.ok(e instanceof InvalidTokenError);
      assert.match(e.message, /document 0 \(contribution 1\) position 1/);
      return true;
    });
    assert.throws(() => buildSpanIndex(ROOT, [{ contributionId: 1n, tokens: [1.5] }]), InvalidTokenError);
  });

  it("round-trips through its binary file as zero-copy views", async () => {
    const { index } = datanetFixture();
    const dir = await mkdtemp(join(tmpdir(), "spanindex-"));
    try {
      const path = join(dir, "v1.spanindex");
      await saveSpanIndex(path, index);
      const loaded = await loadSpanIndex(path);
      assert.equal(loaded.datanetRoot, index.datanetRoot);
      assert.deepEqual(loaded.tokens, index.tokens);
      assert.deepEqual(loaded.suffixArray, index.suffixArray);
      assert.deepEqual(loaded.documentStarts, index.documentStarts);
      assert.deepEqual(loaded.contributionIds, index.contributionIds);
      assert.equal(loaded.tokens.buffer, loaded.suffixArray.buffer, "views share the file's buffer");
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("stores uint256 contribution ids exactly", () => {
    const big = (1n << 255n) + 12345n;
    const index = decodeSpanIndex(encodeSpanIndex(buildSpanIndex(ROOT, [{ contributionId: big, tokens: [1] }])));
    assert.deepEqual(index.contributionIds, [big]);
  });

  it("rejects truncated, foreign and corrupted files with the reason", () => {
    const bytes = encodeSpanIndex(datanetFixture().index);
    assert.throws(() => decodeSpanIndex(bytes.subarray(0, bytes.length - 4)), /size \d+ does not match/);
    const foreign = bytes.slice();
    foreign[0] = 0x58;
    assert.throws(() => decodeSpanIndex(foreign), InvalidSpanIndexError);
    const corrupt = bytes.slice();
    new DataView(corrupt.buffer).setUint32(64 + 4 * 400, 7, true); // the first document's separator
    assert.throws(() => decodeSpanIndex(corrupt), /document 0 does not end with the separator/);
  });
});
