/**
 * The span index's binary file format, loaded as zero-copy views so a node can open a 10M-token
 * index without rebuilding it. All integers are little-endian.
 *
 *   offset  size      field
 *   0       8         magic "TRIBSPIX"
 *   8       4         format version (1)
 *   12      4         N, token count including one separator per document
 *   16      4         D, document count
 *   20      12        reserved, zero
 *   32      32        Datanet version Merkle root
 *   64      4N        tokens (u32)
 *   64+4N   4N        suffix array (u32)
 *   ...     4(D+1)    document starts (u32)
 *   ...     32D       contribution ids, uint256 each as 8 u32 limbs, least significant first
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { endianness } from "node:os";
import { InvalidSpanIndexError } from "./errors.ts";
import { DOCUMENT_SEPARATOR, type SpanIndex } from "./span-index.ts";

const MAGIC = "TRIBSPIX";
const FORMAT_VERSION = 1;
const HEADER_BYTES = 64;

function assertLittleEndianHost(): void {
  if (endianness() !== "LE") {
    throw new InvalidSpanIndexError("Span index files are little-endian and are only mapped on little-endian hosts.", { host: endianness() });
  }
}

export function encodeSpanIndex(index: SpanIndex): Uint8Array {
  assertLittleEndianHost();
  const n = index.tokens.length;
  const d = index.contributionIds.length;
  const words = 2 * n + (d + 1) + 8 * d;
  const bytes = new Uint8Array(HEADER_BYTES + 4 * words);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, n, true);
  view.setUint32(16, d, true);
  bytes.set(hexToBytes(index.datanetRoot), 32);

  const body = new Uint32Array(bytes.buffer, HEADER_BYTES, words);
  body.set(index.tokens, 0);
  body.set(index.suffixArray, n);
  body.set(index.documentStarts, 2 * n);
  let at = 2 * n + d + 1;
  for (const id of index.contributionIds) {
    if (id < 0n || id >= 1n << 256n) {
      throw new InvalidSpanIndexError(`Contribution id ${id} is not a uint256.`, { contributionId: id.toString() });
    }
    for (let limb = 0; limb < 8; limb++) body[at++] = Number((id >> BigInt(32 * limb)) & 0xffffffffn);
  }
  return bytes;
}

/** Maps `bytes` as a span index. The returned arrays are views on `bytes`, not copies. */
export function decodeSpanIndex(bytes: Uint8Array): SpanIndex {
  assertLittleEndianHost();
  const fail = (problem: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidSpanIndexError(`Invalid span index file: ${problem}.`, details);
  };
  if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC) fail(`magic is "${magic}", expected "${MAGIC}"`, { magic });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) fail(`format version ${version} is not supported (expected ${FORMAT_VERSION})`, { version });
  const n = view.getUint32(12, true);
  const d = view.getUint32(16, true);
  const words = 2 * n + (d + 1) + 8 * d;
  if (bytes.length !== HEADER_BYTES + 4 * words) {
    fail(`size ${bytes.length} does not match ${n} tokens and ${d} documents (expected ${HEADER_BYTES + 4 * words})`, { size: bytes.length, n, d });
  }
  // Typed-array views need 4-byte alignment; a buffer sliced at an odd offset is copied once.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const body = new Uint32Array(aligned.buffer, aligned.byteOffset + HEADER_BYTES, words);
  const tokens = body.subarray(0, n);
  const suffixArray = body.subarray(n, 2 * n);
  const documentStarts = body.subarray(2 * n, 2 * n + d + 1);

  if (documentStarts[0] !== 0 || documentStarts[d] !== n) fail("document starts do not span the token array", { first: documentStarts[0], last: documentStarts[d], n });
  for (let i = 0; i < d; i++) {
    if (documentStarts[i + 1] <= documentStarts[i]) fail(`document ${i} is empty or out of order`, { document: i });
    if (tokens[documentStarts[i + 1] - 1] !== DOCUMENT_SEPARATOR) fail(`document ${i} does not end with the separator`, { document: i });
  }
  for (let i = 0; i < n; i++) {
    if (suffixArray[i] >= n) fail(`suffix array entry ${i} points past the text`, { entry: i, value: suffixArray[i] });
  }

  const contributionIds: bigint[] = [];
  for (let doc = 0, at = 2 * n + d + 1; doc < d; doc++) {
    let id = 0n;
    for (let limb = 7; limb >= 0; limb--) id = (id << 32n) | BigInt(body[at + limb]);
    contributionIds.push(id);
    at += 8;
  }
  return {
    datanetRoot: `0x${Buffer.from(aligned.subarray(32, 64)).toString("hex")}`,
    tokens,
    suffixArray,
    documentStarts,
    contributionIds,
  };
}

export async function saveSpanIndex(path: string, index: SpanIndex): Promise<void> {
  await writeFile(path, encodeSpanIndex(index));
}

export async function loadSpanIndex(path: string): Promise<SpanIndex> {
  return decodeSpanIndex(await readFile(path));
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}

const indexDigests = new WeakMap<SpanIndex, `0x${string}`>();

/**
 * sha2-256 of the index's file bytes (0x-hex), what a record names the index by. The encoding is
 * deterministic, so this equals the digest of the file the index was loaded from. Cached per index
 * object: indexes are not modified once built.
 */
export function spanIndexDigest(index: SpanIndex): `0x${string}` {
  let digest = indexDigests.get(index);
  if (!digest) {
    digest = `0x${createHash("sha256").update(encodeSpanIndex(index)).digest("hex")}` as const;
    indexDigests.set(index, digest);
  }
  return digest;
}
