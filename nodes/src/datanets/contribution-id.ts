/**
 * The two numbers the DatanetRegistry keys a contribution by, computed in one place each:
 * - `digest`: the sha2-256 digest of the content's CID, i.e. the 32 bytes of the CID's multihash
 *   (for a small file, one raw block, that is sha256 of the bytes; for a chunked file, of its root
 *   node). The codec is not part of it, which is why manifests carry the CID too.
 * - `contributionId`: as `DatanetRegistry.contributionIdOf` computes it,
 *   `uint256(keccak256(abi.encode(datanetId, digest, contributor)))`: the id is bound to its
 *   contributor, so a digest seen in the mempool cannot be claimed by someone else
 *   (test/contracts/datanets/DatanetRegistry.node-data.test.ts checks this function against the
 *   deployed registry).
 */
import { encodeAbiParameters, keccak256, toHex, type Address, type Hex } from "viem";
import type { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { InvalidContributionError } from "./errors.ts";

export function contributionDigest(cid: CID): Hex {
  if (cid.multihash.code !== sha256.code) {
    throw new InvalidContributionError("unsupported_hash", "cid", `CID ${cid} is not a sha2-256 CID (hash 0x${cid.multihash.code.toString(16)}); the Datanet registry records sha2-256 digests.`, {
      cid: cid.toString(),
    });
  }
  return toHex(cid.multihash.digest);
}

export interface ContributionKey {
  datanetId: bigint;
  digest: Hex;
  contributor: Address;
}

export function contributionIdOf({ datanetId, digest, contributor }: ContributionKey): bigint {
  return BigInt(
    keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "bytes32" }, { type: "address" }], [datanetId, digest, contributor])),
  );
}
