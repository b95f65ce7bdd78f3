import assert from "node:assert/strict";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import { getAddress, zeroAddress } from "viem";
import { tokenBalancesHaveChanged } from "../token/tokenBalances.ts";
import { DEFAULT_SPLIT, FEE, LEASE_DURATION, VERSION_ROOT, deployProtocol } from "./protocolFixture.ts";

const { viem, networkHelpers } = await network.create();

const ARTIFACTS = { adapterCid: "bafy-adapter", evaluationCid: "bafy-eval", attributionIndexCid: "bafy-attribution" };
const JOB_OPEN = 1;
const JOB_COMPLETED = 2;
const JOB_REFUNDED = 3;
const JOB_CANCELLED = 4;
const JOB_SUBMITTED = 5;
const JOB_DISPUTED = 6;
const DISPUTE_WINDOW = 3n * 24n * 3600n;
const MAX_RENEWALS = 24;

const protocol = () => deployProtocol(viem);

async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

async function jobRequest(overrides: Partial<{ datanetId: bigint; datanetVersion: number; baseModelId: bigint; hyperParamsCid: string; fee: bigint; deadline: bigint }> = {}) {
  return { datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: FEE, deadline: (await now()) + 10n * LEASE_DURATION, ...overrides };
}

async function withJob() {
  const fixture = await deployProtocol(viem);
  const request = await jobRequest();
  await fixture.models.write.createJob([request], { account: fixture.requester.account });
  return { ...fixture, request };
}

async function withClaimedJob() {
  const fixture = await withJob();
  await fixture.models.write.claimJob([1n], { account: fixture.nodeA.account });
  return fixture;
}

async function withModel() {
  const fixture = await withClaimedJob();
  await fixture.models.write.submitResult([1n, ARTIFACTS], { account: fixture.nodeA.account });
  return fixture;
}

describe("ModelRegistry", () => {
  describe("deployment", () => {
    it("refuses a zero lease duration and an invalid default split", async () => {
      const [governance] = await viem.getWalletClients();
      const models = await viem.deployContract("ModelRegistry", [zeroAddress, zeroAddress, zeroAddress, governance.account.address, 1n, DEFAULT_SPLIT]);
      await assert.rejects(
        viem.deployContract("ModelRegistry", [zeroAddress, zeroAddress, zeroAddress, governance.account.address, 0n, DEFAULT_SPLIT]),
        /ZeroLeaseDuration/,
      );
      await assert.rejects(
        viem.deployContract("ModelRegistry", [zeroAddress, zeroAddress, zeroAddress, governance.account.address, 1n, { ...DEFAULT_SPLIT, nodeBps: 1 }]),
        /InvalidRevenueSplit/,
      );
      assert.deepEqual(await models.read.defaultRevenueSplit(), [DEFAULT_SPLIT.ownerBps, DEFAULT_SPLIT.contributorBps, DEFAULT_SPLIT.nodeBps]);
    });
  });

  describe("base models", () => {
    it("registers and deprecates base models, governance only", async () => {
      const { models, stranger } = await networkHelpers.loadFixture(protocol);
      await viem.assertions.emitWithArgs(models.write.registerBaseModel(["m2", "bafy-m2", "MIT"]), models, "BaseModelRegistered", [2n, "m2", "bafy-m2", "MIT"]);
      assert.equal(await models.read.baseModelCount(), 2n);
      assert.deepEqual(await models.read.getBaseModel([2n]), { name: "m2", manifestCid: "bafy-m2", licence: "MIT", deprecated: false });
      await viem.assertions.emitWithArgs(models.write.deprecateBaseModel([2n]), models, "BaseModelDeprecated", [2n]);
      assert.equal((await models.read.getBaseModel([2n])).deprecated, true);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.deprecateBaseModel([2n]), models, "BaseModelIsDeprecated", [2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.deprecateBaseModel([3n]), models, "BaseModelNotFound", [3n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.getBaseModel([0n]), models, "BaseModelNotFound", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        models.write.registerBaseModel(["x", "y", "z"], { account: stranger.account }), models, "OwnableUnauthorizedAccount", [stranger.account.address],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.deprecateBaseModel([1n], { account: stranger.account }), models, "OwnableUnauthorizedAccount", [stranger.account.address]);
    });

    it("rejects empty base model fields", async () => {
      const { models } = await networkHelpers.loadFixture(protocol);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.registerBaseModel(["", "c", "l"]), models, "EmptyField", ["name"]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.registerBaseModel(["n", "", "l"]), models, "EmptyField", ["manifestCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.registerBaseModel(["n", "c", ""]), models, "EmptyField", ["licence"]);
    });
  });

  describe("creating jobs", () => {
    it("escrows the fee and records the job", async () => {
      const { models, token, requester, publicClient } = await networkHelpers.loadFixture(protocol);
      const request = await jobRequest();
      await viem.assertions.emitWithArgs(models.write.createJob([request], { account: requester.account }), models, "JobCreated", [
        1n, requester.account.address, 1n, 1, 1n, "bafy-hparams", FEE, request.deadline,
      ]);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.createJob([request], { account: requester.account }), [
        { address: requester.account.address, amount: -FEE },
        { address: models.address, amount: FEE },
      ]);
      const job = await models.read.getJob([1n]);
      assert.equal(job.requester.toLowerCase(), requester.account.address);
      assert.equal(job.status, JOB_OPEN);
      assert.equal(job.fee, FEE);
      assert.equal(job.leaseHolder, zeroAddress);
      assert.equal(await models.read.jobCount(), 2n);
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.getJob([3n]), models, "JobNotFound", [3n]);
    });

    it("rejects jobs on unpublished versions, unusable base models and bad terms", async () => {
      const { models, datanets, requester } = await networkHelpers.loadFixture(protocol);
      const as = { account: requester.account };
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest({ datanetVersion: 0 })], as), models, "DatanetVersionNotPublished", [1n, 0, 1]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest({ datanetVersion: 2 })], as), models, "DatanetVersionNotPublished", [1n, 2, 1]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest({ datanetId: 9n })], as), datanets, "DatanetNotFound", [9n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest({ baseModelId: 2n })], as), models, "BaseModelNotFound", [2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest({ hyperParamsCid: "" })], as), models, "EmptyField", ["hyperParamsCid"]);
      await viem.assertions.revertWithCustomError(models.write.createJob([await jobRequest({ fee: 0n })], as), models, "ZeroFee");
      const past = await now();
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest({ deadline: past })], as), models, "DeadlineNotInFuture", [past, anyValue]);
      await models.write.deprecateBaseModel([1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.createJob([await jobRequest()], as), models, "BaseModelIsDeprecated", [1n]);
    });
  });

  describe("leases", () => {
    it("leases an open job to an active node, capped at the deadline", async () => {
      const { models, nodeA } = await networkHelpers.loadFixture(withJob);
      await viem.assertions.emitWithArgs(models.write.claimJob([1n], { account: nodeA.account }), models, "JobClaimed", [
        1n, nodeA.account.address, zeroAddress, anyValue,
      ]);
      const job = await models.read.getJob([1n]);
      assert.equal(job.leaseHolder.toLowerCase(), nodeA.account.address);
      assert.equal(job.leaseExpiresAt, (await now()) + LEASE_DURATION);
    });

    it("caps a lease at the deadline", async () => {
      const { models, requester, nodeA } = await networkHelpers.loadFixture(protocol);
      const deadline = (await now()) + LEASE_DURATION / 2n;
      await models.write.createJob([await jobRequest({ deadline })], { account: requester.account });
      await models.write.claimJob([1n], { account: nodeA.account });
      assert.equal((await models.read.getJob([1n])).leaseExpiresAt, deadline);
    });

    it("refuses a claim from an inactive node, on a live lease, after the deadline or on an unknown job", async () => {
      const { models, nodes, nodeA, nodeB, stranger, request } = await networkHelpers.loadFixture(withClaimedJob);
      const expiresAt = (await models.read.getJob([1n])).leaseExpiresAt;
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: stranger.account }), models, "NodeNotActive", [stranger.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: nodeB.account }), models, "JobLeased", [1n, nodeA.account.address, expiresAt]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: nodeA.account }), models, "JobLeased", [1n, nodeA.account.address, expiresAt]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([2n], { account: nodeA.account }), models, "JobNotFound", [2n]);
      await nodes.write.beginUnbonding({ account: nodeB.account });
      await networkHelpers.time.increaseTo(expiresAt);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: nodeB.account }), models, "NodeNotActive", [nodeB.account.address]);
      await networkHelpers.time.increaseTo(request.deadline);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: nodeA.account }), models, "DeadlinePassed", [1n, request.deadline]);
    });

    it("lets another active node take over an expired lease", async () => {
      const { models, nodeA, nodeB } = await networkHelpers.loadFixture(withClaimedJob);
      await networkHelpers.time.increase(LEASE_DURATION);
      await viem.assertions.emitWithArgs(models.write.claimJob([1n], { account: nodeB.account }), models, "JobClaimed", [
        1n, nodeB.account.address, nodeA.account.address, anyValue,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        models.write.submitResult([1n, ARTIFACTS], { account: nodeA.account }), models, "NotLeaseHolder", [1n, nodeA.account.address, nodeB.account.address],
      );
    });

    it("extends the holder's lease on heartbeat", async () => {
      const { models, nodes, nodeA, nodeB } = await networkHelpers.loadFixture(withClaimedJob);
      await networkHelpers.time.increase(LEASE_DURATION / 2n);
      await viem.assertions.emitWithArgs(models.write.extendLease([1n], { account: nodeA.account }), models, "LeaseExtended", [1n, nodeA.account.address, anyValue]);
      assert.equal((await models.read.getJob([1n])).leaseExpiresAt, (await now()) + LEASE_DURATION);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.extendLease([1n], { account: nodeB.account }), models, "NotLeaseHolder", [1n, nodeB.account.address, nodeA.account.address]);
      await nodes.write.beginUnbonding({ account: nodeA.account });
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.extendLease([1n], { account: nodeA.account }), models, "NodeNotActive", [nodeA.account.address]);
      const expiresAt = (await models.read.getJob([1n])).leaseExpiresAt;
      await networkHelpers.time.increaseTo(expiresAt);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.extendLease([1n], { account: nodeA.account }), models, "LeaseExpired", [1n, expiresAt]);
    });
  });

  describe("results", () => {
    it("mints the model to the requester with its provenance and holds the fee", async () => {
      const { models, token, requester, nodeA, publicClient } = await networkHelpers.loadFixture(withClaimedJob);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.submitResult([1n, ARTIFACTS], { account: nodeA.account }), [
        { address: nodeA.account.address, amount: 0n },
        { address: models.address, amount: 0n },
        { address: requester.account.address, amount: 0n },
      ]);
      assert.equal((await models.read.ownerOf([1n])).toLowerCase(), requester.account.address);
      assert.equal(await models.read.modelCount(), 1n);
      const provenance = await models.read.getProvenance([1n]);
      assert.equal(provenance.jobId, 1n);
      assert.equal(provenance.baseModelId, 1n);
      assert.equal(provenance.datanetId, 1n);
      assert.equal(provenance.datanetVersion, 1);
      assert.equal(provenance.datanetRoot, VERSION_ROOT);
      assert.equal(provenance.trainer.toLowerCase(), nodeA.account.address);
      assert.equal(provenance.hyperParamsCid, "bafy-hparams");
      assert.deepEqual(provenance.artifacts, ARTIFACTS);
      const job = await models.read.getJob([1n]);
      assert.equal(job.status, JOB_SUBMITTED);
      assert.equal(job.modelId, 1n);
      assert.equal(job.payableAt, (await now()) + DISPUTE_WINDOW);
      assert.deepEqual(await models.read.modelTerms([1n]), [
        getAddress(requester.account.address), 1n, 0n, DEFAULT_SPLIT.ownerBps, DEFAULT_SPLIT.contributorBps, DEFAULT_SPLIT.nodeBps,
      ]);
    });

    it("emits the result and the minted model's provenance", async () => {
      const { models, requester, nodeA } = await networkHelpers.loadFixture(withClaimedJob);
      const hash = models.write.submitResult([1n, ARTIFACTS], { account: nodeA.account });
      await viem.assertions.emitWithArgs(hash, models, "JobResultSubmitted", [1n, 1n, nodeA.account.address, FEE, (await now()) + 1n + DISPUTE_WINDOW]);
      await viem.assertions.emitWithArgs(Promise.resolve(await hash), models, "ModelTermsInitialized", [1n, 1n, DEFAULT_SPLIT]);
      await viem.assertions.emitWithArgs(Promise.resolve(await hash), models, "ModelMinted", [
        1n, requester.account.address, 1n, 1n, 1n, 1, VERSION_ROOT, nodeA.account.address, ARTIFACTS,
      ]);
    });

    it("pays a job out at most once", async () => {
      const { models, nodeA } = await networkHelpers.loadFixture(withModel);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, ARTIFACTS], { account: nodeA.account }), models, "JobNotOpen", [1n, JOB_SUBMITTED]);
      await networkHelpers.time.increase(DISPUTE_WINDOW);
      await models.write.releaseJobPayment([1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.releaseJobPayment([1n]), models, "JobNotSubmitted", [1n, JOB_COMPLETED]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.refundExpiredJob([1n]), models, "JobNotOpen", [1n, JOB_COMPLETED]);
    });

    it("rejects results with missing artifacts, from non-holders, from inactive holders and after the lease", async () => {
      const { models, nodes, nodeA, nodeB } = await networkHelpers.loadFixture(withClaimedJob);
      const as = { account: nodeA.account };
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, { ...ARTIFACTS, adapterCid: "" }], as), models, "EmptyField", ["adapterCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, { ...ARTIFACTS, evaluationCid: "" }], as), models, "EmptyField", ["evaluationCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, { ...ARTIFACTS, attributionIndexCid: "" }], as), models, "EmptyField", ["attributionIndexCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, ARTIFACTS], { account: nodeB.account }), models, "NotLeaseHolder", [1n, nodeB.account.address, nodeA.account.address]);
      await nodes.write.beginUnbonding(as);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, ARTIFACTS], as), models, "NodeNotActive", [nodeA.account.address]);
      const expiresAt = (await models.read.getJob([1n])).leaseExpiresAt;
      await networkHelpers.time.increaseTo(expiresAt);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.submitResult([1n, ARTIFACTS], as), models, "LeaseExpired", [1n, expiresAt]);
    });
  });

  describe("attacks (issue 7): only the node that served is paid, and requesters have recourse", () => {
    it("holds the fee through the dispute window, then anyone releases it to the node", async () => {
      const { models, token, nodeA, stranger, publicClient } = await networkHelpers.loadFixture(withModel);
      const payableAt = (await models.read.getJob([1n])).payableAt;
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.releaseJobPayment([1n]), models, "DisputeWindowOpen", [1n, payableAt]);
      await networkHelpers.time.increaseTo(payableAt);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.releaseJobPayment([1n], { account: stranger.account }), [
        { address: nodeA.account.address, amount: FEE },
        { address: models.address, amount: -FEE },
      ]);
      assert.equal((await models.read.getJob([1n])).status, JOB_COMPLETED);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.releaseJobPayment([2n]), models, "JobNotFound", [2n]);
    });

    it("lets the requester dispute a junk result: upheld refunds it, and the node is not paid", async () => {
      const { models, token, requester, nodeA, governance, stranger, publicClient } = await networkHelpers.loadFixture(withModel);
      const payableAt = (await models.read.getJob([1n])).payableAt;
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.disputeJobResult([1n, "bafy-why"], { account: stranger.account }), models, "NotRequester", [1n, stranger.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.disputeJobResult([1n, ""], { account: requester.account }), models, "EmptyField", ["reasonCid"]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.resolveJobDispute([1n, true]), models, "JobNotDisputed", [1n, JOB_SUBMITTED]);
      await viem.assertions.emitWithArgs(models.write.disputeJobResult([1n, "bafy-why"], { account: requester.account }), models, "JobResultDisputed", [1n, requester.account.address, "bafy-why"]);
      await networkHelpers.time.increaseTo(payableAt);
      // A dispute holds the fee past the window until the arbiter (governance at deployment) rules.
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.releaseJobPayment([1n]), models, "JobNotSubmitted", [1n, JOB_DISPUTED]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.resolveJobDispute([1n, true], { account: stranger.account }), models, "NotJobArbiter", [stranger.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.resolveJobDispute([9n, true]), models, "JobNotFound", [9n]);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.resolveJobDispute([1n, true], { account: governance.account }), [
        { address: requester.account.address, amount: FEE },
        { address: nodeA.account.address, amount: 0n },
        { address: models.address, amount: -FEE },
      ]);
      assert.equal((await models.read.getJob([1n])).status, JOB_REFUNDED);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.resolveJobDispute([1n, false]), models, "JobNotDisputed", [1n, JOB_REFUNDED]);
    });

    it("pays the node when the arbiter dismisses the dispute, and refuses disputes after the window", async () => {
      const { models, token, requester, nodeA, governance, stranger, publicClient } = await networkHelpers.loadFixture(withModel);
      await models.write.disputeJobResult([1n, "bafy-why"], { account: requester.account });
      await viem.assertions.emitWithArgs(models.write.setJobArbiter([stranger.account.address], { account: governance.account }), models, "JobArbiterSet", [stranger.account.address]);
      await viem.assertions.revertWithCustomError(models.write.setJobArbiter([zeroAddress], { account: governance.account }), models, "ZeroJobArbiter");
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setJobArbiter([nodeA.account.address], { account: stranger.account }), models, "OwnableUnauthorizedAccount", [stranger.account.address]);
      const ruling = models.write.resolveJobDispute([1n, false], { account: stranger.account });
      await viem.assertions.emitWithArgs(ruling, models, "JobDisputeResolved", [1n, false]);
      await viem.assertions.emitWithArgs(Promise.resolve(await ruling), models, "JobCompleted", [1n, 1n, nodeA.account.address, FEE]);
      assert.equal(await token.read.balanceOf([models.address]), 0n);
      // A second job, disputed too late.
      await models.write.createJob([await jobRequest()], { account: requester.account });
      await models.write.claimJob([2n], { account: nodeA.account });
      await viem.assertions.emitWithArgs(models.write.setJobDisputeWindow([60n], { account: governance.account }), models, "JobDisputeWindowSet", [60n]);
      await models.write.submitResult([2n, ARTIFACTS], { account: nodeA.account });
      const payableAt = (await models.read.getJob([2n])).payableAt;
      assert.equal(payableAt, (await now()) + 60n);
      await networkHelpers.time.increaseTo(payableAt);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.disputeJobResult([2n, "late"], { account: requester.account }), models, "DisputeWindowClosed", [2n, payableAt]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.disputeJobResult([3n, "x"], { account: requester.account }), models, "JobNotFound", [3n]);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.releaseJobPayment([2n]), [{ address: nodeA.account.address, amount: FEE }]);
    });

    it("bounds lease renewals, so a node cannot sit on a job until its deadline", async () => {
      const { models, requester, nodeA, nodeB, governance, stranger } = await networkHelpers.loadFixture(protocol);
      const deadline = (await now()) + 100n * LEASE_DURATION;
      await models.write.createJob([await jobRequest({ deadline })], { account: requester.account });
      await models.write.claimJob([1n], { account: nodeA.account });
      for (let i = 0; i < MAX_RENEWALS; i++) await models.write.extendLease([1n], { account: nodeA.account });
      assert.equal((await models.read.getJob([1n])).leaseRenewals, MAX_RENEWALS);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.extendLease([1n], { account: nodeA.account }), models, "LeaseRenewalsExhausted", [1n, nodeA.account.address, MAX_RENEWALS]);
      await networkHelpers.time.increase(LEASE_DURATION);
      // Letting the lease lapse and claiming again is a renewal too.
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: nodeA.account }), models, "LeaseRenewalsExhausted", [1n, nodeA.account.address, MAX_RENEWALS]);
      await models.write.claimJob([1n], { account: nodeB.account });
      assert.equal((await models.read.getJob([1n])).leaseRenewals, 0);
      await viem.assertions.emitWithArgs(models.write.setMaxLeaseRenewals([1], { account: governance.account }), models, "MaxLeaseRenewalsSet", [1]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setMaxLeaseRenewals([5], { account: stranger.account }), models, "OwnableUnauthorizedAccount", [stranger.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setJobDisputeWindow([5n], { account: stranger.account }), models, "OwnableUnauthorizedAccount", [stranger.account.address]);
      await networkHelpers.time.increase(LEASE_DURATION);
      await models.write.claimJob([1n], { account: nodeB.account });
      assert.equal((await models.read.getJob([1n])).leaseRenewals, 1);
    });
  });

  describe("refunds and cancellation", () => {
    it("refunds the requester after the deadline, exactly once, whoever calls", async () => {
      const { models, token, requester, stranger, request, publicClient } = await networkHelpers.loadFixture(withClaimedJob);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.refundExpiredJob([1n]), models, "DeadlineNotReached", [1n, request.deadline]);
      await networkHelpers.time.increaseTo(request.deadline);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.refundExpiredJob([1n], { account: stranger.account }), [
        { address: requester.account.address, amount: FEE },
        { address: models.address, amount: -FEE },
        { address: stranger.account.address, amount: 0n },
      ]);
      assert.equal((await models.read.getJob([1n])).status, JOB_REFUNDED);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.refundExpiredJob([1n]), models, "JobNotOpen", [1n, JOB_REFUNDED]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.refundExpiredJob([7n]), models, "JobNotFound", [7n]);
    });

    it("emits the refund", async () => {
      const { models, requester, request } = await networkHelpers.loadFixture(withJob);
      await networkHelpers.time.increaseTo(request.deadline);
      await viem.assertions.emitWithArgs(models.write.refundExpiredJob([1n]), models, "JobRefunded", [1n, requester.account.address, FEE]);
    });

    it("lets the requester cancel an unclaimed job", async () => {
      const { models, token, requester, nodeA, publicClient } = await networkHelpers.loadFixture(withJob);
      await tokenBalancesHaveChanged(publicClient, token, () => models.write.cancelJob([1n], { account: requester.account }), [
        { address: requester.account.address, amount: FEE },
        { address: models.address, amount: -FEE },
      ]);
      assert.equal((await models.read.getJob([1n])).status, JOB_CANCELLED);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.claimJob([1n], { account: nodeA.account }), models, "JobNotOpen", [1n, JOB_CANCELLED]);
    });

    it("refuses to cancel for others or under a live lease, and allows it once the lease expired", async () => {
      const { models, requester, nodeA, stranger } = await networkHelpers.loadFixture(withClaimedJob);
      const expiresAt = (await models.read.getJob([1n])).leaseExpiresAt;
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.cancelJob([1n], { account: stranger.account }), models, "NotRequester", [1n, stranger.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.cancelJob([1n], { account: requester.account }), models, "JobLeased", [1n, nodeA.account.address, expiresAt]);
      await networkHelpers.time.increaseTo(expiresAt);
      await viem.assertions.emitWithArgs(models.write.cancelJob([1n], { account: requester.account }), models, "JobCancelled", [1n, requester.account.address, FEE]);
    });
  });

  describe("model terms", () => {
    it("lets the model owner set price and split, and follows the token to a new owner", async () => {
      const { models, requester, stranger } = await networkHelpers.loadFixture(withModel);
      const as = { account: requester.account };
      await viem.assertions.emitWithArgs(models.write.setModelPrice([1n, 123n], as), models, "ModelPriceSet", [1n, 2n, 123n]);
      const split = { ownerBps: 1000, contributorBps: 8000, nodeBps: 1000 };
      await viem.assertions.emitWithArgs(models.write.setRevenueSplit([1n, split], as), models, "RevenueSplitSet", [1n, 3n, split]);
      const [owner, version, price, ownerBps, contributorBps, nodeBps] = await models.read.modelTerms([1n]);
      assert.equal(owner.toLowerCase(), requester.account.address);
      assert.deepEqual([version, price, ownerBps, contributorBps, nodeBps], [3n, 123n, 1000, 8000, 1000]);

      await models.write.transferFrom([requester.account.address, stranger.account.address, 1n], as);
      assert.equal((await models.read.modelTerms([1n]))[0].toLowerCase(), stranger.account.address);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setModelPrice([1n, 1n], as), models, "NotModelOwner", [1n, requester.account.address]);
    });

    it("keeps every terms version as it was: each change makes a new version and supersedes the last", async () => {
      const { models, requester } = await networkHelpers.loadFixture(withModel);
      const as = { account: requester.account };
      const owner = getAddress(requester.account.address);
      const { ownerBps, contributorBps, nodeBps } = DEFAULT_SPLIT;
      assert.deepEqual(await models.read.modelTermsAt([1n, 1n]), [owner, 0n, ownerBps, contributorBps, nodeBps, 0n]);
      await models.write.setModelPrice([1n, 50n], as);
      const priceChangedAt = await now();
      await models.write.setRevenueSplit([1n, { ownerBps: 10_000, contributorBps: 0, nodeBps: 0 }], as);
      const splitChangedAt = await now();
      assert.deepEqual(await models.read.modelTermsAt([1n, 1n]), [owner, 0n, ownerBps, contributorBps, nodeBps, priceChangedAt]);
      assert.deepEqual(await models.read.modelTermsAt([1n, 2n]), [owner, 50n, ownerBps, contributorBps, nodeBps, splitChangedAt]);
      assert.deepEqual(await models.read.modelTermsAt([1n, 3n]), [owner, 50n, 10_000, 0, 0, 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.modelTermsAt([1n, 4n]), models, "TermsVersionNotFound", [1n, 4n, 3n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.modelTermsAt([1n, 0n]), models, "TermsVersionNotFound", [1n, 0n, 3n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.modelTermsAt([2n, 1n]), models, "ERC721NonexistentToken", [2n]);
    });

    it("rejects splits that do not sum to 10,000 and unknown models", async () => {
      const { models, requester, governance } = await networkHelpers.loadFixture(withModel);
      const as = { account: requester.account };
      await viem.assertions.revertWithCustomErrorWithArgs(
        models.write.setRevenueSplit([1n, { ownerBps: 5000, contributorBps: 5000, nodeBps: 1 }], as), models, "InvalidRevenueSplit", [5000, 5000, 1],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        models.write.setRevenueSplit([1n, { ownerBps: 65535, contributorBps: 65535, nodeBps: 0 }], as), models, "InvalidRevenueSplit", [65535, 65535, 0],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        models.write.setRevenueSplit([1n, DEFAULT_SPLIT], { account: governance.account }), models, "NotModelOwner", [1n, governance.account.address],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.modelTerms([2n]), models, "ERC721NonexistentToken", [2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.read.getProvenance([2n]), models, "ERC721NonexistentToken", [2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setModelPrice([2n, 1n], as), models, "ERC721NonexistentToken", [2n]);
    });

    it("lets governance change the split new models start with", async () => {
      const { models, nodeA, stranger } = await networkHelpers.loadFixture(withClaimedJob);
      const split = { ownerBps: 0, contributorBps: 10000, nodeBps: 0 };
      await viem.assertions.emitWithArgs(models.write.setDefaultRevenueSplit([split]), models, "DefaultRevenueSplitSet", [split]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setDefaultRevenueSplit([{ ...split, nodeBps: 1 }]), models, "InvalidRevenueSplit", [0, 10000, 1]);
      await viem.assertions.revertWithCustomErrorWithArgs(models.write.setDefaultRevenueSplit([split], { account: stranger.account }), models, "OwnableUnauthorizedAccount", [stranger.account.address]);
      await models.write.submitResult([1n, ARTIFACTS], { account: nodeA.account });
      const [, , , ownerBps, contributorBps, nodeBps] = await models.read.modelTerms([1n]);
      assert.deepEqual([ownerBps, contributorBps, nodeBps], [0, 10000, 0]);
    });
  });
});
