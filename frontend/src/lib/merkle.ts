/**
 * The Merkle root a Datanet version commits to: an OpenZeppelin StandardMerkleTree over the accepted
 * contributions, leaf encoding (uint256 contributionId, address contributor, bytes32 digest), exactly as
 * DatanetRegistry.leafOf and the node's training-set rebuild compute it.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";

export const VERSION_LEAF_ENCODING = ["uint256", "address", "bytes32"];

export interface VersionLeaf {
  contributionId: bigint;
  contributor: Address;
  digest: Hex;
  /** The contribution's sequential number in its Datanet (1, 2, ...). */
  number: number;
}

export interface VersionDraft {
  root: Hex;
  contributionCount: number;
  lastContributionNumber: number;
  tree: StandardMerkleTree<[string, string, string]>;
}

export class EmptyVersionError extends Error {
  constructor() {
    super("A version needs at least one accepted contribution: accept some contributions first.");
    this.name = "EmptyVersionError";
  }
}

/** Builds the version's tree from its accepted contributions (any order: the tree sorts its leaves). */
export function buildVersion(accepted: readonly VersionLeaf[]): VersionDraft {
  if (accepted.length === 0) throw new EmptyVersionError();
  const values = accepted.map((leaf): [string, string, string] => [leaf.contributionId.toString(), leaf.contributor, leaf.digest]);
  const tree = StandardMerkleTree.of(values, VERSION_LEAF_ENCODING);
  return {
    root: tree.root as Hex,
    contributionCount: accepted.length,
    lastContributionNumber: Math.max(...accepted.map((leaf) => leaf.number)),
    tree,
  };
}
