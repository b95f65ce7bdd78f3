/**
 * The node's Datanet data layer against the real DatanetRegistry: contributions prepared by the node
 * (real Helia store) are registered with the digest the node computes, the registry derives the
 * same contribution ids, the node's version root is what `publishVersion` commits and
 * `isInVersion` verifies, and the training set rebuilds from the manifest CID and the on-chain root.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { network } from "hardhat";
import { parseEther, type Hex } from "viem";
import { MANIFEST_LEAF_TYPES } from "../../../nodes/src/attribution/datanet-manifest.ts";
import { contributionIdOf, prepareContribution, publishVersionManifest, rebuildTrainingSet, type AcceptedContribution } from "../../../nodes/src/datanets/index.ts";
import { openContentStore, type ContentStore } from "../../../nodes/src/storage/index.ts";

const { viem } = await network.create();

describe("DatanetRegistry and the node's Datanet data", function () {
  let dataDir: string;
  let store: ContentStore;

  before(async function () {
    dataDir = await mkdtemp(join(tmpdir(), "tributary-registry-data-"));
    ({ store } = await openContentStore("helia:", { dataDir }));
  });
  after(async function () {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("registers node-prepared contributions, publishes the node's root and rebuilds the set from chain data", async function () {
    const [owner, alice, bob] = await viem.getWalletClients();
    const publicClient = await viem.getPublicClient();
    const token = await viem.deployContract("TributaryToken", [owner.account.address, parseEther("1000"), 0n, 0n]);
    const registry = await viem.deployContract("DatanetRegistry", [token.address]);
    await registry.write.createDatanet(["bafy-datanet-meta", "CC-BY-4.0", { stake: 0n, maxBytes: 1 << 20, forfeitRejectedStake: false }]);
    const datanetId = 1n;

    const texts = ["First contribution.\n", '{"q":"2+2","a":"4"}\n', "# Third\n\nMarkdown body.\n"];
    const types = ["text/plain", "application/jsonl", "text/markdown"] as const;
    const contributors = [alice, bob, alice];
    const accepted: AcceptedContribution[] = [];
    for (const [i, text] of texts.entries()) {
      const prepared = await prepareContribution(store, new TextEncoder().encode(text), types[i], { title: `c${i}`, licence: "CC-BY-4.0", language: "en" });
      const hash = await registry.write.contribute([datanetId, prepared.digest, BigInt(prepared.byteSize), prepared.metadataCid, 0n, false], { account: contributors[i].account });
      await publicClient.waitForTransactionReceipt({ hash });
      const [event] = await registry.getEvents.ContributionSubmitted({}, { blockHash: (await publicClient.getTransactionReceipt({ hash })).blockHash });
      const args = event.args as { contributionId: bigint; contributor: Hex; digest: Hex; byteSize: bigint; metadataCid: string };
      assert.equal(args.contributionId, contributionIdOf({ datanetId, digest: prepared.digest, contributor: contributors[i].account.address }), "the node derives the registry's id");
      accepted.push({ contributionId: args.contributionId, contributor: args.contributor, digest: args.digest, byteSize: args.byteSize, metadataCid: args.metadataCid });
    }
    await registry.write.acceptContributions([datanetId, accepted.map((c) => c.contributionId)]);

    const { cid, root, manifest } = await publishVersionManifest({ datanetId, licence: "CC-BY-4.0", contributions: accepted }, store);
    await registry.write.publishVersion([datanetId, root, cid.toString(), 3, 3]);
    const version = await registry.read.getVersion([datanetId, 1]);
    assert.equal(version.root, root);
    assert.equal(version.manifestCid, cid.toString());

    const tree = StandardMerkleTree.of(manifest.contributions.map((c) => [c.contributionId, c.contributor, c.digest]), MANIFEST_LEAF_TYPES);
    for (const [i, leaf] of tree.entries()) {
      const [id, contributor, digest] = leaf as [string, Hex, Hex];
      assert.equal(await registry.read.isInVersion([datanetId, 1, BigInt(id), contributor, digest, tree.getProof(i) as Hex[]]), true);
    }

    const set = await rebuildTrainingSet(version.manifestCid, store, { expectedRoot: version.root });
    assert.deepEqual(set.texts, texts);
  });
});
