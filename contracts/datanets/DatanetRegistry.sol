// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";

/// @title DatanetRegistry
/// @notice Datanets: owned (ERC-721), curated, versioned datasets. Anyone contributes content registered by
/// digest, staking the Datanet's contribution stake; the owner or its curators accept or reject contributions
/// in batches; a published version commits a Merkle root over accepted contributions plus a manifest CID.
///
/// @dev Contribution ids. A contribution's id is `uint256(keccak256(abi.encode(datanetId, digest, contributor)))`.
/// Deriving the id from the content makes the id's record slot double as the duplicate check, so a contribution
/// writes one new storage slot instead of two (a record by id plus a seen-digest flag): that is what keeps
/// `contribute` under 60k gas. The contributor is part of the id so that a contribution belongs to whoever made
/// it: someone who copies a digest from the mempool makes a contribution of its own (a different id, which
/// curators can reject) and cannot take the author's id or block the author from contributing. The same
/// contributor cannot have the same digest pending or accepted twice, but may contribute a rejected digest again
/// (once any refunded stake of it is withdrawn); the new contribution reuses the id with a new `number`.
/// Contributions also get a sequential per-Datanet `number` (1, 2, ...), which orders them; a version records the
/// highest number it includes.
///
/// Contributor consent. `contribute` takes the most stake and the forfeit rule the contributor accepts, so an
/// owner who raises the stake or switches to forfeit-on-reject just before a contribution (front-running it)
/// makes it revert instead of taking more than the contributor agreed to.
///
/// Merkle leaves. A version root is an OpenZeppelin StandardMerkleTree over the accepted contributions it
/// includes, leaf encoding `["uint256", "address", "bytes32"]` = (contributionId, contributor, digest), i.e.
/// `keccak256(bytes.concat(keccak256(abi.encode(contributionId, contributor, digest))))`. The publisher
/// computes it off-chain from the `ContributionSubmitted` and `ContributionAccepted` events.
///
/// Curators are appointed per Datanet by its owner and cleared when the Datanet changes hands: appointments
/// live under a curator epoch that every transfer bumps, so a new owner never inherits the old owner's curators.
///
/// Stakes are pull payments. Deciding a contribution moves no tokens: accepting it, or rejecting it under a
/// refund policy, releases its stake to its contributor, who takes it back with `withdrawStakes`; rejecting it
/// under a forfeit policy adds its stake to the Datanet's `forfeitedOf`, which the Datanet's owner takes with
/// `withdrawForfeits`. So a curation batch costs the same whoever the contributors are (no transfer per
/// contributor) and no token call, hence no token misbehaviour, can block curation. Forfeits belong to the
/// Datanet, not to the account that owned it when they accrued: they go to whoever owns it when they are
/// withdrawn, so a seller withdraws before transferring, and a buyer can read what comes with the token.
/// The registry always holds exactly the stakes of pending contributions, plus the released stakes not yet
/// withdrawn, plus every Datanet's unwithdrawn forfeits.
contract DatanetRegistry is IDatanetRegistry, ERC721, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice What a contributor must stake and how big a contribution may be.
    /// @param stake Payment-token amount pulled from the contributor per contribution (0 for none).
    /// @param maxBytes Largest accepted contribution size in bytes; must be at least 1.
    /// @param forfeitRejectedStake When true a rejected contribution's stake is forfeited to the Datanet (its
    /// owner withdraws it), otherwise it is released to the contributor. Fixed per contribution when it is made.
    struct ContributionPolicy {
        uint96 stake;
        uint40 maxBytes;
        bool forfeitRejectedStake;
    }

    /// @notice Lifecycle of a contribution; `None` means no such contribution.
    enum ContributionStatus {
        None,
        Pending,
        Accepted,
        Rejected
    }

    /// @notice A contribution as stored: one slot.
    struct Contribution {
        address contributor;
        uint32 datanetId;
        uint40 number;
        ContributionStatus status;
        bool forfeitOnReject;
        bool staked;
    }

    /// @notice A published version, immutable once written.
    /// @param root StandardMerkleTree root over the included accepted contributions (see leaf format above).
    /// @param contributionCount Number of leaves in the tree.
    /// @param lastContributionNumber Highest contribution `number` included.
    /// @param publishedAt Block timestamp of publication.
    /// @param manifestCid IPFS CID of the manifest listing the included contributions.
    struct Version {
        bytes32 root;
        uint40 contributionCount;
        uint40 lastContributionNumber;
        uint40 publishedAt;
        string manifestCid;
    }

    /// @notice A Datanet as read by clients.
    struct DatanetView {
        address owner;
        string metadataCid;
        string licence;
        ContributionPolicy policy;
        uint40 contributionCount;
        uint40 acceptedCount;
        uint32 versionCount;
    }

    /// @dev Slot 0 holds everything `contribute` reads or writes, so a contribution touches one Datanet slot.
    struct Datanet {
        uint96 stake;
        uint40 maxBytes;
        bool forfeitRejectedStake;
        uint40 contributionCount;
        uint32 versionCount;
        uint32 curatorEpoch;
        uint40 acceptedCount;
        string metadataCid;
        string licence;
    }

    /// @notice The ERC-20 in which contribution stakes are paid.
    IERC20 public immutable paymentToken;

    uint256 private _lastDatanetId;
    mapping(uint256 datanetId => Datanet) private _datanets;
    mapping(uint256 contributionId => Contribution) private _contributions;
    /// @dev Written only for staked contributions, so unstaked ones cost no extra slot. Holds the stake from
    /// contribution until it is withdrawn by the contributor or forfeited, then is cleared.
    mapping(uint256 contributionId => uint256 amount) private _stakes;
    /// @notice Stakes forfeited to a Datanet by rejections and not yet withdrawn by its owner.
    mapping(uint256 datanetId => uint256 amount) public forfeitedOf;
    mapping(uint256 datanetId => mapping(uint32 version => Version)) private _versions;
    mapping(uint256 datanetId => mapping(uint32 epoch => mapping(address account => bool))) private _curators;

    /// @notice A Datanet was created and its token minted to `owner`.
    /// @param datanetId The new Datanet (token id).
    /// @param owner Its creator and first owner.
    /// @param metadataCid IPFS CID of its description.
    /// @param licence Licence of its data.
    /// @param policy Its contribution policy.
    event DatanetCreated(
        uint256 indexed datanetId, address indexed owner, string metadataCid, string licence, ContributionPolicy policy
    );
    /// @notice The owner changed the metadata CID.
    /// @param datanetId The Datanet.
    /// @param metadataCid The new CID.
    event DatanetMetadataUpdated(uint256 indexed datanetId, string metadataCid);
    /// @notice The owner changed the contribution policy; it applies to contributions made from now on.
    /// @param datanetId The Datanet.
    /// @param policy The new policy.
    event ContributionPolicyUpdated(uint256 indexed datanetId, ContributionPolicy policy);
    /// @notice The owner appointed or removed a curator.
    /// @param datanetId The Datanet.
    /// @param curator The account.
    /// @param enabled True when appointed, false when removed.
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool enabled);
    /// @notice The Datanet changed hands and every curator appointed by the previous owner lost the role.
    /// @param datanetId The Datanet.
    /// @param newEpoch The curator epoch new appointments are recorded under.
    event CuratorsCleared(uint256 indexed datanetId, uint32 newEpoch);
    /// @notice A contribution was registered and `stake` pulled from `contributor`.
    /// @param datanetId The Datanet.
    /// @param contributionId `uint256(keccak256(abi.encode(datanetId, digest, contributor)))`.
    /// @param contributor Who contributed (and may withdraw the stake once it is accepted or refunded).
    /// @param digest sha2-256 digest of the content's IPFS CID.
    /// @param number Sequential number of the contribution within the Datanet (1, 2, ...).
    /// @param byteSize Content size in bytes.
    /// @param stake Stake escrowed for it.
    /// @param metadataCid IPFS CID of its metadata (stored only here, not in contract storage).
    event ContributionSubmitted(
        uint256 indexed datanetId,
        uint256 indexed contributionId,
        address indexed contributor,
        bytes32 digest,
        uint40 number,
        uint64 byteSize,
        uint256 stake,
        string metadataCid
    );
    /// @notice A contribution was accepted and its stake released: its contributor may now withdraw it.
    /// @param datanetId The Datanet.
    /// @param contributionId The contribution.
    /// @param contributor Its contributor.
    /// @param stakeReleased Stake the contributor may now withdraw with `withdrawStakes`.
    event ContributionAccepted(
        uint256 indexed datanetId, uint256 indexed contributionId, address indexed contributor, uint256 stakeReleased
    );
    /// @notice A contribution was rejected; its stake was released to the contributor or forfeited to the Datanet.
    /// @param datanetId The Datanet.
    /// @param contributionId The contribution.
    /// @param contributor Its contributor.
    /// @param stakeRefunded Stake the contributor may now withdraw with `withdrawStakes`.
    /// @param stakeForfeited Stake added to the Datanet's `forfeitedOf`, for its owner to withdraw.
    event ContributionRejected(
        uint256 indexed datanetId,
        uint256 indexed contributionId,
        address indexed contributor,
        uint256 stakeRefunded,
        uint256 stakeForfeited
    );
    /// @notice A released stake was paid to its contributor, and the contribution holds no stake any more.
    /// @param datanetId The Datanet the contribution belongs to.
    /// @param contributionId The contribution.
    /// @param contributor Its contributor, who was paid.
    /// @param amount The stake paid.
    event StakeWithdrawn(
        uint256 indexed datanetId, uint256 indexed contributionId, address indexed contributor, uint256 amount
    );
    /// @notice A Datanet's forfeited stakes were paid to its owner and its `forfeitedOf` reset to zero.
    /// @param datanetId The Datanet.
    /// @param owner Its owner, who was paid.
    /// @param amount The forfeits paid.
    event ForfeitsWithdrawn(uint256 indexed datanetId, address indexed owner, uint256 amount);
    /// @notice A version of a Datanet was published.
    /// @param datanetId The Datanet.
    /// @param version The version number (1, 2, ...).
    /// @param root StandardMerkleTree root over the included contributions.
    /// @param contributionCount Number of leaves.
    /// @param lastContributionNumber Highest contribution number included.
    /// @param manifestCid IPFS CID of the manifest.
    event VersionPublished(
        uint256 indexed datanetId,
        uint32 indexed version,
        bytes32 root,
        uint40 contributionCount,
        uint40 lastContributionNumber,
        string manifestCid
    );

    /// @notice No Datanet has id `datanetId`.
    error DatanetNotFound(uint256 datanetId);
    /// @notice `account` is neither the owner nor a curator of `datanetId`.
    error NotCurator(uint256 datanetId, address account);
    /// @notice `account` is not the owner of `datanetId`.
    error NotDatanetOwner(uint256 datanetId, address account);
    /// @notice A required CID or licence string was empty; `field` names it.
    error EmptyField(string field);
    /// @notice A policy's `maxBytes` was zero, so nothing could ever be contributed.
    error ZeroMaxContributionSize();
    /// @notice A contribution's digest was zero.
    error ZeroDigest();
    /// @notice A contribution of `byteSize` bytes is outside 1..`maxBytes`.
    error InvalidContributionSize(uint256 datanetId, uint64 byteSize, uint40 maxBytes);
    /// @notice The caller already has `digest` pending or accepted in `datanetId` as `contributionId`.
    error DuplicateContribution(uint256 datanetId, bytes32 digest, uint256 contributionId);
    /// @notice The caller's rejected contribution `contributionId` of the same digest still holds a refunded
    /// `stake`: withdraw it (`withdrawStakes`) before contributing the digest again.
    error RejectedStakeNotWithdrawn(uint256 contributionId, uint256 stake);
    /// @notice `datanetId` asks a stake of `stake`, above the `maxStake` the contributor accepted.
    error StakeAboveMaximum(uint256 datanetId, uint256 stake, uint256 maxStake);
    /// @notice `datanetId` forfeits the stake of rejected contributions, which the contributor did not accept.
    error ForfeitNotAccepted(uint256 datanetId, uint256 stake);
    /// @notice No contribution has id `contributionId`.
    error ContributionNotFound(uint256 contributionId);
    /// @notice Contribution `contributionId` belongs to `actualDatanetId`, not to `datanetId`.
    error ContributionNotInDatanet(uint256 contributionId, uint256 datanetId, uint256 actualDatanetId);
    /// @notice Contribution `contributionId` was already decided (`status`).
    error ContributionNotPending(uint256 contributionId, ContributionStatus status);
    /// @notice A batch (decision or withdrawal) named no contribution.
    error EmptyBatch();
    /// @notice Contribution `contributionId` is still pending, so its stake is not released yet.
    error ContributionStillPending(uint256 contributionId);
    /// @notice Contribution `contributionId` holds no stake to withdraw: none was asked (`staked` false), it was
    /// forfeited, or it was already withdrawn. `status` is its decision.
    error NoStakeToWithdraw(uint256 contributionId, ContributionStatus status);
    /// @notice One withdrawal pays one contributor: `contributionId` belongs to `contributor`, not to `expected`
    /// (the contributor of the batch's first contribution).
    error MixedContributors(uint256 contributionId, address expected, address contributor);
    /// @notice Datanet `datanetId` has no forfeited stake to withdraw.
    error NoForfeitsToWithdraw(uint256 datanetId);
    /// @notice A version root was zero.
    error ZeroMerkleRoot();
    /// @notice A version must include at least one contribution.
    error EmptyVersion();
    /// @notice A version claims `contributionCount` contributions but only `acceptedCount` were accepted.
    error VersionExceedsAccepted(uint256 datanetId, uint40 contributionCount, uint40 acceptedCount);
    /// @notice `lastContributionNumber` is above the `contributionCount` made, or below the version's own count.
    error InvalidLastContributionNumber(uint256 datanetId, uint40 lastContributionNumber, uint40 contributionCount);
    /// @notice Version `version` of `datanetId` is not published (`versionCount` exist).
    error VersionNotFound(uint256 datanetId, uint32 version, uint32 versionCount);

    /// @notice Deploys the registry for one payment token.
    /// @param paymentToken_ The ERC-20 that stakes are paid in (any standard ERC-20 without transfer fees).
    constructor(IERC20 paymentToken_) ERC721("Tributary Datanet", "DATANET") {
        paymentToken = paymentToken_;
    }

    // ------------------------------------------------------------------ Datanets

    /// @notice Creates a Datanet owned by the caller.
    /// @param metadataCid IPFS CID of the Datanet's description (name, schema, ...); must not be empty.
    /// @param licence Licence of the contributed data, e.g. an SPDX id; must not be empty.
    /// @param policy Contribution stake, size limit and fate of rejected stakes.
    /// @return datanetId The new Datanet's id (and ERC-721 token id), counting from 1.
    /// @dev Reverts with `EmptyField` or `ZeroMaxContributionSize` on bad input.
    function createDatanet(string calldata metadataCid, string calldata licence, ContributionPolicy calldata policy)
        external
        returns (uint256 datanetId)
    {
        if (bytes(metadataCid).length == 0) revert EmptyField("metadataCid");
        if (bytes(licence).length == 0) revert EmptyField("licence");
        if (policy.maxBytes == 0) revert ZeroMaxContributionSize();

        datanetId = ++_lastDatanetId;
        Datanet storage datanet = _datanets[datanetId];
        datanet.stake = policy.stake;
        datanet.maxBytes = policy.maxBytes;
        datanet.forfeitRejectedStake = policy.forfeitRejectedStake;
        datanet.metadataCid = metadataCid;
        datanet.licence = licence;
        emit DatanetCreated(datanetId, msg.sender, metadataCid, licence, policy);
        _mint(msg.sender, datanetId);
    }

    /// @notice Replaces a Datanet's metadata CID.
    /// @param datanetId The Datanet.
    /// @param metadataCid The new CID; must not be empty.
    /// @dev Reverts with `NotDatanetOwner` unless called by the owner, `EmptyField` on an empty CID.
    function setMetadataCid(uint256 datanetId, string calldata metadataCid) external {
        _requireOwner(datanetId);
        if (bytes(metadataCid).length == 0) revert EmptyField("metadataCid");
        _datanets[datanetId].metadataCid = metadataCid;
        emit DatanetMetadataUpdated(datanetId, metadataCid);
    }

    /// @notice Replaces a Datanet's contribution policy for contributions made from now on.
    /// @param datanetId The Datanet.
    /// @param policy The new policy.
    /// @dev Pending contributions keep the stake and rejection rule they were made under.
    /// Reverts with `NotDatanetOwner` unless called by the owner, `ZeroMaxContributionSize` on a zero size limit.
    function setContributionPolicy(uint256 datanetId, ContributionPolicy calldata policy) external {
        _requireOwner(datanetId);
        if (policy.maxBytes == 0) revert ZeroMaxContributionSize();
        Datanet storage datanet = _datanets[datanetId];
        datanet.stake = policy.stake;
        datanet.maxBytes = policy.maxBytes;
        datanet.forfeitRejectedStake = policy.forfeitRejectedStake;
        emit ContributionPolicyUpdated(datanetId, policy);
    }

    /// @notice Appoints or removes a curator, who may accept and reject contributions and publish versions.
    /// @param datanetId The Datanet.
    /// @param curator The account.
    /// @param enabled True to appoint, false to remove.
    /// @dev Appointments end when the Datanet is transferred. Reverts with `NotDatanetOwner` unless called by the owner.
    function setCurator(uint256 datanetId, address curator, bool enabled) external {
        _requireOwner(datanetId);
        _curators[datanetId][_datanets[datanetId].curatorEpoch][curator] = enabled;
        emit CuratorSet(datanetId, curator, enabled);
    }

    // ------------------------------------------------------------------ Contributions

    /// @notice Registers a contribution to a Datanet and pulls the Datanet's contribution stake from the caller.
    /// @param datanetId The Datanet.
    /// @param digest sha2-256 digest of the content's IPFS CID (the multihash digest); not zero.
    /// @param byteSize Size of the content in bytes, 1..policy.maxBytes.
    /// @param metadataCid IPFS CID of the contribution's metadata (content CID, title, ...); kept in the event only.
    /// @param maxStake The most stake the caller accepts to put up (the policy's stake must not exceed it).
    /// @param acceptForfeit Whether the caller accepts that a rejection forfeits its stake (needed only when the
    /// policy forfeits and asks a stake).
    /// @return contributionId `uint256(keccak256(abi.encode(datanetId, digest, msg.sender)))`.
    /// @dev Needs an allowance of the policy stake for this contract. Reverts with `DatanetNotFound`, `ZeroDigest`,
    /// `InvalidContributionSize`, `EmptyField`, `StakeAboveMaximum`, `ForfeitNotAccepted`,
    /// `DuplicateContribution` or `RejectedStakeNotWithdrawn`.
    function contribute(
        uint256 datanetId,
        bytes32 digest,
        uint64 byteSize,
        string calldata metadataCid,
        uint256 maxStake,
        bool acceptForfeit
    ) external nonReentrant returns (uint256 contributionId) {
        Datanet storage datanet = _datanets[datanetId];
        {
            uint40 maxBytes = datanet.maxBytes;
            if (maxBytes == 0) revert DatanetNotFound(datanetId);
            if (digest == bytes32(0)) revert ZeroDigest();
            if (byteSize == 0 || byteSize > maxBytes) revert InvalidContributionSize(datanetId, byteSize, maxBytes);
        }
        if (bytes(metadataCid).length == 0) revert EmptyField("metadataCid");
        uint256 stake = datanet.stake;
        if (stake > maxStake) revert StakeAboveMaximum(datanetId, stake, maxStake);
        if (datanet.forfeitRejectedStake && stake != 0 && !acceptForfeit) revert ForfeitNotAccepted(datanetId, stake);
        contributionId = contributionIdOf(datanetId, digest, msg.sender);
        {
            ContributionStatus status = _contributions[contributionId].status;
            if (status != ContributionStatus.None) _requireResubmittable(datanetId, digest, contributionId, status);
        }

        uint40 number = ++datanet.contributionCount;
        _contributions[contributionId] = Contribution({
            contributor: msg.sender,
            datanetId: uint32(datanetId),
            number: number,
            status: ContributionStatus.Pending,
            forfeitOnReject: datanet.forfeitRejectedStake,
            staked: stake != 0
        });
        if (stake != 0) _stakes[contributionId] = stake;
        emit ContributionSubmitted(datanetId, contributionId, msg.sender, digest, number, byteSize, stake, metadataCid);

        if (stake != 0) paymentToken.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @notice Accepts pending contributions; each one's stake is released for its contributor to withdraw.
    /// @param datanetId The Datanet all contributions belong to.
    /// @param contributionIds The contributions to accept, in any order.
    /// @dev Moves no tokens (see the contract notes on pull payments), so its gas does not depend on who the
    /// contributors are. Reverts with `NotCurator`, `EmptyBatch`, `ContributionNotFound`,
    /// `ContributionNotInDatanet` or `ContributionNotPending`; the whole batch fails if one id is bad.
    function acceptContributions(uint256 datanetId, uint256[] calldata contributionIds) external {
        _decide(datanetId, contributionIds, true);
    }

    /// @notice Rejects pending contributions; each one's stake is released to its contributor or forfeited to
    /// the Datanet (`forfeitedOf`), as the policy said when the contribution was made.
    /// @param datanetId The Datanet all contributions belong to.
    /// @param contributionIds The contributions to reject.
    /// @dev Moves no tokens; forfeits of the whole batch are added to `forfeitedOf` in one write.
    /// Same reverts as `acceptContributions`.
    function rejectContributions(uint256 datanetId, uint256[] calldata contributionIds) external {
        _decide(datanetId, contributionIds, false);
    }

    // ------------------------------------------------------------------ Withdrawals

    /// @notice Pays one contributor the released stakes of decided contributions, in one transfer.
    /// @param contributionIds Accepted or refunded contributions, all of the same contributor, from any Datanets.
    /// @return amount The total paid.
    /// @dev Anyone may call it (a relayer, say); the stakes always go to the contributor. Each stake pays out
    /// once: it is cleared before the transfer. Reverts with `EmptyBatch`, `ContributionNotFound`,
    /// `ContributionStillPending`, `MixedContributors` or `NoStakeToWithdraw`; the whole call fails if one id is
    /// bad.
    function withdrawStakes(uint256[] calldata contributionIds) external nonReentrant returns (uint256 amount) {
        uint256 count = contributionIds.length;
        if (count == 0) revert EmptyBatch();
        address contributor = _contributions[contributionIds[0]].contributor;
        for (uint256 i; i < count; ++i) {
            amount += _withdrawOne(contributionIds[i], contributor);
        }
        paymentToken.safeTransfer(contributor, amount);
    }

    /// @notice Pays a Datanet's forfeited stakes to its owner.
    /// @param datanetId The Datanet.
    /// @return amount The forfeits paid (everything `forfeitedOf` held).
    /// @dev Forfeits go to whoever owns the Datanet now, including those that accrued under a previous owner.
    /// Reverts with `DatanetNotFound`, `NotDatanetOwner` or `NoForfeitsToWithdraw`.
    function withdrawForfeits(uint256 datanetId) external nonReentrant returns (uint256 amount) {
        _requireOwner(datanetId);
        amount = forfeitedOf[datanetId];
        if (amount == 0) revert NoForfeitsToWithdraw(datanetId);
        delete forfeitedOf[datanetId];
        emit ForfeitsWithdrawn(datanetId, msg.sender, amount);
        paymentToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ Versions

    /// @notice Publishes the next version of a Datanet: a Merkle root over accepted contributions and a manifest.
    /// @param datanetId The Datanet.
    /// @param root StandardMerkleTree root, leaves (uint256 contributionId, address contributor, bytes32 digest).
    /// @param manifestCid IPFS CID of the manifest listing the included contributions; must not be empty.
    /// @param contributionCount Number of leaves; at least 1 and at most the number accepted so far.
    /// @param lastContributionNumber Highest contribution `number` included; between `contributionCount` and the
    /// number of contributions made.
    /// @return version The new version number (1, 2, ...).
    /// @dev The root is not recomputed on-chain; anyone can rebuild it from events and the manifest.
    /// Reverts with `NotCurator`, `ZeroMerkleRoot`, `EmptyField`, `EmptyVersion`, `VersionExceedsAccepted` or
    /// `InvalidLastContributionNumber`.
    function publishVersion(
        uint256 datanetId,
        bytes32 root,
        string calldata manifestCid,
        uint40 contributionCount,
        uint40 lastContributionNumber
    ) external returns (uint32 version) {
        _requireCurator(datanetId);
        if (root == bytes32(0)) revert ZeroMerkleRoot();
        if (bytes(manifestCid).length == 0) revert EmptyField("manifestCid");
        if (contributionCount == 0) revert EmptyVersion();
        Datanet storage datanet = _datanets[datanetId];
        if (contributionCount > datanet.acceptedCount) {
            revert VersionExceedsAccepted(datanetId, contributionCount, datanet.acceptedCount);
        }
        if (lastContributionNumber < contributionCount || lastContributionNumber > datanet.contributionCount) {
            revert InvalidLastContributionNumber(datanetId, lastContributionNumber, datanet.contributionCount);
        }

        version = ++datanet.versionCount;
        _versions[datanetId][version] = Version({
            root: root,
            contributionCount: contributionCount,
            lastContributionNumber: lastContributionNumber,
            publishedAt: uint40(block.timestamp),
            manifestCid: manifestCid
        });
        emit VersionPublished(datanetId, version, root, contributionCount, lastContributionNumber, manifestCid);
    }

    // ------------------------------------------------------------------ Views

    /// @inheritdoc IDatanetRegistry
    /// @dev Reverts with `DatanetNotFound` or `VersionNotFound`.
    function versionRoot(uint256 datanetId, uint32 version)
        external
        view
        returns (bytes32 root, string memory manifestCid)
    {
        Version storage published = _requireVersion(datanetId, version);
        return (published.root, published.manifestCid);
    }

    /// @inheritdoc IDatanetRegistry
    /// @dev Reverts with `DatanetNotFound` for an unknown Datanet.
    function versionCount(uint256 datanetId) external view returns (uint32) {
        _requireDatanet(datanetId);
        return _datanets[datanetId].versionCount;
    }

    /// @notice A published version with its counts and publication time.
    /// @param datanetId The Datanet.
    /// @param version The version number.
    /// @return The version record.
    /// @dev Reverts with `DatanetNotFound` or `VersionNotFound`.
    function getVersion(uint256 datanetId, uint32 version) external view returns (Version memory) {
        return _requireVersion(datanetId, version);
    }

    /// @notice A Datanet's owner, metadata, licence, policy and counters.
    /// @param datanetId The Datanet.
    /// @return The Datanet as clients read it.
    /// @dev Reverts with `DatanetNotFound`.
    function getDatanet(uint256 datanetId) external view returns (DatanetView memory) {
        address owner = _requireDatanet(datanetId);
        Datanet storage datanet = _datanets[datanetId];
        return DatanetView({
            owner: owner,
            metadataCid: datanet.metadataCid,
            licence: datanet.licence,
            policy: ContributionPolicy(datanet.stake, datanet.maxBytes, datanet.forfeitRejectedStake),
            contributionCount: datanet.contributionCount,
            acceptedCount: datanet.acceptedCount,
            versionCount: datanet.versionCount
        });
    }

    /// @notice A contribution's record and the stake the registry still holds for it.
    /// @param contributionId The contribution.
    /// @return contribution Its record.
    /// @return stakeHeld Stake held for it: escrowed while pending, withdrawable by the contributor once
    /// accepted or refunded; 0 when none was asked, once forfeited and once withdrawn.
    /// @dev Reverts with `ContributionNotFound`.
    function getContribution(uint256 contributionId)
        external
        view
        returns (Contribution memory contribution, uint256 stakeHeld)
    {
        contribution = _contributions[contributionId];
        if (contribution.status == ContributionStatus.None) revert ContributionNotFound(contributionId);
        stakeHeld = _stakes[contributionId];
    }

    /// @notice Whether `account` may accept, reject and publish for `datanetId` (the owner always may).
    /// @param datanetId The Datanet.
    /// @param account The account.
    /// @return True for the owner and current curators; false for anyone else or an unknown Datanet.
    function isCurator(uint256 datanetId, address account) public view returns (bool) {
        address owner = _ownerOf(datanetId);
        return owner != address(0)
            && (account == owner || _curators[datanetId][_datanets[datanetId].curatorEpoch][account]);
    }

    /// @notice Whether a contribution is a leaf of a published version's Merkle root.
    /// @param datanetId The Datanet.
    /// @param version The published version.
    /// @param contributionId The contribution's id.
    /// @param contributor Its contributor.
    /// @param digest Its content digest.
    /// @param proof StandardMerkleTree proof (sibling hashes from leaf to root).
    /// @return True when the leaf is in the version's tree.
    /// @dev Reverts with `DatanetNotFound` or `VersionNotFound`.
    function isInVersion(
        uint256 datanetId,
        uint32 version,
        uint256 contributionId,
        address contributor,
        bytes32 digest,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _requireVersion(datanetId, version).root;
        return MerkleProof.verifyCalldata(proof, root, leafOf(contributionId, contributor, digest));
    }

    /// @notice The Merkle leaf of a contribution: OpenZeppelin StandardMerkleTree encoding of
    /// (uint256 contributionId, address contributor, bytes32 digest).
    /// @param contributionId The contribution's id.
    /// @param contributor Its contributor.
    /// @param digest Its content digest.
    /// @return `keccak256(bytes.concat(keccak256(abi.encode(contributionId, contributor, digest))))`.
    function leafOf(uint256 contributionId, address contributor, bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(contributionId, contributor, digest))));
    }

    /// @notice The id a contribution of `digest` to `datanetId` by `contributor` has (or would have).
    /// @param datanetId The Datanet.
    /// @param digest The content digest.
    /// @param contributor Who contributes it.
    /// @return `uint256(keccak256(abi.encode(datanetId, digest, contributor)))`.
    function contributionIdOf(uint256 datanetId, bytes32 digest, address contributor) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(datanetId, digest, contributor)));
    }

    /// @notice The Datanet's metadata URI.
    /// @param datanetId The Datanet.
    /// @return `ipfs://<metadataCid>`.
    function tokenURI(uint256 datanetId) public view override returns (string memory) {
        _requireOwned(datanetId);
        return string.concat("ipfs://", _datanets[datanetId].metadataCid);
    }

    // ------------------------------------------------------------------ Internals

    /// @dev Records every decision; forfeits of the batch are summed and added to the Datanet in one write.
    function _decide(uint256 datanetId, uint256[] calldata contributionIds, bool accept) private {
        _requireCurator(datanetId);
        uint256 count = contributionIds.length;
        if (count == 0) revert EmptyBatch();

        uint256 forfeited;
        for (uint256 i; i < count; ++i) {
            forfeited += _decideOne(datanetId, contributionIds[i], accept);
        }
        if (accept) _datanets[datanetId].acceptedCount += uint40(count);
        if (forfeited != 0) forfeitedOf[datanetId] += forfeited;
    }

    /// @dev Decides one contribution. A released stake stays where it is, in `_stakes`, until its contributor
    /// withdraws it; a forfeited one leaves `_stakes` and its amount is returned for the Datanet's total.
    function _decideOne(uint256 datanetId, uint256 contributionId, bool accept) private returns (uint256 forfeited) {
        Contribution storage record = _contributions[contributionId];
        _requirePendingIn(record, contributionId, datanetId);
        record.status = accept ? ContributionStatus.Accepted : ContributionStatus.Rejected;
        address contributor = record.contributor;
        uint256 stake = record.staked ? _stakes[contributionId] : 0;
        if (accept) {
            emit ContributionAccepted(datanetId, contributionId, contributor, stake);
        } else if (record.forfeitOnReject) {
            if (stake != 0) delete _stakes[contributionId];
            forfeited = stake;
            emit ContributionRejected(datanetId, contributionId, contributor, 0, stake);
        } else {
            emit ContributionRejected(datanetId, contributionId, contributor, stake, 0);
        }
    }

    /// @dev Checks and clears the released stake of one contribution of `contributor` and returns it; the caller
    /// pays the sum in one transfer.
    function _withdrawOne(uint256 contributionId, address contributor) private returns (uint256 stake) {
        Contribution storage record = _contributions[contributionId];
        ContributionStatus status = record.status;
        if (status == ContributionStatus.None) revert ContributionNotFound(contributionId);
        if (status == ContributionStatus.Pending) revert ContributionStillPending(contributionId);
        if (record.contributor != contributor) {
            revert MixedContributors(contributionId, contributor, record.contributor);
        }
        stake = _stakes[contributionId];
        if (stake == 0) revert NoStakeToWithdraw(contributionId, status);
        delete _stakes[contributionId];
        emit StakeWithdrawn(record.datanetId, contributionId, contributor, stake);
    }

    /// @dev A contributor's earlier contribution of the same digest may be replaced only once it was rejected and
    /// holds no refunded stake (which the new record's stake would otherwise overwrite).
    function _requireResubmittable(uint256 datanetId, bytes32 digest, uint256 contributionId, ContributionStatus status)
        private
        view
    {
        if (status != ContributionStatus.Rejected) revert DuplicateContribution(datanetId, digest, contributionId);
        uint256 heldStake = _stakes[contributionId];
        if (heldStake != 0) revert RejectedStakeNotWithdrawn(contributionId, heldStake);
    }

    function _requirePendingIn(Contribution storage record, uint256 contributionId, uint256 datanetId) private view {
        ContributionStatus status = record.status;
        if (status == ContributionStatus.None) revert ContributionNotFound(contributionId);
        if (record.datanetId != datanetId) {
            revert ContributionNotInDatanet(contributionId, datanetId, record.datanetId);
        }
        if (status != ContributionStatus.Pending) revert ContributionNotPending(contributionId, status);
    }

    /// @dev Transfers (not mints or burns) start a new curator epoch, which clears the previous owner's curators.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0) && from != to) {
            uint32 epoch = ++_datanets[tokenId].curatorEpoch;
            emit CuratorsCleared(tokenId, epoch);
        }
    }

    function _requireDatanet(uint256 datanetId) private view returns (address owner) {
        owner = _ownerOf(datanetId);
        if (owner == address(0)) revert DatanetNotFound(datanetId);
    }

    function _requireOwner(uint256 datanetId) private view {
        if (_requireDatanet(datanetId) != msg.sender) revert NotDatanetOwner(datanetId, msg.sender);
    }

    function _requireCurator(uint256 datanetId) private view returns (address owner) {
        owner = _requireDatanet(datanetId);
        if (msg.sender != owner && !_curators[datanetId][_datanets[datanetId].curatorEpoch][msg.sender]) {
            revert NotCurator(datanetId, msg.sender);
        }
    }

    function _requireVersion(uint256 datanetId, uint32 version) private view returns (Version storage) {
        _requireDatanet(datanetId);
        uint32 count = _datanets[datanetId].versionCount;
        if (version == 0 || version > count) revert VersionNotFound(datanetId, version, count);
        return _versions[datanetId][version];
    }
}
