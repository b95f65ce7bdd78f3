import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { buildVersion, EmptyVersionError, type VersionLeaf } from "../src/lib/merkle.ts";

const leaves: VersionLeaf[] = [
  { contributionId: 11n, contributor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", digest: `0x${"aa".repeat(32)}`, number: 1 },
  { contributionId: 22n, contributor: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", digest: `0x${"bb".repeat(32)}`, number: 3 },
  { contributionId: 33n, contributor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", digest: `0x${"cc".repeat(32)}`, number: 2 },
];

/** DatanetRegistry.leafOf: keccak256(bytes.concat(keccak256(abi.encode(contributionId, contributor, digest)))). */
function leafOf(leaf: VersionLeaf): Hex {
  const encoded = encodeAbiParameters([{ type: "uint256" }, { type: "address" }, { type: "bytes32" }], [leaf.contributionId, leaf.contributor, leaf.digest]);
  return keccak256(keccak256(encoded));
}

describe("buildVersion", () => {
  it("commits to the contract's leaves and counts", () => {
    const draft = buildVersion(leaves);
    expect(draft.contributionCount).toBe(3);
    expect(draft.lastContributionNumber).toBe(3);
    for (const [i, value] of draft.tree.entries()) {
      const leaf = leaves.find((l) => l.contributionId.toString() === value[0])!;
      expect(draft.tree.leafHash(value)).toBe(leafOf(leaf));
      expect(StandardMerkleTree.verify(draft.root, ["uint256", "address", "bytes32"], value, draft.tree.getProof(i))).toBe(true);
    }
  });

  it("gives the same root whatever the order, and a different one for other content", () => {
    expect(buildVersion([...leaves].reverse()).root).toBe(buildVersion(leaves).root);
    expect(buildVersion(leaves.slice(0, 2)).root).not.toBe(buildVersion(leaves).root);
    const single = buildVersion([leaves[0]]);
    expect(single.root).toBe(leafOf(leaves[0]));
  });

  it("refuses an empty version", () => {
    expect(() => buildVersion([])).toThrow(EmptyVersionError);
  });
});
