// Issue 7, "every party is an adversary": each attack on disputes, credits, node stakes and on-chain inference,
// played against the real registries wired to a real Settlement (see protocolSettlement.ts). Each test is the
// attack; it passes because the attack fails.
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, type Address } from "viem";
import { MIN_STAKE, UNBONDING_DELAY } from "../models/protocolFixture.ts";
import { CHALLENGE_BOND, DAY, UNIT, creditTree, signVoucher } from "./fixture.ts";
import { PROTOCOL_SLASH, deployProtocolWithSettlement } from "./protocolSettlement.ts";

const { viem, networkHelpers } = await network.create();

const REVENUE = 100n * UNIT;
/** Model 1's contributor share of REVENUE: 5 % protocol fee, then 40 % of the rest. */
const POOL = 38n * UNIT;
const RECOVERY_DELAY = 30n * DAY;
const REWARD_BPS = 1_000n;

const withProtocol = () => deployProtocolWithSettlement(viem);

type Ctx = Awaited<ReturnType<typeof deployProtocolWithSettlement>>;

/** nodeA settles one voucher batch for model 1, filling its contributor pool with POOL. */
async function withPool() {
  const ctx = await deployProtocolWithSettlement(viem);
  const { settlement, pools, payer, nodeA, domain } = ctx;
  // Model 1's current terms: version 1 at minting, version 2 when its price was set.
  const [, termsVersion] = await ctx.models.read.modelTerms([1n]);
  const voucher = await signVoucher(payer, domain, {
    payer: payer.account.address, node: nodeA.account.address, modelId: 1n, termsVersion, cumulativeAmount: REVENUE,
  });
  await settlement.write.settleBatch([[voucher], `0x${"00".repeat(32)}`, 0n, ""], { account: nodeA.account });
  return ctx;
}

/** nodeA proposes a root over `credits` (batch ids count on from 2); returns the tree. */
async function proposeRoot(ctx: Ctx, credits: ReadonlyArray<readonly [Address, bigint]>) {
  const tree = creditTree(credits);
  await ctx.settlement.write.settleBatch([[], tree.root, tree.total, "bafy-records"], { account: ctx.nodeA.account });
  return tree;
}

/** A pool with a fraudulent pending root (batch 2) that credits the node's own second account. */
async function withFraudulentRoot() {
  const ctx = await withPool();
  const tree = await proposeRoot(ctx, [[ctx.sockPuppet.account.address, 30n * UNIT], [ctx.alice.account.address, 1n * UNIT]]);
  return { ...ctx, tree, batchId: 2n };
}

const balanceOf = (ctx: Ctx, who: Address) => ctx.token.read.balanceOf([who]);
const poolOf = async (ctx: Ctx) => (await ctx.pools.read.creditsOf([ctx.nodeA.account.address]))[3];

describe("Attacks on disputes, credits and stakes (issue 7)", () => {
  describe("4: a cheating node cannot run from its dispute", () => {
    it("cannot withdraw while its root is challenged, and the upheld ruling slashes it", async () => {
      const ctx = await networkHelpers.loadFixture(withFraudulentRoot);
      const { settlement, pools, nodes, nodeA, challenger, arbiter, batchId } = ctx;
      const node = nodeA.account.address;
      expect(await pools.read.hasOpenDisputes([node])).to.equal(true);
      await pools.write.challenge([node, batchId], { account: challenger.account });
      await nodes.write.beginUnbonding({ account: nodeA.account });
      await networkHelpers.time.increase(UNBONDING_DELAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        nodes.write.withdraw({ account: nodeA.account }), nodes, "StakeLocked", [node, pools.address],
      );
      await viem.assertions.emitWithArgs(
        pools.write.resolveChallenge([node, batchId, challenger.account.address, true], { account: arbiter.account }),
        pools, "ChallengeUpheld", [batchId, node, challenger.account.address, PROTOCOL_SLASH, PROTOCOL_SLASH / 10n],
      );
      expect(await nodes.read.stakeOf([node])).to.equal(MIN_STAKE - PROTOCOL_SLASH);
      expect(await pools.read.hasOpenDisputes([node])).to.equal(false);
      await viem.assertions.emitWithArgs(nodes.write.withdraw({ account: nodeA.account }), nodes, "StakeWithdrawn", [node, MIN_STAKE - PROTOCOL_SLASH]);
    });

    it("locks the stake through the root's window, and releases it once the root is final", async () => {
      const ctx = await networkHelpers.loadFixture(withFraudulentRoot);
      const { settlement, pools, nodes, governance, nodeA } = ctx;
      const node = nodeA.account.address;
      await nodes.write.beginUnbonding({ account: nodeA.account });
      expect(await pools.read.hasOpenDisputes([node])).to.equal(true);
      await networkHelpers.time.increase(UNBONDING_DELAY);
      // The window (a day) has passed by now unchallenged: the root is final, nothing is disputable.
      expect(await pools.read.hasOpenDisputes([node])).to.equal(false);
      await nodes.write.withdraw({ account: nodeA.account });
      // Governance can clear the lock (a registry without a Settlement); the event says so.
      await viem.assertions.emitWithArgs(
        nodes.write.setStakeLock(["0x0000000000000000000000000000000000000000"], { account: governance.account }),
        nodes, "StakeLockUpdated", [pools.address, "0x0000000000000000000000000000000000000000"],
      );
    });

    it("executes an upheld ruling even when the node's stake is already gone", async () => {
      const ctx = await networkHelpers.loadFixture(withFraudulentRoot);
      const { settlement, pools, nodes, governance, nodeA, challenger, arbiter, batchId } = ctx;
      const node = nodeA.account.address;
      // Misconfigured registry (no lock) and a short window: the node leaves with its stake mid-dispute.
      await nodes.write.setStakeLock(["0x0000000000000000000000000000000000000000"], { account: governance.account });
      await pools.write.challenge([node, batchId], { account: challenger.account });
      await nodes.write.beginUnbonding({ account: nodeA.account });
      await networkHelpers.time.increase(UNBONDING_DELAY);
      await nodes.write.withdraw({ account: nodeA.account });
      const before = await balanceOf(ctx, challenger.account.address);
      await viem.assertions.emitWithArgs(
        pools.write.resolveChallenge([node, batchId, challenger.account.address, true], { account: arbiter.account }),
        pools, "ChallengeUpheld", [batchId, node, challenger.account.address, 0n, 0n],
      );
      expect((await balanceOf(ctx, challenger.account.address)) - before).to.equal(CHALLENGE_BOND);
    });
  });

  describe("5: slashing costs the cheater", () => {
    it("lets an honest challenger challenge a root the node already challenged itself, and slashes into the pool", async () => {
      const ctx = await networkHelpers.loadFixture(withFraudulentRoot);
      const { settlement, pools, nodes, nodeA, sockPuppet, challenger, arbiter, batchId, tree } = ctx;
      const node = nodeA.account.address;
      await pools.write.challenge([node, batchId], { account: sockPuppet.account });
      await pools.write.challenge([node, batchId], { account: challenger.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.challenge([node, batchId], { account: challenger.account }),
        pools, "AlreadyChallenged", [node, batchId, challenger.account.address],
      );
      // The puppet's challenge is dismissed (it argued badly on purpose): the root stays frozen for the honest one.
      await viem.assertions.emitWithArgs(
        pools.write.resolveChallenge([node, batchId, sockPuppet.account.address, false], { account: arbiter.account }),
        pools, "ChallengeRejected", [batchId, node, sockPuppet.account.address, CHALLENGE_BOND],
      );
      await networkHelpers.time.increase(2n * DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.claim([node, sockPuppet.account.address, 30n * UNIT, tree.proofOf(sockPuppet.account.address)]),
        pools, "NoFinalizedCreditRoot", [node],
      );
      const [, , , , , , , challenged] = await pools.read.creditsOf([node]);
      expect(challenged).to.equal(true);
      const challengerBefore = await balanceOf(ctx, challenger.account.address);
      const reward = PROTOCOL_SLASH * REWARD_BPS / 10_000n;
      await pools.write.resolveChallenge([node, batchId, challenger.account.address, true], { account: arbiter.account });
      expect((await balanceOf(ctx, challenger.account.address)) - challengerBefore).to.equal(CHALLENGE_BOND + reward);
      expect(await poolOf(ctx)).to.equal(POOL + PROTOCOL_SLASH - reward);
      expect(await nodes.read.stakeOf([node])).to.equal(MIN_STAKE - PROTOCOL_SLASH);
    });

    it("pays the node's own challenger only the bounded reward, and returns the other bonds", async () => {
      const ctx = await networkHelpers.loadFixture(withFraudulentRoot);
      const { settlement, pools, nodes, nodeA, sockPuppet, challenger, arbiter, batchId } = ctx;
      const node = nodeA.account.address;
      await pools.write.challenge([node, batchId], { account: sockPuppet.account });
      await pools.write.challenge([node, batchId], { account: challenger.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.withdrawChallengeBond([node, batchId], { account: challenger.account }),
        pools, "ChallengeStillOpen", [node, batchId, challenger.account.address],
      );
      const puppetBefore = await balanceOf(ctx, sockPuppet.account.address);
      await pools.write.resolveChallenge([node, batchId, sockPuppet.account.address, true], { account: arbiter.account });
      const reward = PROTOCOL_SLASH * REWARD_BPS / 10_000n;
      // Node plus puppet: the stake lost the slash, the puppet got back its bond and the reward only.
      expect((await balanceOf(ctx, sockPuppet.account.address)) - puppetBefore).to.equal(CHALLENGE_BOND + reward);
      expect(MIN_STAKE - (await nodes.read.stakeOf([node]))).to.equal(PROTOCOL_SLASH);
      expect(await poolOf(ctx)).to.equal(POOL + PROTOCOL_SLASH - reward);
      // The honest challenge has nothing left to rule on: its bond comes back.
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.resolveChallenge([node, batchId, challenger.account.address, true], { account: arbiter.account }),
        pools, "NoOpenChallenge", [node, batchId, challenger.account.address],
      );
      await viem.assertions.emitWithArgs(
        pools.write.withdrawChallengeBond([node, batchId], { account: challenger.account }),
        pools, "ChallengeBondReturned", [batchId, node, challenger.account.address, CHALLENGE_BOND],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.withdrawChallengeBond([node, batchId], { account: challenger.account }),
        pools, "NoOpenChallenge", [node, batchId, challenger.account.address],
      );
    });
  });

  describe("7: only the node that served is paid", () => {
    it("lets only the node a request names serve it", async () => {
      const { settlement, pools, payer, nodeA, nodeB, stranger } = await networkHelpers.loadFixture(withProtocol);
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.requestInference([1n, stranger.account.address, "bafy-prompt", 1_000n, UNIT], { account: payer.account }),
        settlement, "NodeNotActive", [stranger.account.address],
      );
      const expiresAt = BigInt(await networkHelpers.time.latest()) + 1n + 3600n;
      await viem.assertions.emitWithArgs(
        settlement.write.requestInference([1n, nodeA.account.address, "bafy-prompt", 1_000n, UNIT], { account: payer.account }),
        settlement, "InferenceRequested",
        [1n, getAddress(payer.account.address), getAddress(nodeA.account.address), 1n, "bafy-prompt", 1_000n, UNIT, expiresAt],
      );
      // Another active node front-runs with a junk result.
      await viem.assertions.revertWithCustomErrorWithArgs(
        settlement.write.serveInference([1n, "bafy-junk"], { account: nodeB.account }),
        settlement, "NotAssignedNode", [1n, nodeB.account.address, nodeA.account.address],
      );
      await settlement.write.serveInference([1n, "bafy-result"], { account: nodeA.account });
      expect(await settlement.read.earningsOf([nodeB.account.address])).to.equal(0n);
      expect((await settlement.read.earningsOf([nodeA.account.address])) > 0n).to.equal(true);
    });
  });

  describe("10: contributor pools never lock", () => {
    /** nodeA leaves after filling its pool, without ever posting a root. */
    async function withDepartedNode() {
      const ctx = await withPool();
      const silentSince = BigInt(await networkHelpers.time.latest());
      await ctx.nodes.write.beginUnbonding({ account: ctx.nodeA.account });
      await networkHelpers.time.increase(UNBONDING_DELAY);
      await ctx.nodes.write.withdraw({ account: ctx.nodeA.account });
      const tree = creditTree([[ctx.alice.account.address, 20n * UNIT], [ctx.bob.account.address, 18n * UNIT]]);
      return { ...ctx, silentSince, tree };
    }

    it("lets anyone propose a bonded root for a silent node's pool, final after the same window", async () => {
      const ctx = await networkHelpers.loadFixture(withDepartedNode);
      const { settlement, pools, nodeA, proposer, alice, tree, silentSince } = ctx;
      const node = nodeA.account.address;
      const as = { account: proposer.account };
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.proposeRecoveryRoot([node, tree.root, tree.total, "bafy-records"], as),
        pools, "NodeNotSilent", [node, silentSince, silentSince + RECOVERY_DELAY],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.proposeRecoveryRoot([proposer.account.address, tree.root, tree.total, "bafy-records"], as),
        pools, "NodeNotSilent", [proposer.account.address, 0n, RECOVERY_DELAY],
      );
      await networkHelpers.time.increaseTo(silentSince + RECOVERY_DELAY);
      await viem.assertions.revertWithCustomError(
        pools.write.proposeRecoveryRoot([node, tree.root, tree.total, ""], as), pools, "EmptyRecordsCid",
      );
      await viem.assertions.revertWithCustomError(
        pools.write.proposeRecoveryRoot([node, `0x${"00".repeat(32)}`, 0n, "bafy-records"], as), pools, "ZeroCreditRoot",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.proposeRecoveryRoot([node, tree.root, POOL + 1n, "bafy-records"], as),
        pools, "CreditTotalExceedsPool", [node, POOL + 1n, POOL],
      );
      const disputeUntil = BigInt(await networkHelpers.time.latest()) + 1n + DAY;
      await viem.assertions.emitWithArgs(
        pools.write.proposeRecoveryRoot([node, tree.root, tree.total, "bafy-records"], as),
        pools, "RecoveryRootProposed", [2n, node, proposer.account.address, tree.root, tree.total, CHALLENGE_BOND, disputeUntil, "bafy-records"],
      );
      expect(await settlement.read.batchCount()).to.equal(2n);
      // Someone else's root does not lock the node's (here: gone) stake.
      expect(await pools.read.hasOpenDisputes([node])).to.equal(false);
      await networkHelpers.time.increase(DAY);
      await viem.assertions.emitWithArgs(
        pools.write.claim([node, alice.account.address, 20n * UNIT, tree.proofOf(alice.account.address)]),
        pools, "RecoveryBondReturned", [2n, node, proposer.account.address, CHALLENGE_BOND],
      );
      expect(await pools.read.claimedOf([node, alice.account.address])).to.equal(20n * UNIT);
      expect(await settlement.read.earningsOf([proposer.account.address])).to.equal(CHALLENGE_BOND);
    });

    it("forfeits a wrong recovery root's bond to the pool, and pays a dismissed challenge's bond to the proposer", async () => {
      const ctx = await networkHelpers.loadFixture(withDepartedNode);
      const { settlement, pools, nodeA, proposer, challenger, sockPuppet, arbiter, tree, silentSince } = ctx;
      const node = nodeA.account.address;
      await networkHelpers.time.increaseTo(silentSince + RECOVERY_DELAY);
      await pools.write.proposeRecoveryRoot([node, tree.root, tree.total, "bafy-records"], { account: proposer.account });
      await pools.write.challenge([node, 2n], { account: sockPuppet.account });
      await pools.write.challenge([node, 2n], { account: challenger.account });
      await pools.write.resolveChallenge([node, 2n, sockPuppet.account.address, false], { account: arbiter.account });
      expect(await settlement.read.earningsOf([proposer.account.address])).to.equal(CHALLENGE_BOND);
      const reward = CHALLENGE_BOND * REWARD_BPS / 10_000n;
      await viem.assertions.emitWithArgs(
        pools.write.resolveChallenge([node, 2n, challenger.account.address, true], { account: arbiter.account }),
        pools, "ChallengeUpheld", [2n, node, challenger.account.address, CHALLENGE_BOND, reward],
      );
      expect(await poolOf(ctx)).to.equal(POOL + CHALLENGE_BOND - reward);
      // The pool is open for a corrected recovery root at once.
      await pools.write.proposeRecoveryRoot([node, tree.root, tree.total, "bafy-records-2"], { account: challenger.account });
    });

    it("asks a recovery proposer at least the slash, so a node gains nothing by posting its roots that way", async () => {
      const { settlement, pools, governance } = await networkHelpers.loadFixture(withPool);
      expect(await pools.read.recoveryBond()).to.equal(CHALLENGE_BOND);
      await pools.write.setSlashAmount([3n * CHALLENGE_BOND], { account: governance.account });
      expect(await pools.read.recoveryBond()).to.equal(3n * CHALLENGE_BOND);
    });

    it("lets the node itself post again, and restarts its silence, once it proposes a root", async () => {
      const ctx = await networkHelpers.loadFixture(withPool);
      const { settlement, pools, nodeA, proposer, alice } = ctx;
      const node = nodeA.account.address;
      await networkHelpers.time.increase(RECOVERY_DELAY - DAY);
      await proposeRoot(ctx, [[alice.account.address, UNIT]]);
      const rootAt = BigInt(await networkHelpers.time.latest());
      await networkHelpers.time.increase(2n * DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.proposeRecoveryRoot([node, `0x${"11".repeat(32)}`, UNIT, "bafy"], { account: proposer.account }),
        pools, "NodeNotSilent", [node, rootAt, rootAt + RECOVERY_DELAY],
      );
    });
  });

  describe("11: only the latest final root pays", () => {
    it("refuses proofs against a root that a newer root superseded when its window passed", async () => {
      const ctx = await networkHelpers.loadFixture(withPool);
      const { settlement, pools, nodeA, alice, bob } = ctx;
      const node = nodeA.account.address;
      const first = await proposeRoot(ctx, [[alice.account.address, 10n * UNIT], [bob.account.address, 0n]]);
      await networkHelpers.time.increase(DAY);
      await pools.write.finalizeCreditRoot([node]);
      // A corrected attribution moves credit from alice to bob; nobody promotes it after its window.
      const second = await proposeRoot(ctx, [[alice.account.address, 6n * UNIT], [bob.account.address, 6n * UNIT]]);
      await networkHelpers.time.increase(DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.claim([node, alice.account.address, 10n * UNIT, first.proofOf(alice.account.address)]),
        pools, "InvalidCreditProof", [node, alice.account.address, 10n * UNIT],
      );
      await pools.write.claim([node, alice.account.address, 6n * UNIT, second.proofOf(alice.account.address)]);
      await pools.write.claim([node, bob.account.address, 6n * UNIT, second.proofOf(bob.account.address)]);
      const [root, credited, claimed] = await pools.read.creditsOf([node]);
      expect([root, credited, claimed]).to.deep.equal([second.root, 12n * UNIT, 12n * UNIT]);
    });

    it("keeps paying the final root while the newer one is challenged, and switches when the challenge is dismissed", async () => {
      const ctx = await networkHelpers.loadFixture(withPool);
      const { settlement, pools, nodeA, alice, bob, challenger, arbiter } = ctx;
      const node = nodeA.account.address;
      const first = await proposeRoot(ctx, [[alice.account.address, 10n * UNIT], [bob.account.address, 0n]]);
      await networkHelpers.time.increase(DAY);
      const second = await proposeRoot(ctx, [[alice.account.address, 10n * UNIT], [bob.account.address, 5n * UNIT]]);
      await pools.write.challenge([node, 3n], { account: challenger.account });
      await networkHelpers.time.increase(2n * DAY);
      await pools.write.claim([node, alice.account.address, 10n * UNIT, first.proofOf(alice.account.address)]);
      await viem.assertions.emitWithArgs(
        pools.write.resolveChallenge([node, 3n, challenger.account.address, false], { account: arbiter.account }),
        pools, "CreditRootFinalized", [node, 3n, second.root, 15n * UNIT],
      );
      await pools.write.claim([node, bob.account.address, 5n * UNIT, second.proofOf(bob.account.address)]);
    });

    it("supersedes the final root again at the end of the window when the challenge is dismissed early", async () => {
      const ctx = await networkHelpers.loadFixture(withPool);
      const { settlement, pools, nodeA, alice, bob, challenger, arbiter } = ctx;
      const node = nodeA.account.address;
      const first = await proposeRoot(ctx, [[alice.account.address, 10n * UNIT], [bob.account.address, 0n]]);
      await networkHelpers.time.increase(DAY);
      await pools.write.finalizeCreditRoot([node]);
      const second = await proposeRoot(ctx, [[alice.account.address, 6n * UNIT], [bob.account.address, 6n * UNIT]]);
      await pools.write.challenge([node, 3n], { account: challenger.account });
      await pools.write.resolveChallenge([node, 3n, challenger.account.address, false], { account: arbiter.account });
      // Still in its window: the first root pays until the window ends.
      const [root] = await pools.read.creditsOf([node]);
      expect(root).to.equal(first.root);
      await networkHelpers.time.increase(DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        pools.write.claim([node, alice.account.address, 10n * UNIT, first.proofOf(alice.account.address)]),
        pools, "InvalidCreditProof", [node, alice.account.address, 10n * UNIT],
      );
      await pools.write.claim([node, alice.account.address, 6n * UNIT, second.proofOf(alice.account.address)]);
    });
  });
});
