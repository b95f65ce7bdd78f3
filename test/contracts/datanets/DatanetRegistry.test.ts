import assert from "node:assert/strict";
import { network } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, keccak256, maxUint256, parseEther, zeroHash, type Address, type Hex } from "viem";
import { tokenBalancesHaveChanged } from "../token/tokenBalances.ts";

const { viem, networkHelpers } = await network.create();

const STAKE = parseEther("10");
const MAX_BYTES = 1_000_000;
const digestOf = (label: string): Hex => keccak256(`0x${Buffer.from(label).toString("hex")}`);
/** The contribution id: keccak256(abi.encode(datanetId, digest, contributor)). */
const idOf = (datanetId: bigint, digest: Hex, contributor: Address): bigint =>
  BigInt(keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "bytes32" }, { type: "address" }], [datanetId, digest, contributor])));

async function deployRegistry() {
  const [owner, alice, bob, curator] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const token = await viem.deployContract("TributaryToken", [owner.account.address, parseEther("1000000"), parseEther("100"), 3600n]);
  const registry = await viem.deployContract("DatanetRegistry", [token.address]);
  for (const who of [alice, bob]) {
    await token.write.transfer([who.account.address, parseEther("1000")]);
    await token.write.approve([registry.address, parseEther("1000")], { account: who.account });
  }
  const policy = { stake: STAKE, maxBytes: MAX_BYTES, forfeitRejectedStake: false };
  await registry.write.createDatanet(["bafy-datanet-meta", "CC-BY-4.0", policy]);
  await registry.write.createDatanet(["bafy-forfeit-meta", "CC0-1.0", { ...policy, forfeitRejectedStake: true }]);
  return { owner, alice, bob, curator, publicClient, token, registry };
}

describe("DatanetRegistry", () => {
  describe("Datanets", () => {
    it("mints a Datanet to its creator with its metadata, licence and policy", async () => {
      const { registry, alice } = await networkHelpers.loadFixture(deployRegistry);
      const policy = { stake: 5n, maxBytes: 42, forfeitRejectedStake: true };
      await viem.assertions.emitWithArgs(
        registry.write.createDatanet(["bafy-x", "MIT", policy], { account: alice.account }),
        registry,
        "DatanetCreated",
        [3n, alice.account.address, "bafy-x", "MIT", policy],
      );
      const datanet = await registry.read.getDatanet([3n]);
      assert.equal(datanet.owner.toLowerCase(), alice.account.address);
      assert.equal(datanet.licence, "MIT");
      assert.deepEqual(datanet.policy, policy);
      assert.equal(await registry.read.tokenURI([3n]), "ipfs://bafy-x");
    });

    it("rejects an empty metadata CID, an empty licence and a zero size limit", async () => {
      const { registry } = await networkHelpers.loadFixture(deployRegistry);
      const policy = { stake: 0n, maxBytes: 1, forfeitRejectedStake: false };
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.createDatanet(["", "MIT", policy]), registry, "EmptyField", ["metadataCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.createDatanet(["m", "", policy]), registry, "EmptyField", ["licence"]);
      await viem.assertions.revertWithCustomError(registry.write.createDatanet(["m", "MIT", { ...policy, maxBytes: 0 }]), registry, "ZeroMaxContributionSize");
    });

    it("lets only the owner update metadata and policy", async () => {
      const { registry, alice } = await networkHelpers.loadFixture(deployRegistry);
      await viem.assertions.emitWithArgs(registry.write.setMetadataCid([1n, "bafy-new"]), registry, "DatanetMetadataUpdated", [1n, "bafy-new"]);
      assert.equal((await registry.read.getDatanet([1n])).metadataCid, "bafy-new");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.setMetadataCid([1n, ""]), registry, "EmptyField", ["metadataCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.setMetadataCid([1n, "x"], { account: alice.account }), registry, "NotDatanetOwner", [1n, alice.account.address],
      );
      const policy = { stake: 1n, maxBytes: 10, forfeitRejectedStake: true };
      await viem.assertions.emitWithArgs(registry.write.setContributionPolicy([1n, policy]), registry, "ContributionPolicyUpdated", [1n, policy]);
      await viem.assertions.revertWithCustomError(registry.write.setContributionPolicy([1n, { ...policy, maxBytes: 0 }]), registry, "ZeroMaxContributionSize");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.setContributionPolicy([9n, policy]), registry, "DatanetNotFound", [9n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.getDatanet([9n]), registry, "DatanetNotFound", [9n]);
    });
  });

  describe("contributions", () => {
    it("registers a contribution by digest and escrows the stake", async () => {
      const { registry, token, alice, publicClient } = await networkHelpers.loadFixture(deployRegistry);
      const digest = digestOf("a");
      const id = idOf(1n, digest, alice.account.address);
      assert.equal(await registry.read.contributionIdOf([1n, digest, alice.account.address]), id);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.contribute([1n, digest, 100n, "bafy-c", maxUint256, true], { account: alice.account }), [
        { address: alice.account.address, amount: -STAKE },
        { address: registry.address, amount: STAKE },
      ]);
      const [record, held] = await registry.read.getContribution([id]);
      assert.equal(record.contributor.toLowerCase(), alice.account.address);
      assert.equal(record.number, 1);
      assert.equal(record.status, 1);
      assert.equal(held, STAKE);
      await viem.assertions.emitWithArgs(
        registry.write.contribute([1n, digestOf("b"), 7n, "bafy-d", maxUint256, true], { account: alice.account }),
        registry,
        "ContributionSubmitted",
        [1n, idOf(1n, digestOf("b"), alice.account.address), alice.account.address, digestOf("b"), 2, 7n, STAKE, "bafy-d"],
      );
    });

    it("rejects bad contributions with the reason", async () => {
      const { registry, alice } = await networkHelpers.loadFixture(deployRegistry);
      const as = { account: alice.account };
      const d = digestOf("a");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([7n, d, 1n, "m", maxUint256, true], as), registry, "DatanetNotFound", [7n]);
      await viem.assertions.revertWithCustomError(registry.write.contribute([1n, zeroHash, 1n, "m", maxUint256, true], as), registry, "ZeroDigest");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([1n, d, 0n, "m", maxUint256, true], as), registry, "InvalidContributionSize", [1n, 0n, MAX_BYTES]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.contribute([1n, d, BigInt(MAX_BYTES) + 1n, "m", maxUint256, true], as), registry, "InvalidContributionSize", [1n, BigInt(MAX_BYTES) + 1n, MAX_BYTES],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([1n, d, 1n, "", maxUint256, true], as), registry, "EmptyField", ["metadataCid"]);
      await registry.write.contribute([1n, d, 1n, "m", maxUint256, true], as);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([1n, d, 1n, "m2", maxUint256, true], as), registry, "DuplicateContribution", [1n, d, idOf(1n, d, alice.account.address)]);
      // The same content may go to another Datanet.
      await registry.write.contribute([2n, d, 1n, "m", maxUint256, true], as);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.getContribution([123n]), registry, "ContributionNotFound", [123n]);
    });

    it("keeps the stake and rejection rule a pending contribution was made under", async () => {
      const { registry, token, alice, publicClient } = await networkHelpers.loadFixture(deployRegistry);
      await registry.write.contribute([1n, digestOf("a"), 1n, "m", maxUint256, true], { account: alice.account });
      await registry.write.setContributionPolicy([1n, { stake: 1n, maxBytes: 1, forfeitRejectedStake: true }]);
      const id = idOf(1n, digestOf("a"), alice.account.address);
      await registry.write.rejectContributions([1n, [id]]);
      assert.equal(await registry.read.forfeitedOf([1n]), 0n);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.withdrawStakes([[id]], { account: alice.account }), [
        { address: alice.account.address, amount: STAKE },
      ]);
    });

    it("contributes without stake when the policy asks none", async () => {
      const { registry, token, alice, publicClient } = await networkHelpers.loadFixture(deployRegistry);
      await registry.write.createDatanet(["m", "MIT", { stake: 0n, maxBytes: 10, forfeitRejectedStake: true }]);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.contribute([3n, digestOf("a"), 1n, "m", maxUint256, true], { account: alice.account }), [
        { address: alice.account.address, amount: 0n },
      ]);
      const id = idOf(3n, digestOf("a"), alice.account.address);
      await viem.assertions.emitWithArgs(registry.write.rejectContributions([3n, [id]]), registry, "ContributionRejected", [3n, id, alice.account.address, 0n, 0n]);
      assert.equal(await registry.read.forfeitedOf([3n]), 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.withdrawStakes([[id]], { account: alice.account }), registry, "NoStakeToWithdraw", [id, 3],
      );
    });
  });

  describe("attacks (issue 7)", () => {
    it("8: refuses a contribution whose stake or forfeit rule an owner changed under it", async () => {
      const { registry, token, owner, alice, publicClient } = await networkHelpers.loadFixture(deployRegistry);
      const as = { account: alice.account };
      // Alice read the policy (stake STAKE, refund on reject); the owner front-runs with her whole allowance.
      await registry.write.setContributionPolicy([1n, { stake: parseEther("1000"), maxBytes: MAX_BYTES, forfeitRejectedStake: true }], { account: owner.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.contribute([1n, digestOf("a"), 1n, "m", STAKE, false], as), registry, "StakeAboveMaximum", [1n, parseEther("1000"), STAKE],
      );
      await registry.write.setContributionPolicy([1n, { stake: STAKE, maxBytes: MAX_BYTES, forfeitRejectedStake: true }], { account: owner.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.contribute([1n, digestOf("a"), 1n, "m", STAKE, false], as), registry, "ForfeitNotAccepted", [1n, STAKE],
      );
      // A lower stake is fine, and a forfeit rule without a stake risks nothing.
      await registry.write.setContributionPolicy([1n, { stake: STAKE / 2n, maxBytes: MAX_BYTES, forfeitRejectedStake: false }], { account: owner.account });
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.contribute([1n, digestOf("a"), 1n, "m", STAKE, false], as), [
        { address: alice.account.address, amount: -STAKE / 2n },
      ]);
      await registry.write.setContributionPolicy([1n, { stake: 0n, maxBytes: MAX_BYTES, forfeitRejectedStake: true }], { account: owner.account });
      await registry.write.contribute([1n, digestOf("b"), 1n, "m", 0n, false], as);
    });

    it("9: a copied digest makes the copier's own contribution, and never takes or blocks the author's", async () => {
      const { registry, alice, bob } = await networkHelpers.loadFixture(deployRegistry);
      const d = digestOf("alice's text");
      // Bob saw Alice's digest in the mempool and front-runs her.
      await registry.write.contribute([1n, d, 1n, "copy", STAKE, false], { account: bob.account });
      await viem.assertions.emitWithArgs(
        registry.write.contribute([1n, d, 1n, "original", STAKE, false], { account: alice.account }),
        registry, "ContributionSubmitted", [1n, idOf(1n, d, alice.account.address), alice.account.address, d, 2, 1n, STAKE, "original"],
      );
      const [aliceRecord] = await registry.read.getContribution([idOf(1n, d, alice.account.address)]);
      const [bobRecord] = await registry.read.getContribution([idOf(1n, d, bob.account.address)]);
      assert.equal(aliceRecord.contributor.toLowerCase(), alice.account.address);
      assert.equal(bobRecord.contributor.toLowerCase(), bob.account.address);
      await registry.write.rejectContributions([1n, [idOf(1n, d, bob.account.address)]]);
      await registry.write.acceptContributions([1n, [idOf(1n, d, alice.account.address)]]);
    });

    it("9: lets a contributor bring a rejected digest back once its refunded stake is withdrawn", async () => {
      const { registry, alice } = await networkHelpers.loadFixture(deployRegistry);
      const as = { account: alice.account };
      const d = digestOf("draft");
      const id = idOf(1n, d, alice.account.address);
      await registry.write.contribute([1n, d, 1n, "m", STAKE, false], as);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([1n, d, 1n, "m", STAKE, false], as), registry, "DuplicateContribution", [1n, d, id]);
      await registry.write.rejectContributions([1n, [id]]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([1n, d, 1n, "m", STAKE, false], as), registry, "RejectedStakeNotWithdrawn", [id, STAKE]);
      await registry.write.withdrawStakes([[id]], as);
      await viem.assertions.emitWithArgs(
        registry.write.contribute([1n, d, 1n, "fixed", STAKE, false], as), registry, "ContributionSubmitted", [1n, id, alice.account.address, d, 2, 1n, STAKE, "fixed"],
      );
      const [record, held] = await registry.read.getContribution([id]);
      assert.equal(record.status, 1);
      assert.equal(record.number, 2);
      assert.equal(held, STAKE);
      await registry.write.acceptContributions([1n, [id]]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.contribute([1n, d, 1n, "m", STAKE, false], as), registry, "DuplicateContribution", [1n, d, id]);
    });

    it("9: lets a forfeited digest come back at once", async () => {
      const { registry, alice } = await networkHelpers.loadFixture(deployRegistry);
      const as = { account: alice.account };
      const d = digestOf("spam?");
      await registry.write.contribute([2n, d, 1n, "m", STAKE, true], as);
      await registry.write.rejectContributions([2n, [idOf(2n, d, alice.account.address)]]);
      await registry.write.contribute([2n, d, 1n, "m", STAKE, true], as);
    });
  });

  describe("curation", () => {
    async function withContributions() {
      const fixture = await deployRegistry();
      const { registry, alice, bob } = fixture;
      const ids: bigint[] = [];
      for (const [datanetId, who, label] of [[1n, alice, "a1"], [1n, alice, "a2"], [1n, bob, "b1"], [2n, alice, "f1"], [2n, bob, "f2"]] as const) {
        await registry.write.contribute([datanetId, digestOf(label), 10n, `meta-${label}`, maxUint256, true], { account: who.account });
        ids.push(idOf(datanetId, digestOf(label), who.account.address));
      }
      return { ...fixture, ids };
    }

    it("accepts a batch without moving tokens, releasing each stake for its contributor to withdraw", async () => {
      const { registry, token, alice, bob, ids, publicClient } = await networkHelpers.loadFixture(withContributions);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.acceptContributions([1n, ids.slice(0, 3)]), [
        { address: alice.account.address, amount: 0n },
        { address: bob.account.address, amount: 0n },
        { address: registry.address, amount: 0n },
      ]);
      assert.equal((await registry.read.getDatanet([1n])).acceptedCount, 3);
      const [record, held] = await registry.read.getContribution([ids[0]]);
      assert.equal(record.status, 2);
      assert.equal(held, STAKE);
    });

    it("emits one ContributionAccepted per contribution", async () => {
      const { registry, alice, ids } = await networkHelpers.loadFixture(withContributions);
      await viem.assertions.emitWithArgs(registry.write.acceptContributions([1n, [ids[1]]]), registry, "ContributionAccepted", [1n, ids[1], alice.account.address, STAKE]);
    });

    it("releases rejected stake to its contributor under a refund policy", async () => {
      const { registry, token, alice, bob, ids, publicClient } = await networkHelpers.loadFixture(withContributions);
      await viem.assertions.emitWithArgs(registry.write.rejectContributions([1n, [ids[2]]]), registry, "ContributionRejected", [1n, ids[2], bob.account.address, STAKE, 0n]);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.rejectContributions([1n, [ids[0], ids[1]]]), [
        { address: alice.account.address, amount: 0n },
        { address: registry.address, amount: 0n },
      ]);
      assert.equal((await registry.read.getDatanet([1n])).acceptedCount, 0);
      assert.equal(await registry.read.forfeitedOf([1n]), 0n);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.withdrawStakes([[ids[0], ids[1]]], { account: alice.account }), [
        { address: alice.account.address, amount: 2n * STAKE },
        { address: registry.address, amount: -2n * STAKE },
      ]);
    });

    it("forfeits rejected stake to the Datanet, not to anyone's balance, under a forfeit policy", async () => {
      const { registry, token, owner, alice, bob, ids, publicClient } = await networkHelpers.loadFixture(withContributions);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.rejectContributions([2n, [ids[3], ids[4]]]), [
        { address: owner.account.address, amount: 0n },
        { address: alice.account.address, amount: 0n },
        { address: bob.account.address, amount: 0n },
        { address: registry.address, amount: 0n },
      ]);
      const [record, held] = await registry.read.getContribution([ids[3]]);
      assert.equal(record.status, 3);
      assert.equal(held, 0n);
      assert.equal(await registry.read.forfeitedOf([2n]), 2n * STAKE);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.withdrawStakes([[ids[3]]], { account: alice.account }), registry, "NoStakeToWithdraw", [ids[3], 3],
      );
    });

    it("reports why a batch cannot be decided", async () => {
      const { registry, alice, ids } = await networkHelpers.loadFixture(withContributions);
      await viem.assertions.revertWithCustomError(registry.write.acceptContributions([1n, []]), registry, "EmptyBatch");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.acceptContributions([1n, [5n]]), registry, "ContributionNotFound", [5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.acceptContributions([1n, [ids[3]]]), registry, "ContributionNotInDatanet", [ids[3], 1n, 2n]);
      await registry.write.acceptContributions([1n, [ids[0]]]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.rejectContributions([1n, [ids[1], ids[0]]]), registry, "ContributionNotPending", [ids[0], 2]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.acceptContributions([1n, [ids[1]]], { account: alice.account }), registry, "NotCurator", [1n, alice.account.address],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.acceptContributions([8n, [ids[1]]]), registry, "DatanetNotFound", [8n]);
    });

    it("lets appointed curators decide and publish until the Datanet changes hands", async () => {
      const { registry, owner, bob, curator, ids } = await networkHelpers.loadFixture(withContributions);
      const asCurator = { account: curator.account };
      await viem.assertions.emitWithArgs(registry.write.setCurator([1n, curator.account.address, true]), registry, "CuratorSet", [1n, curator.account.address, true]);
      assert.equal(await registry.read.isCurator([1n, curator.account.address]), true);
      assert.equal(await registry.read.isCurator([1n, owner.account.address]), true);
      assert.equal(await registry.read.isCurator([9n, owner.account.address]), false);
      await registry.write.acceptContributions([1n, [ids[0]]], asCurator);
      await registry.write.publishVersion([1n, digestOf("root"), "manifest", 1, 1], asCurator);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.setCurator([1n, bob.account.address, true], asCurator), registry, "NotDatanetOwner", [1n, curator.account.address],
      );

      await viem.assertions.emitWithArgs(
        registry.write.transferFrom([owner.account.address, bob.account.address, 1n]), registry, "CuratorsCleared", [1n, 1],
      );
      assert.equal(await registry.read.isCurator([1n, curator.account.address]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.acceptContributions([1n, [ids[1]]], asCurator), registry, "NotCurator", [1n, curator.account.address],
      );
      // The new owner decides.
      await registry.write.acceptContributions([1n, [ids[1]]], { account: bob.account });
    });

    it("removes a curator", async () => {
      const { registry, curator, ids } = await networkHelpers.loadFixture(withContributions);
      await registry.write.setCurator([1n, curator.account.address, true]);
      await viem.assertions.emitWithArgs(registry.write.setCurator([1n, curator.account.address, false]), registry, "CuratorSet", [1n, curator.account.address, false]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.rejectContributions([1n, [ids[0]]], { account: curator.account }), registry, "NotCurator", [1n, curator.account.address],
      );
    });
  });

  describe("withdrawals", () => {
    async function withDecisions() {
      const fixture = await deployRegistry();
      const { registry, alice, bob } = fixture;
      const ids: bigint[] = [];
      for (const [datanetId, who, label] of [[1n, alice, "a1"], [1n, bob, "b1"], [2n, alice, "a2"], [2n, bob, "b2"], [1n, alice, "a3"]] as const) {
        await registry.write.contribute([datanetId, digestOf(label), 10n, `meta-${label}`, maxUint256, true], { account: who.account });
        ids.push(idOf(datanetId, digestOf(label), who.account.address));
      }
      // a1, b1 accepted (released); a2, b2 rejected on the forfeit Datanet (forfeited); a3 still pending.
      await registry.write.acceptContributions([1n, [ids[0], ids[1]]]);
      await registry.write.rejectContributions([2n, [ids[2], ids[3]]]);
      return { ...fixture, ids };
    }

    it("pays a contributor the released stakes of several Datanets in one transfer, once", async () => {
      const { registry, token, alice, ids, publicClient } = await networkHelpers.loadFixture(withDecisions);
      await registry.write.contribute([2n, digestOf("a4"), 10n, "meta-a4", maxUint256, true], { account: alice.account });
      const accepted = idOf(2n, digestOf("a4"), alice.account.address);
      await registry.write.acceptContributions([2n, [accepted]]);
      const { result: paid } = await registry.simulate.withdrawStakes([[ids[0], accepted]], { account: alice.account.address });
      assert.equal(paid, 2n * STAKE);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.withdrawStakes([[ids[0], accepted]], { account: alice.account }), [
        { address: alice.account.address, amount: 2n * STAKE },
        { address: registry.address, amount: -2n * STAKE },
      ]);
      const [, held] = await registry.read.getContribution([ids[0]]);
      assert.equal(held, 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.withdrawStakes([[ids[0]]], { account: alice.account }), registry, "NoStakeToWithdraw", [ids[0], 2],
      );
    });

    it("emits StakeWithdrawn for every contribution withdrawn", async () => {
      const { registry, alice, ids, publicClient } = await networkHelpers.loadFixture(withDecisions);
      await registry.write.contribute([1n, digestOf("a6"), 10n, "meta-a6", maxUint256, true], { account: alice.account });
      const second = idOf(1n, digestOf("a6"), alice.account.address);
      await registry.write.acceptContributions([1n, [second]]);
      await viem.assertions.emitWithArgs(
        registry.write.withdrawStakes([[ids[0], second]], { account: alice.account }), registry, "StakeWithdrawn", [1n, ids[0], alice.account.address, STAKE],
      );
      const events = await publicClient.getContractEvents({ address: registry.address, abi: registry.abi, eventName: "StakeWithdrawn" });
      assert.deepEqual(events.map((event) => event.args.contributionId), [ids[0], second]);
    });

    it("lets anyone withdraw on a contributor's behalf, paying the contributor", async () => {
      const { registry, token, bob, curator, ids, publicClient } = await networkHelpers.loadFixture(withDecisions);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.withdrawStakes([[ids[1]]], { account: curator.account }), [
        { address: bob.account.address, amount: STAKE },
        { address: curator.account.address, amount: 0n },
      ]);
    });

    it("reports why stakes cannot be withdrawn", async () => {
      const { registry, alice, bob, ids } = await networkHelpers.loadFixture(withDecisions);
      const as = { account: alice.account };
      await viem.assertions.revertWithCustomError(registry.write.withdrawStakes([[]], as), registry, "EmptyBatch");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawStakes([[5n]], as), registry, "ContributionNotFound", [5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawStakes([[ids[0], 5n]], as), registry, "ContributionNotFound", [5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawStakes([[ids[4]]], as), registry, "ContributionStillPending", [ids[4]]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.withdrawStakes([[ids[0], ids[1]]], as), registry, "MixedContributors", [ids[1], alice.account.address, bob.account.address],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawStakes([[ids[0], ids[2]]], as), registry, "NoStakeToWithdraw", [ids[2], 3]);
      // Naming a stake twice in one call pays it once: the second mention finds it cleared.
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawStakes([[ids[0], ids[0]]], as), registry, "NoStakeToWithdraw", [ids[0], 2]);
    });

    it("pays a Datanet's forfeits to its owner, once", async () => {
      const { registry, token, owner, alice, publicClient } = await networkHelpers.loadFixture(withDecisions);
      assert.equal(await registry.read.forfeitedOf([2n]), 2n * STAKE);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.withdrawForfeits([2n]), [
        { address: owner.account.address, amount: 2n * STAKE },
        { address: registry.address, amount: -2n * STAKE },
      ]);
      assert.equal(await registry.read.forfeitedOf([2n]), 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawForfeits([2n]), registry, "NoForfeitsToWithdraw", [2n]);
      // Forfeits accrue again after a withdrawal.
      await registry.write.contribute([2n, digestOf("a5"), 10n, "meta-a5", maxUint256, true], { account: alice.account });
      await registry.write.rejectContributions([2n, [idOf(2n, digestOf("a5"), alice.account.address)]]);
      assert.equal(await registry.read.forfeitedOf([2n]), STAKE);
      await viem.assertions.emitWithArgs(registry.write.withdrawForfeits([2n]), registry, "ForfeitsWithdrawn", [2n, owner.account.address, STAKE]);
    });

    it("pays forfeits to whoever owns the Datanet when they are withdrawn", async () => {
      const { registry, token, owner, bob, publicClient } = await networkHelpers.loadFixture(withDecisions);
      await registry.write.transferFrom([owner.account.address, bob.account.address, 2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawForfeits([2n]), registry, "NotDatanetOwner", [2n, owner.account.address]);
      await tokenBalancesHaveChanged(publicClient, token, () => registry.write.withdrawForfeits([2n], { account: bob.account }), [
        { address: bob.account.address, amount: 2n * STAKE },
        { address: owner.account.address, amount: 0n },
        { address: registry.address, amount: -2n * STAKE },
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.withdrawForfeits([9n]), registry, "DatanetNotFound", [9n]);
    });
  });

  describe("versions", () => {
    async function withAccepted() {
      const fixture = await deployRegistry();
      const { registry, alice, bob } = fixture;
      const leaves: [bigint, Address, Hex][] = [];
      for (const [who, label] of [[alice, "a"], [bob, "b"], [alice, "c"]] as const) {
        await registry.write.contribute([1n, digestOf(label), 10n, `meta-${label}`, maxUint256, true], { account: who.account });
        leaves.push([idOf(1n, digestOf(label), who.account.address), who.account.address, digestOf(label)]);
      }
      await registry.write.acceptContributions([1n, leaves.map((l) => l[0])]);
      const tree = StandardMerkleTree.of(leaves, ["uint256", "address", "bytes32"]);
      return { ...fixture, leaves, tree };
    }

    it("publishes numbered, immutable versions whose root proves membership", async () => {
      const { registry, leaves, tree } = await networkHelpers.loadFixture(withAccepted);
      const root = tree.root as Hex;
      await viem.assertions.emitWithArgs(registry.write.publishVersion([1n, root, "bafy-manifest-1", 3, 3]), registry, "VersionPublished", [1n, 1, root, 3, 3, "bafy-manifest-1"]);
      await registry.write.publishVersion([1n, digestOf("root2"), "bafy-manifest-2", 2, 3]);
      assert.equal(await registry.read.versionCount([1n]), 2);
      assert.deepEqual(await registry.read.versionRoot([1n, 1]), [root, "bafy-manifest-1"]);
      const version = await registry.read.getVersion([1n, 2]);
      assert.equal(version.contributionCount, 2);
      assert.equal(version.lastContributionNumber, 3);

      const [id, contributor, digest] = leaves[1];
      assert.equal(await registry.read.leafOf([id, contributor, digest]), tree.leafHash(leaves[1]));
      const proof = tree.getProof(1) as Hex[];
      assert.equal(await registry.read.isInVersion([1n, 1, id, contributor, digest, proof]), true);
      assert.equal(await registry.read.isInVersion([1n, 2, id, contributor, digest, proof]), false);
    });

    it("rejects versions that cannot be right", async () => {
      const { registry, alice } = await networkHelpers.loadFixture(withAccepted);
      const root = digestOf("root");
      await viem.assertions.revertWithCustomError(registry.write.publishVersion([1n, zeroHash, "m", 1, 1]), registry, "ZeroMerkleRoot");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.publishVersion([1n, root, "", 1, 1]), registry, "EmptyField", ["manifestCid"]);
      await viem.assertions.revertWithCustomError(registry.write.publishVersion([1n, root, "m", 0, 1]), registry, "EmptyVersion");
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.publishVersion([1n, root, "m", 4, 4]), registry, "VersionExceedsAccepted", [1n, 4, 3]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.publishVersion([1n, root, "m", 2, 1]), registry, "InvalidLastContributionNumber", [1n, 1, 3]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.publishVersion([1n, root, "m", 2, 4]), registry, "InvalidLastContributionNumber", [1n, 4, 3]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.publishVersion([1n, root, "m", 1, 1], { account: alice.account }), registry, "NotCurator", [1n, alice.account.address],
      );
    });

    it("answers unknown Datanets and versions with their own errors", async () => {
      const { registry } = await networkHelpers.loadFixture(withAccepted);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.versionRoot([1n, 0]), registry, "VersionNotFound", [1n, 0, 0]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.getVersion([1n, 1]), registry, "VersionNotFound", [1n, 1, 0]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.versionCount([5n]), registry, "DatanetNotFound", [5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.versionRoot([5n, 1]), registry, "DatanetNotFound", [5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(registry.read.tokenURI([5n]), registry, "ERC721NonexistentToken", [5n]);
    });
  });
});
