/**
 * The manifest of a published Datanet version: its accepted contributions, each with the account
 * that contributed it and its content digest. The version's on-chain Merkle root is the
 * OpenZeppelin StandardMerkleTree over the leaves (contributionId, contributor, digest) with types
 * ["uint256", "address", "bytes32"], so a manifest can be checked against the chain before its
 * contributor accounts are paid.
 *
 * JSON form: { "contributions": [{ "contributionId": "12", "contributor": "0x...", "digest": "0x..." }] }
 * (other fields are ignored).
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { InvalidBatchInputError } from "./errors.ts";

export const MANIFEST_LEAF_TYPES = ["uint256", "address", "bytes32"];

export interface ManifestContribution {
  contributionId: bigint;
  contributor: Address;
  digest: Hex;
}

export interface DatanetManifest {
  contributions: readonly ManifestContribution[];
}

export function parseManifest(json: unknown, source = "manifest"): DatanetManifest {
  const fail = (field: string, problem: string): never => {
    throw new InvalidBatchInputError(`Invalid Datanet manifest (${source}): ${field} ${problem}.`, { source, field });
  };
  const list = (json as { contributions?: unknown } | null)?.contributions;
  if (!Array.isArray(list)) fail("contributions", "is not an array");
  const seen = new Set<bigint>();
  const contributions = (list as unknown[]).map((entry, i): ManifestContribution => {
    const { contributionId, contributor, digest } = (entry ?? {}) as Record<string, unknown>;
    if (typeof contributionId !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(contributionId)) fail(`contributions[${i}].contributionId`, "is not a uint256 decimal string");
    if (typeof contributor !== "string" || !isAddress(contributor, { strict: false })) fail(`contributions[${i}].contributor`, "is not an address");
    if (typeof digest !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(digest)) fail(`contributions[${i}].digest`, "is not 32 bytes of hex");
    const id = BigInt(contributionId as string);
    if (seen.has(id)) fail(`contributions[${i}].contributionId`, `repeats contribution ${id}`);
    seen.add(id);
    return { contributionId: id, contributor: getAddress(contributor as string), digest: (digest as string).toLowerCase() as Hex };
  });
  return { contributions };
}

/** The Merkle root a Datanet version commits on-chain for this manifest. */
export function manifestRoot(manifest: DatanetManifest): Hex {
  if (manifest.contributions.length === 0) {
    throw new InvalidBatchInputError("A Datanet manifest with no contributions has no Merkle root.", {});
  }
  const leaves = manifest.contributions.map((c) => [c.contributionId.toString(), c.contributor, c.digest]);
  return StandardMerkleTree.of(leaves, MANIFEST_LEAF_TYPES).root as Hex;
}

/** contributionId -> contributor account. */
export function contributorsById(manifest: DatanetManifest): Map<bigint, Address> {
  return new Map(manifest.contributions.map((c) => [c.contributionId, c.contributor]));
}
