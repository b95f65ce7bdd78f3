// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {BaseModelCatalog} from "./BaseModelCatalog.sol";

/// @title ModelRegistry
/// @notice ModelFactory on-chain: training jobs escrow a fee; an active node claims a job under a lease
/// (so a dead node's job is taken over by another), and submitting the result before the deadline mints a
/// Model (ERC-721) to the requester with full provenance. The fee is held for `jobDisputeWindow` after the
/// result: the requester may dispute it in that window, and the job arbiter then rules (upheld: the fee goes
/// back to the requester; rejected: the node is paid); undisputed, anyone releases the fee to the node once the
/// window has passed. A lease can be renewed (or re-claimed by the same node) at most `maxLeaseRenewals`
/// times, so one node cannot sit on a job until its deadline. A job nobody finishes is refunded to its
/// requester after the deadline. Model owners set their price and revenue split, which the settlement contract
/// reads through `IModelRegistry.modelTerms` and `modelTermsAt`. Terms are versioned: each change makes a new
/// version and leaves the old ones as they were, so a payment signed against a version is split by that
/// version even if the owner changes the terms before it settles.
/// @dev Escrow invariant: this contract's payment-token balance equals the fees of `Open`, `Submitted` and
/// `Disputed` jobs. Each job's fee moves exactly once, when the job becomes Completed, Refunded or Cancelled.
contract ModelRegistry is IModelRegistry, ERC721, BaseModelCatalog, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis points in a whole revenue split.
    uint16 public constant TOTAL_BPS = 10_000;

    /// @notice Lifecycle of a training job; `None` means no such job.
    enum JobStatus {
        None,
        Open,
        Completed,
        Refunded,
        Cancelled,
        Submitted,
        Disputed
    }

    /// @notice What a requester asks for when creating a job.
    /// @param datanetId Datanet to train on.
    /// @param datanetVersion Published version of that Datanet (1..versionCount).
    /// @param baseModelId Registered, non-deprecated base model to fine-tune.
    /// @param hyperParamsCid IPFS CID of the hyper-parameters (LoRA rank, steps, ...).
    /// @param fee Payment-token amount escrowed and paid to the node that delivers.
    /// @param deadline Timestamp after which an unfinished job is refundable.
    struct JobRequest {
        uint256 datanetId;
        uint32 datanetVersion;
        uint256 baseModelId;
        string hyperParamsCid;
        uint256 fee;
        uint64 deadline;
    }

    /// @notice A training job.
    /// @param leaseHolder Node holding (or that last held) the lease; zero when never claimed.
    /// @param leaseExpiresAt The lease is live while `block.timestamp < leaseExpiresAt`.
    /// @param leaseRenewals Renewals (extensions and re-claims) the current lease holder has used.
    /// @param modelId The minted model once a result is submitted, else 0.
    /// @param payableAt When an undisputed result's fee may be released to the node (0 before a result).
    struct TrainingJob {
        address requester;
        JobStatus status;
        uint64 deadline;
        address leaseHolder;
        uint64 leaseExpiresAt;
        uint16 leaseRenewals;
        uint256 datanetId;
        uint32 datanetVersion;
        uint256 baseModelId;
        uint256 fee;
        uint256 modelId;
        uint64 payableAt;
        string hyperParamsCid;
    }

    /// @notice The IPFS artifacts a node submits for a finished job.
    /// @param adapterCid LoRA adapter folder in PEFT layout.
    /// @param evaluationCid Evaluation report (adapter against base model on held-out data).
    /// @param attributionIndexCid Attribution index (span index and gradient sketches) for Proof of Attribution.
    struct Artifacts {
        string adapterCid;
        string evaluationCid;
        string attributionIndexCid;
    }

    /// @notice Where a model came from: enough to rebuild and check it from public data.
    struct Provenance {
        uint256 jobId;
        uint256 baseModelId;
        uint256 datanetId;
        uint32 datanetVersion;
        bytes32 datanetRoot;
        address trainer;
        string hyperParamsCid;
        Artifacts artifacts;
    }

    /// @notice How a model's revenue (after the protocol fee) is split; the three sum to `TOTAL_BPS`.
    struct RevenueSplit {
        uint16 ownerBps;
        uint16 contributorBps;
        uint16 nodeBps;
    }

    /// @notice One version of a model's commercial terms.
    /// @param supersededAt When the next version replaced it; 0 while it is the current version.
    struct Terms {
        uint256 pricePer1kTokens;
        RevenueSplit split;
        uint64 supersededAt;
    }

    /// @notice The ERC-20 fees are escrowed in.
    IERC20 public immutable paymentToken;
    /// @notice Where Datanet versions are checked and their roots read.
    IDatanetRegistry public immutable datanets;
    /// @notice Where node activity is checked.
    INodeRegistry public immutable nodes;
    /// @notice Seconds a claim or heartbeat keeps a lease live (capped at the job's deadline).
    uint64 public immutable leaseDuration;
    /// @notice Split a newly minted model starts with.
    RevenueSplit public defaultRevenueSplit;
    /// @notice Renewals (lease extensions, or re-claims by the same node) one lease holder may make per job.
    uint16 public maxLeaseRenewals = 24;
    /// @notice Seconds a submitted result's fee is held so the requester can dispute it.
    uint64 public jobDisputeWindow = 3 days;
    /// @notice Rules on disputed job results (governance at deployment; may become a verification contract).
    address public jobArbiter;

    uint256 private _lastJobId;
    uint256 private _lastModelId;
    mapping(uint256 jobId => TrainingJob) private _jobs;
    mapping(uint256 modelId => Provenance) private _provenance;
    mapping(uint256 modelId => uint64) private _termsVersions;
    mapping(uint256 modelId => mapping(uint64 termsVersion => Terms)) private _terms;

    /// @notice A job was created and its fee escrowed from `requester`.
    /// @param jobId The new job.
    /// @param requester Who pays and receives the model.
    /// @param datanetId Datanet to train on.
    /// @param datanetVersion Its published version.
    /// @param baseModelId Base model to fine-tune.
    /// @param hyperParamsCid IPFS CID of the hyper-parameters.
    /// @param fee Escrowed fee.
    /// @param deadline Refundable from this timestamp on when unfinished.
    event JobCreated(
        uint256 indexed jobId,
        address indexed requester,
        uint256 indexed datanetId,
        uint32 datanetVersion,
        uint256 baseModelId,
        string hyperParamsCid,
        uint256 fee,
        uint64 deadline
    );
    /// @notice A node claimed a job, or took it over when the previous holder's lease had expired.
    /// @param jobId The job.
    /// @param node The new lease holder.
    /// @param previousHolder The node whose lease expired, or zero on a first claim.
    /// @param leaseExpiresAt End of the new lease.
    event JobClaimed(uint256 indexed jobId, address indexed node, address indexed previousHolder, uint64 leaseExpiresAt);
    /// @notice The lease holder extended its lease.
    /// @param jobId The job.
    /// @param node The lease holder.
    /// @param leaseExpiresAt New end of the lease.
    event LeaseExtended(uint256 indexed jobId, address indexed node, uint64 leaseExpiresAt);
    /// @notice A node delivered a result: the model was minted and the fee is held until `payableAt`.
    /// @param jobId The job.
    /// @param modelId The minted model.
    /// @param node The node that trained it, to be paid.
    /// @param fee Amount held.
    /// @param payableAt From when the fee can be released if the requester has not disputed the result.
    event JobResultSubmitted(
        uint256 indexed jobId, uint256 indexed modelId, address indexed node, uint256 fee, uint64 payableAt
    );
    /// @notice The requester disputed a job's result; the fee waits for the job arbiter's ruling.
    /// @param jobId The job.
    /// @param requester Who disputed.
    /// @param reasonCid IPFS CID of the requester's evidence (e.g. a re-run of the evaluation).
    event JobResultDisputed(uint256 indexed jobId, address indexed requester, string reasonCid);
    /// @notice The job arbiter ruled on a disputed result.
    /// @param jobId The job.
    /// @param upheld True: the result was bad and the fee went back to the requester; false: the node was paid.
    event JobDisputeResolved(uint256 indexed jobId, bool upheld);
    /// @notice A job's fee was paid to the node that delivered it.
    /// @param jobId The job.
    /// @param modelId The minted model.
    /// @param node The node paid.
    /// @param fee Amount paid.
    event JobCompleted(uint256 indexed jobId, uint256 indexed modelId, address indexed node, uint256 fee);
    /// @notice Governance set the lease renewal bound.
    /// @param maxRenewals Renewals one lease holder may make per job.
    event MaxLeaseRenewalsSet(uint16 maxRenewals);
    /// @notice Governance set the job dispute window.
    /// @param window Seconds a result's fee is held.
    event JobDisputeWindowSet(uint64 window);
    /// @notice Governance appointed the job arbiter.
    /// @param arbiter The new arbiter.
    event JobArbiterSet(address indexed arbiter);
    /// @notice The fee went back to the requester: the deadline passed without a result, or the arbiter upheld
    /// the requester's dispute of the result.
    /// @param jobId The job.
    /// @param requester Who was refunded.
    /// @param fee Amount refunded.
    event JobRefunded(uint256 indexed jobId, address indexed requester, uint256 fee);
    /// @notice The requester cancelled a job no node held and got the fee back.
    /// @param jobId The job.
    /// @param requester Who was refunded.
    /// @param fee Amount refunded.
    event JobCancelled(uint256 indexed jobId, address indexed requester, uint256 fee);
    /// @notice A model was minted with its provenance.
    /// @param modelId The model (token id).
    /// @param owner The requester, who receives the token.
    /// @param jobId The job that produced it.
    /// @param baseModelId The base model fine-tuned.
    /// @param datanetId The Datanet trained on.
    /// @param datanetVersion Its version.
    /// @param datanetRoot That version's Merkle root, read from the Datanet registry at submission.
    /// @param trainer The node that trained it.
    /// @param artifacts Adapter, evaluation and attribution-index CIDs.
    event ModelMinted(
        uint256 indexed modelId,
        address indexed owner,
        uint256 indexed jobId,
        uint256 baseModelId,
        uint256 datanetId,
        uint32 datanetVersion,
        bytes32 datanetRoot,
        address trainer,
        Artifacts artifacts
    );
    /// @notice The model owner set the price, which made a new terms version.
    /// @param modelId The model.
    /// @param termsVersion The new terms version.
    /// @param pricePer1kTokens Payment-token units per 1,000 generated tokens.
    event ModelPriceSet(uint256 indexed modelId, uint64 indexed termsVersion, uint256 pricePer1kTokens);
    /// @notice The model owner set the revenue split, which made a new terms version.
    /// @param modelId The model.
    /// @param termsVersion The new terms version.
    /// @param split The new split.
    event RevenueSplitSet(uint256 indexed modelId, uint64 indexed termsVersion, RevenueSplit split);
    /// @notice A minted model got its first terms (price 0, the default split).
    /// @param modelId The model.
    /// @param termsVersion Always 1.
    /// @param split The split it starts with.
    event ModelTermsInitialized(uint256 indexed modelId, uint64 indexed termsVersion, RevenueSplit split);
    /// @notice Governance set the split new models start with.
    /// @param split The new default split.
    event DefaultRevenueSplitSet(RevenueSplit split);

    /// @notice No job has id `jobId`.
    error JobNotFound(uint256 jobId);
    /// @notice Job `jobId` is `status`, not open.
    error JobNotOpen(uint256 jobId, JobStatus status);
    /// @notice Version `version` of Datanet `datanetId` is not published (`versionCount` are).
    error DatanetVersionNotPublished(uint256 datanetId, uint32 version, uint32 versionCount);
    /// @notice A job's fee was zero.
    error ZeroFee();
    /// @notice `deadline` is not after the current time `nowTimestamp`.
    error DeadlineNotInFuture(uint64 deadline, uint256 nowTimestamp);
    /// @notice `node` is not active in the NodeRegistry.
    error NodeNotActive(address node);
    /// @notice Job `jobId` is leased to `leaseHolder` until `leaseExpiresAt`.
    error JobLeased(uint256 jobId, address leaseHolder, uint64 leaseExpiresAt);
    /// @notice `account` does not hold the lease of job `jobId` (`leaseHolder` does).
    error NotLeaseHolder(uint256 jobId, address account, address leaseHolder);
    /// @notice The lease of job `jobId` expired at `leaseExpiresAt`.
    error LeaseExpired(uint256 jobId, uint64 leaseExpiresAt);
    /// @notice Job `jobId`'s deadline `deadline` has passed.
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    /// @notice Job `jobId` can be refunded only from `deadline` on.
    error DeadlineNotReached(uint256 jobId, uint64 deadline);
    /// @notice `account` is not the requester of job `jobId`.
    error NotRequester(uint256 jobId, address account);
    /// @notice `account` does not own model `modelId`.
    error NotModelOwner(uint256 modelId, address account);
    /// @notice The split does not sum to `TOTAL_BPS`.
    error InvalidRevenueSplit(uint16 ownerBps, uint16 contributorBps, uint16 nodeBps);
    /// @notice The lease duration must be positive.
    error ZeroLeaseDuration();
    /// @notice Model `modelId` has no terms version `termsVersion` (it has 1..`latestVersion`).
    error TermsVersionNotFound(uint256 modelId, uint64 termsVersion, uint64 latestVersion);
    /// @notice `node` has used all `maxRenewals` renewals of its lease on job `jobId`; another node may claim it.
    error LeaseRenewalsExhausted(uint256 jobId, address node, uint16 maxRenewals);
    /// @notice Job `jobId` is `status`, not a submitted result awaiting its payment.
    error JobNotSubmitted(uint256 jobId, JobStatus status);
    /// @notice Job `jobId` is `status`, not disputed.
    error JobNotDisputed(uint256 jobId, JobStatus status);
    /// @notice Job `jobId`'s result can be disputed only before `payableAt`.
    error DisputeWindowClosed(uint256 jobId, uint64 payableAt);
    /// @notice Job `jobId`'s fee can be released only from `payableAt`.
    error DisputeWindowOpen(uint256 jobId, uint64 payableAt);
    /// @notice `account` is not the job arbiter.
    error NotJobArbiter(address account);
    /// @notice The job arbiter cannot be the zero address.
    error ZeroJobArbiter();

    /// @notice Deploys the registry wired to its token, Datanet registry and node registry.
    /// @param paymentToken_ The ERC-20 fees are paid in (any standard ERC-20 without transfer fees).
    /// @param datanets_ The Datanet registry jobs train from.
    /// @param nodes_ The node registry claimers must be active in.
    /// @param governance Owner: registers and deprecates base models, sets the default split, the lease renewal
    /// bound, the job dispute window and the job arbiter (initially itself).
    /// @param leaseDuration_ Seconds a claim or heartbeat keeps a lease live.
    /// @param defaultSplit Split a newly minted model starts with.
    constructor(
        IERC20 paymentToken_,
        IDatanetRegistry datanets_,
        INodeRegistry nodes_,
        address governance,
        uint64 leaseDuration_,
        RevenueSplit memory defaultSplit
    ) ERC721("Tributary Model", "MODEL") Ownable(governance) {
        if (leaseDuration_ == 0) revert ZeroLeaseDuration();
        paymentToken = paymentToken_;
        datanets = datanets_;
        nodes = nodes_;
        leaseDuration = leaseDuration_;
        _setDefaultRevenueSplit(defaultSplit);
        jobArbiter = governance;
        emit JobArbiterSet(governance);
        emit MaxLeaseRenewalsSet(maxLeaseRenewals);
        emit JobDisputeWindowSet(jobDisputeWindow);
    }

    // ------------------------------------------------------------------ Jobs

    /// @notice Creates a training job and escrows its fee from the caller.
    /// @param request Datanet version, base model, hyper-parameters, fee and deadline.
    /// @return jobId The new job's id, counting from 1.
    /// @dev Needs an allowance of `request.fee`. Reverts with `DatanetVersionNotPublished` (or the Datanet
    /// registry's error for an unknown Datanet), `BaseModelNotFound`, `BaseModelIsDeprecated`, `EmptyField`,
    /// `ZeroFee` or `DeadlineNotInFuture`.
    function createJob(JobRequest calldata request) external nonReentrant returns (uint256 jobId) {
        uint32 published = datanets.versionCount(request.datanetId);
        if (request.datanetVersion == 0 || request.datanetVersion > published) {
            revert DatanetVersionNotPublished(request.datanetId, request.datanetVersion, published);
        }
        _requireUsableBaseModel(request.baseModelId);
        if (bytes(request.hyperParamsCid).length == 0) revert EmptyField("hyperParamsCid");
        if (request.fee == 0) revert ZeroFee();
        if (request.deadline <= block.timestamp) revert DeadlineNotInFuture(request.deadline, block.timestamp);

        jobId = ++_lastJobId;
        TrainingJob storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.status = JobStatus.Open;
        job.deadline = request.deadline;
        job.datanetId = request.datanetId;
        job.datanetVersion = request.datanetVersion;
        job.baseModelId = request.baseModelId;
        job.fee = request.fee;
        job.hyperParamsCid = request.hyperParamsCid;
        emit JobCreated(
            jobId,
            msg.sender,
            request.datanetId,
            request.datanetVersion,
            request.baseModelId,
            request.hyperParamsCid,
            request.fee,
            request.deadline
        );

        paymentToken.safeTransferFrom(msg.sender, address(this), request.fee);
    }

    /// @notice Claims an open job for the calling node, or takes it over when the holder's lease expired.
    /// @param jobId The job.
    /// @dev The lease lasts `leaseDuration`, capped at the deadline. The node whose lease just expired may claim
    /// again, but that counts as a renewal. Reverts with `JobNotFound`, `JobNotOpen`, `DeadlinePassed`,
    /// `NodeNotActive`, `JobLeased` (a live lease, the caller's own included: use `extendLease`) or
    /// `LeaseRenewalsExhausted`.
    function claimJob(uint256 jobId) external {
        TrainingJob storage job = _requireOpen(jobId);
        if (block.timestamp >= job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (!nodes.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        address previousHolder = job.leaseHolder;
        if (block.timestamp < job.leaseExpiresAt) revert JobLeased(jobId, previousHolder, job.leaseExpiresAt);

        uint64 expiresAt = _leaseEnd(job.deadline);
        job.leaseRenewals = msg.sender == previousHolder ? _nextRenewal(jobId, job) : 0;
        job.leaseHolder = msg.sender;
        job.leaseExpiresAt = expiresAt;
        emit JobClaimed(jobId, msg.sender, previousHolder, expiresAt);
    }

    /// @notice Heartbeat: the lease holder renews its lease for another `leaseDuration` (capped at the deadline).
    /// @param jobId The job.
    /// @dev At most `maxLeaseRenewals` times per lease holder. Reverts with `JobNotFound`, `JobNotOpen`,
    /// `NotLeaseHolder`, `LeaseExpired` (claim again instead), `NodeNotActive` or `LeaseRenewalsExhausted`.
    function extendLease(uint256 jobId) external {
        TrainingJob storage job = _requireLiveLease(jobId);
        if (!nodes.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        job.leaseRenewals = _nextRenewal(jobId, job);
        uint64 expiresAt = _leaseEnd(job.deadline);
        job.leaseExpiresAt = expiresAt;
        emit LeaseExtended(jobId, msg.sender, expiresAt);
    }

    /// @notice Delivers a job: mints the Model to the requester with its provenance and holds the fee for the
    /// node until `jobDisputeWindow` has passed (see `releaseJobPayment`, `disputeJobResult`).
    /// @param jobId The job.
    /// @param artifacts Adapter, evaluation report and attribution index CIDs; none may be empty.
    /// @return modelId The minted model's id, counting from 1.
    /// @dev Only the lease holder, while its lease is live (so before the deadline) and it is active. Reverts with
    /// `JobNotFound`, `JobNotOpen`, `NotLeaseHolder`, `LeaseExpired`, `NodeNotActive` or `EmptyField`.
    function submitResult(uint256 jobId, Artifacts calldata artifacts)
        external
        nonReentrant
        returns (uint256 modelId)
    {
        TrainingJob storage job = _requireLiveLease(jobId);
        if (!nodes.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        if (bytes(artifacts.adapterCid).length == 0) revert EmptyField("adapterCid");
        if (bytes(artifacts.evaluationCid).length == 0) revert EmptyField("evaluationCid");
        if (bytes(artifacts.attributionIndexCid).length == 0) revert EmptyField("attributionIndexCid");

        modelId = ++_lastModelId;
        uint64 payableAt = uint64(block.timestamp) + jobDisputeWindow;
        job.status = JobStatus.Submitted;
        job.modelId = modelId;
        job.payableAt = payableAt;
        _recordProvenance(modelId, jobId, job, artifacts);
        _initTerms(modelId);
        emit JobResultSubmitted(jobId, modelId, msg.sender, job.fee, payableAt);
        _mint(job.requester, modelId);
    }

    /// @notice The requester disputes a submitted result before its fee is released; the job arbiter rules.
    /// @param jobId The job.
    /// @param reasonCid IPFS CID of the requester's evidence; must not be empty.
    /// @dev Reverts with `JobNotFound`, `NotRequester`, `JobNotSubmitted`, `DisputeWindowClosed` or `EmptyField`.
    function disputeJobResult(uint256 jobId, string calldata reasonCid) external {
        TrainingJob storage job = _requireSubmitted(jobId);
        if (msg.sender != job.requester) revert NotRequester(jobId, msg.sender);
        if (block.timestamp >= job.payableAt) revert DisputeWindowClosed(jobId, job.payableAt);
        if (bytes(reasonCid).length == 0) revert EmptyField("reasonCid");
        job.status = JobStatus.Disputed;
        emit JobResultDisputed(jobId, msg.sender, reasonCid);
    }

    /// @notice The job arbiter rules on a disputed result: upheld refunds the requester, rejected pays the node.
    /// @param jobId The job.
    /// @param upheld True if the result is bad.
    /// @dev The model stays minted either way (its provenance records what was delivered). Reverts with
    /// `NotJobArbiter`, `JobNotFound` or `JobNotDisputed`.
    function resolveJobDispute(uint256 jobId, bool upheld) external nonReentrant {
        if (msg.sender != jobArbiter) revert NotJobArbiter(msg.sender);
        TrainingJob storage job = _jobs[jobId];
        JobStatus status = job.status;
        if (status == JobStatus.None) revert JobNotFound(jobId);
        if (status != JobStatus.Disputed) revert JobNotDisputed(jobId, status);
        emit JobDisputeResolved(jobId, upheld);
        if (upheld) {
            job.status = JobStatus.Refunded;
            address requester = job.requester;
            uint256 fee = job.fee;
            emit JobRefunded(jobId, requester, fee);
            paymentToken.safeTransfer(requester, fee);
        } else {
            _payNode(jobId, job);
        }
    }

    /// @notice Pays the node the fee of an undisputed result once the dispute window has passed; anyone may call.
    /// @param jobId The job.
    /// @dev Reverts with `JobNotFound`, `JobNotSubmitted` or `DisputeWindowOpen`.
    function releaseJobPayment(uint256 jobId) external nonReentrant {
        TrainingJob storage job = _requireSubmitted(jobId);
        if (block.timestamp < job.payableAt) revert DisputeWindowOpen(jobId, job.payableAt);
        _payNode(jobId, job);
    }

    /// @notice Refunds a job that reached its deadline without a result; anyone may call, the requester is paid.
    /// @param jobId The job.
    /// @dev Reverts with `JobNotFound`, `JobNotOpen` (already completed, refunded or cancelled) or
    /// `DeadlineNotReached`.
    function refundExpiredJob(uint256 jobId) external nonReentrant {
        TrainingJob storage job = _requireOpen(jobId);
        if (block.timestamp < job.deadline) revert DeadlineNotReached(jobId, job.deadline);
        job.status = JobStatus.Refunded;
        address requester = job.requester;
        uint256 fee = job.fee;
        emit JobRefunded(jobId, requester, fee);

        paymentToken.safeTransfer(requester, fee);
    }

    /// @notice The requester cancels a job no node holds a live lease on, and gets its fee back.
    /// @param jobId The job.
    /// @dev Reverts with `JobNotFound`, `JobNotOpen`, `NotRequester` or `JobLeased`.
    function cancelJob(uint256 jobId) external nonReentrant {
        TrainingJob storage job = _requireOpen(jobId);
        address requester = job.requester;
        if (msg.sender != requester) revert NotRequester(jobId, msg.sender);
        if (block.timestamp < job.leaseExpiresAt) revert JobLeased(jobId, job.leaseHolder, job.leaseExpiresAt);
        job.status = JobStatus.Cancelled;
        uint256 fee = job.fee;
        emit JobCancelled(jobId, requester, fee);

        paymentToken.safeTransfer(requester, fee);
    }

    // ------------------------------------------------------------------ Model terms

    /// @notice Sets a model's inference price, as a new terms version (the split carries over).
    /// @param modelId The model.
    /// @param pricePer1kTokens Payment-token units per 1,000 generated tokens.
    /// @return termsVersion The new version; vouchers signed against earlier versions keep their terms.
    /// @dev Reverts with `ERC721NonexistentToken` or `NotModelOwner`.
    function setModelPrice(uint256 modelId, uint256 pricePer1kTokens) external returns (uint64 termsVersion) {
        _requireModelOwner(modelId);
        Terms storage terms;
        (terms, termsVersion) = _newTermsVersion(modelId);
        terms.pricePer1kTokens = pricePer1kTokens;
        emit ModelPriceSet(modelId, termsVersion, pricePer1kTokens);
    }

    /// @notice Sets how a model's revenue is split between its owner, its Datanet's contributors and the node,
    /// as a new terms version (the price carries over).
    /// @param modelId The model.
    /// @param split Shares in basis points summing to 10,000.
    /// @return termsVersion The new version; vouchers signed against earlier versions keep their split.
    /// @dev Reverts with `ERC721NonexistentToken`, `NotModelOwner` or `InvalidRevenueSplit`.
    function setRevenueSplit(uint256 modelId, RevenueSplit calldata split) external returns (uint64 termsVersion) {
        _requireModelOwner(modelId);
        _requireValidSplit(split);
        Terms storage terms;
        (terms, termsVersion) = _newTermsVersion(modelId);
        terms.split = split;
        emit RevenueSplitSet(modelId, termsVersion, split);
    }

    /// @notice Sets how many times one lease holder may renew its lease on a job.
    /// @param maxRenewals The bound (0: a lease cannot be extended).
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by governance.
    function setMaxLeaseRenewals(uint16 maxRenewals) external onlyOwner {
        maxLeaseRenewals = maxRenewals;
        emit MaxLeaseRenewalsSet(maxRenewals);
    }

    /// @notice Sets how long results submitted from now on hold their fee for a dispute.
    /// @param window Seconds.
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by governance.
    function setJobDisputeWindow(uint64 window) external onlyOwner {
        jobDisputeWindow = window;
        emit JobDisputeWindowSet(window);
    }

    /// @notice Appoints the account that rules on disputed job results.
    /// @param arbiter The new arbiter (an EOA, a multisig or a verification contract).
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by governance, `ZeroJobArbiter`.
    function setJobArbiter(address arbiter) external onlyOwner {
        if (arbiter == address(0)) revert ZeroJobArbiter();
        jobArbiter = arbiter;
        emit JobArbiterSet(arbiter);
    }

    /// @notice Sets the split newly minted models start with.
    /// @param split Shares in basis points summing to 10,000.
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by governance, `InvalidRevenueSplit`.
    function setDefaultRevenueSplit(RevenueSplit calldata split) external onlyOwner {
        _setDefaultRevenueSplit(split);
    }

    // ------------------------------------------------------------------ Views

    /// @inheritdoc IModelRegistry
    /// @dev Reverts with `ERC721NonexistentToken` for an unknown model.
    function modelTerms(uint256 modelId)
        external
        view
        returns (
            address owner,
            uint64 termsVersion,
            uint256 pricePer1kTokens,
            uint16 ownerBps,
            uint16 contributorBps,
            uint16 nodeBps
        )
    {
        owner = _requireOwned(modelId);
        termsVersion = _termsVersions[modelId];
        Terms storage terms = _terms[modelId][termsVersion];
        return (
            owner,
            termsVersion,
            terms.pricePer1kTokens,
            terms.split.ownerBps,
            terms.split.contributorBps,
            terms.split.nodeBps
        );
    }

    /// @inheritdoc IModelRegistry
    /// @dev Reverts with `ERC721NonexistentToken` for an unknown model, `TermsVersionNotFound` for an unknown version.
    function modelTermsAt(uint256 modelId, uint64 termsVersion)
        external
        view
        returns (
            address owner,
            uint256 pricePer1kTokens,
            uint16 ownerBps,
            uint16 contributorBps,
            uint16 nodeBps,
            uint64 supersededAt
        )
    {
        owner = _requireOwned(modelId);
        uint64 latest = _termsVersions[modelId];
        if (termsVersion == 0 || termsVersion > latest) revert TermsVersionNotFound(modelId, termsVersion, latest);
        Terms storage terms = _terms[modelId][termsVersion];
        return (
            owner,
            terms.pricePer1kTokens,
            terms.split.ownerBps,
            terms.split.contributorBps,
            terms.split.nodeBps,
            terms.supersededAt
        );
    }

    /// @notice Where a model came from.
    /// @param modelId The model.
    /// @return Its provenance record.
    /// @dev Reverts with `ERC721NonexistentToken`.
    function getProvenance(uint256 modelId) external view returns (Provenance memory) {
        _requireOwned(modelId);
        return _provenance[modelId];
    }

    /// @notice A training job.
    /// @param jobId The job.
    /// @return The job record.
    /// @dev Reverts with `JobNotFound`.
    function getJob(uint256 jobId) external view returns (TrainingJob memory) {
        TrainingJob storage job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobNotFound(jobId);
        return job;
    }

    /// @notice Number of jobs created (ids are 1..n).
    function jobCount() external view returns (uint256) {
        return _lastJobId;
    }

    /// @notice Number of models minted (ids are 1..n).
    function modelCount() external view returns (uint256) {
        return _lastModelId;
    }

    // ------------------------------------------------------------------ Internals

    function _recordProvenance(uint256 modelId, uint256 jobId, TrainingJob storage job, Artifacts calldata artifacts)
        private
    {
        // Read the root now, not at job creation: the model records exactly what the registry says it trained on.
        (bytes32 root,) = datanets.versionRoot(job.datanetId, job.datanetVersion);
        Provenance storage provenance = _provenance[modelId];
        provenance.jobId = jobId;
        provenance.baseModelId = job.baseModelId;
        provenance.datanetId = job.datanetId;
        provenance.datanetVersion = job.datanetVersion;
        provenance.datanetRoot = root;
        provenance.trainer = msg.sender;
        provenance.hyperParamsCid = job.hyperParamsCid;
        provenance.artifacts = artifacts;
        emit ModelMinted(
            modelId,
            job.requester,
            jobId,
            job.baseModelId,
            job.datanetId,
            job.datanetVersion,
            root,
            msg.sender,
            artifacts
        );
    }

    /// @dev Version 1 of a new model's terms: price 0 and the default split.
    function _initTerms(uint256 modelId) private {
        RevenueSplit memory split = defaultRevenueSplit;
        _termsVersions[modelId] = 1;
        _terms[modelId][1].split = split;
        emit ModelTermsInitialized(modelId, 1, split);
    }

    /// @dev Marks the current version superseded now and starts the next one as a copy of it.
    function _newTermsVersion(uint256 modelId) private returns (Terms storage next, uint64 termsVersion) {
        uint64 current = _termsVersions[modelId];
        Terms storage previous = _terms[modelId][current];
        previous.supersededAt = uint64(block.timestamp);
        termsVersion = current + 1;
        _termsVersions[modelId] = termsVersion;
        next = _terms[modelId][termsVersion];
        (next.pricePer1kTokens, next.split) = (previous.pricePer1kTokens, previous.split);
    }

    function _setDefaultRevenueSplit(RevenueSplit memory split) private {
        _requireValidSplit(split);
        defaultRevenueSplit = split;
        emit DefaultRevenueSplitSet(split);
    }

    function _requireValidSplit(RevenueSplit memory split) private pure {
        if (uint256(split.ownerBps) + split.contributorBps + split.nodeBps != TOTAL_BPS) {
            revert InvalidRevenueSplit(split.ownerBps, split.contributorBps, split.nodeBps);
        }
    }

    function _requireModelOwner(uint256 modelId) private view {
        if (_requireOwned(modelId) != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }

    /// @dev Marks the job completed and pays its fee to the node that submitted the result.
    function _payNode(uint256 jobId, TrainingJob storage job) private {
        job.status = JobStatus.Completed;
        address node = job.leaseHolder;
        uint256 fee = job.fee;
        emit JobCompleted(jobId, job.modelId, node, fee);
        paymentToken.safeTransfer(node, fee);
    }

    /// @dev The current lease holder's next renewal count, reverting past the bound.
    function _nextRenewal(uint256 jobId, TrainingJob storage job) private view returns (uint16 renewals) {
        uint16 bound = maxLeaseRenewals;
        if (job.leaseRenewals >= bound) revert LeaseRenewalsExhausted(jobId, msg.sender, bound);
        return job.leaseRenewals + 1;
    }

    function _requireSubmitted(uint256 jobId) private view returns (TrainingJob storage job) {
        job = _jobs[jobId];
        JobStatus status = job.status;
        if (status == JobStatus.None) revert JobNotFound(jobId);
        if (status != JobStatus.Submitted) revert JobNotSubmitted(jobId, status);
    }

    function _requireOpen(uint256 jobId) private view returns (TrainingJob storage job) {
        job = _jobs[jobId];
        JobStatus status = job.status;
        if (status == JobStatus.None) revert JobNotFound(jobId);
        if (status != JobStatus.Open) revert JobNotOpen(jobId, status);
    }

    /// @dev The lease ends before the deadline by construction, so a live lease also means "before the deadline".
    function _requireLiveLease(uint256 jobId) private view returns (TrainingJob storage job) {
        job = _requireOpen(jobId);
        if (msg.sender != job.leaseHolder) revert NotLeaseHolder(jobId, msg.sender, job.leaseHolder);
        if (block.timestamp >= job.leaseExpiresAt) revert LeaseExpired(jobId, job.leaseExpiresAt);
    }

    function _leaseEnd(uint64 deadline) private view returns (uint64) {
        uint256 end = block.timestamp + leaseDuration;
        return end < deadline ? uint64(end) : deadline;
    }
}
