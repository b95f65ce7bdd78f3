/** Shared helpers for storage tests: temp data dirs and the on-disk path of a block. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32upper } from "multiformats/bases/base32";
import type { CID } from "multiformats/cid";

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `tributary-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Where blockstore-fs (NextToLast sharding, the default) keeps a block under `<dataDir>/ipfs/blocks`. */
export function blockPath(dataDir: string, cid: CID): string {
  const name = base32upper.encoder.encode(cid.multihash.bytes);
  return join(dataDir, "ipfs", "blocks", name.slice(-2), `${name}.data`);
}

/** Deterministic pseudo-random bytes (xorshift), so chunked files have distinct blocks. */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
