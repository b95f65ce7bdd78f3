/**
 * Checks that a block's bytes hash to its CID's multihash. Every block this node reads from its own
 * blockstore (or from Kubo) passes through here, so a bit flip on disk or a lying daemon is caught
 * before anyone trains on, serves or pays for the content.
 */
import type { CID } from "multiformats/cid";
import { identity } from "multiformats/hashes/identity";
import { sha256 } from "multiformats/hashes/sha2";
import { InvalidCidError } from "./errors.ts";

/** True when `bytes` hash to the digest in `cid`. Throws InvalidCidError for a hash function we cannot check. */
export async function blockMatchesCid(cid: CID, bytes: Uint8Array): Promise<boolean> {
  const code = cid.multihash.code;
  let digest: Uint8Array;
  if (code === sha256.code) digest = (await sha256.digest(bytes)).digest;
  else if (code === identity.code) digest = identity.digest(bytes).digest;
  else throw new InvalidCidError(`CID ${cid} uses hash function 0x${code.toString(16)}; this node verifies only sha2-256 and identity CIDs.`, { cid: cid.toString(), hashCode: code });
  const expected = cid.multihash.digest;
  if (digest.length !== expected.length) return false;
  for (let i = 0; i < digest.length; i++) if (digest[i] !== expected[i]) return false;
  return true;
}
