// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IStakeLock} from "../interfaces/IStakeLock.sol";
import {ActiveNodes} from "./ActiveNodes.sol";
import {ContributorCredits} from "./ContributorCredits.sol";

/// @title BatchDisputes
/// @notice Challenges against a pending credit root, resolved by a governance-appointed arbiter; stake locks
/// for nodes with disputable roots; and recovery roots for pools whose node went silent.
/// @dev Anyone who recomputes a batch from its public attribution records (the batch's records CID and
/// the Datanet version they reference) and finds a different root may challenge it during the dispute
/// window by posting `challengeBond`. Any number of accounts may challenge the same root (one open challenge
/// each), so a node that challenges its own root from a second account cannot block honest challengers. Each
/// challenge is ruled on by the arbiter:
/// - upheld: the root is discarded (claims stay on the previous final root, the batch's contributor share
///   stays in the node's pool for a corrected root). The node is slashed by `slashAmount` (capped by its
///   stake); the slash goes to the node's contributor pool, the contributors it tried to shortchange, except a
///   reward of {CHALLENGER_REWARD_BPS} of it that goes to the challenger with its bond. A node that challenges
///   itself thus still loses 90 % of the slash. Every other open challenge of the root gets its bond back with
///   {withdrawChallengeBond};
/// - rejected: the bond goes to the root's proposer as earnings, paying it for the delay and making frivolous
///   challenges cost the challenger. With no challenge left open the root becomes final at the end of its
///   window (at once if the window has passed).
/// A node whose own root is pending or challenged cannot withdraw its stake ({hasOpenDisputes}, asked by the
/// NodeRegistry), so an upheld challenge always finds the stake to slash; a ruling never reverts for want of it.
/// Recovery: a node that leaves, falls below its minimum stake or just stops posting roots would lock its
/// contributor pool above its final root forever. From `RECOVERY_DELAY` after the node last proposed a root (or
/// its pool first received funds), anyone may propose a root for that pool with {proposeRecoveryRoot}, posting
/// {recoveryBond} (at least `slashAmount`, so a node gains nothing by posting its roots this way); it is pending for the same dispute window and challengeable like any root. If it becomes
/// final the bond returns to the proposer as earnings; if a challenge is upheld the bond is the penalty (to the
/// pool, minus the challenger's reward) and the node's stake is untouched.
/// Only roots are disputable: the batch's voucher redemptions and revenue splits are final at settlement,
/// because signatures already prove them; what a node could fake is the attribution.
/// Decentralizing the arbiter: the arbiter is an address, so governance can replace a trusted key with a
/// contract without changing this one, e.g. (1) optimistic re-execution, where bonded verifiers recompute
/// the attribution deterministically from the records CID and a bisection game over the records pins the
/// first diverging record for on-chain checking; or (2) a bonded verifier committee, drawn at random per
/// challenge, voting with their stake at risk, with appeals escalating to a larger committee. Because every
/// challenger gets its own ruling, a challenger that plays such a game badly on purpose cannot make a wrong
/// root final while an honest challenge of it is open.
abstract contract BatchDisputes is IStakeLock, Ownable2Step, ContributorCredits, ActiveNodes {
    /// @dev One challenger's open challenge of one root.
    struct Challenge {
        bool open;
        uint96 bond;
    }

    /// @dev Who proposed a node's pending recovery root, and the bond it posted.
    struct RecoveryProposal {
        address proposer;
        uint96 bond;
    }

    /// @notice Share of a slash (or of a recovery proposer's forfeited bond) paid to the challenger whose
    /// challenge was upheld, in basis points; the rest goes to the node's contributor pool.
    uint256 public constant CHALLENGER_REWARD_BPS = 1_000;

    /// @notice Account that resolves challenges (see the contract notice for how it decentralizes).
    address public arbiter;
    /// @notice Bond a challenger posts, in payment-token units.
    uint256 public challengeBond;
    /// @notice Stake taken from a node whose root a challenge proves wrong (capped by the node's stake).
    uint256 public slashAmount;
    /// @notice Seconds a node must have been silent (no root of its own, counted from its last one or from its
    /// pool's first funds) before anyone may propose a recovery root for its pool: long enough that a live node
    /// never meets it by accident (it posts roots every few hours), short enough that contributors are not left
    /// waiting for months.
    uint256 public constant RECOVERY_DELAY = 30 days;

    mapping(address node => mapping(uint64 batchId => mapping(address challenger => Challenge))) private _challenges;
    mapping(address node => RecoveryProposal) private _recoveries;

    /// @notice Governance appointed a new arbiter.
    /// @param previousArbiter The arbiter before.
    /// @param arbiter The arbiter now.
    event ArbiterUpdated(address indexed previousArbiter, address indexed arbiter);
    /// @notice Governance set the challenge bond.
    /// @param previousBond The bond before.
    /// @param bond The bond now.
    event ChallengeBondUpdated(uint256 previousBond, uint256 bond);
    /// @notice Governance set the slash amount.
    /// @param previousAmount The amount before.
    /// @param amount The amount now.
    event SlashAmountUpdated(uint256 previousAmount, uint256 amount);
    /// @notice A pending credit root was challenged.
    /// @param batchId The batch that proposed it.
    /// @param node The node whose pool the root divides.
    /// @param challenger Who challenged.
    /// @param bond Token units posted.
    event BatchChallenged(uint64 indexed batchId, address indexed node, address indexed challenger, uint256 bond);
    /// @notice The arbiter upheld a challenge: the root is discarded and its proposer penalized.
    /// @param batchId The challenged batch.
    /// @param node The node whose pool the root divided.
    /// @param challenger Who received its bond back plus `reward`.
    /// @param penalty Stake slashed from the node (capped by its stake), or a recovery proposer's forfeited bond.
    /// @param reward Part of `penalty` paid to the challenger; the rest joined the node's contributor pool.
    event ChallengeUpheld(
        uint64 indexed batchId, address indexed node, address indexed challenger, uint256 penalty, uint256 reward
    );
    /// @notice The arbiter rejected a challenge: the bond went to the root's proposer.
    /// @param batchId The challenged batch.
    /// @param node The node whose pool the root divides.
    /// @param challenger Who lost the bond.
    /// @param bond Token units forfeited (credited as earnings to the root's proposer).
    event ChallengeRejected(uint64 indexed batchId, address indexed node, address indexed challenger, uint256 bond);
    /// @notice A challenge left open when another challenge of the same root was upheld got its bond back.
    /// @param batchId The batch whose root was discarded.
    /// @param node The node whose pool the root divided.
    /// @param challenger Who was paid.
    /// @param bond Token units returned.
    event ChallengeBondReturned(uint64 indexed batchId, address indexed node, address indexed challenger, uint256 bond);
    /// @notice Someone proposed a recovery root for a silent node's contributor pool.
    /// @param batchId The id the root is challenged and finalized under (shared with settlement batches).
    /// @param node The silent node.
    /// @param proposer Who proposed it and posted the bond.
    /// @param root StandardMerkleTree root over (account, cumulative credit) from the node's pool.
    /// @param totalCredit Cumulative credit the root declares.
    /// @param bond Token units posted.
    /// @param disputeUntil End of the root's dispute window.
    /// @param recordsCid IPFS CID of the attribution records the root is computed from.
    event RecoveryRootProposed(
        uint64 indexed batchId,
        address indexed node,
        address indexed proposer,
        bytes32 root,
        uint256 totalCredit,
        uint256 bond,
        uint256 disputeUntil,
        string recordsCid
    );
    /// @notice A recovery root became final and its proposer's bond was credited back as earnings.
    /// @param batchId The recovery root's id.
    /// @param node The node whose pool it divides.
    /// @param proposer Who proposed it.
    /// @param bond Token units credited.
    event RecoveryBondReturned(uint64 indexed batchId, address indexed node, address indexed proposer, uint256 bond);

    /// @notice `caller` is not the arbiter.
    error NotArbiter(address caller);
    /// @notice `batchId` is not `node`'s pending root within its dispute window.
    error BatchNotChallengeable(address node, uint64 batchId);
    /// @notice `challenger` already has an open challenge of `node`'s root of `batchId`.
    error AlreadyChallenged(address node, uint64 batchId, address challenger);
    /// @notice `challenger` has no open challenge of `node`'s pending root of `batchId`.
    error NoOpenChallenge(address node, uint64 batchId, address challenger);
    /// @notice `challenger`'s challenge of `node`'s root of `batchId` is still open (the root is still pending).
    error ChallengeStillOpen(address node, uint64 batchId, address challenger);
    /// @notice `node` proposed a root or received pool funds at `silentSince` (zero: never), so a recovery root
    /// may be proposed only from `recoverableAt`.
    error NodeNotSilent(address node, uint256 silentSince, uint256 recoverableAt);
    /// @notice A recovery root needs the IPFS CID of the records it is computed from.
    error EmptyRecordsCid();

    constructor(address initialArbiter, uint256 initialBond, uint256 initialSlashAmount) {
        _setArbiter(initialArbiter);
        _setChallengeBond(initialBond);
        emit SlashAmountUpdated(0, initialSlashAmount);
        slashAmount = initialSlashAmount;
    }

    /// @notice Challenges `node`'s pending credit root proposed by `batchId`, pulling `challengeBond` from the caller.
    /// @dev Requires an ERC-20 approval for the bond. Several accounts may challenge one root; each gets its own
    /// ruling. Reverts with {BatchNotChallengeable} if the root is not pending or its window has passed, or
    /// {AlreadyChallenged} if the caller already has an open challenge of it.
    /// @param node The node whose pool the root divides.
    /// @param batchId The batch (or recovery root) whose root is challenged.
    function challenge(address node, uint64 batchId) external nonReentrant {
        NodeCredits storage c = _credits[node];
        if (batchId == 0 || c.pendingBatchId != batchId || block.timestamp >= c.pendingUntil) {
            revert BatchNotChallengeable(node, batchId);
        }
        Challenge storage opened = _challenges[node][batchId][msg.sender];
        if (opened.open) revert AlreadyChallenged(node, batchId, msg.sender);
        uint256 bond = challengeBond;
        // challengeBond is bounded to uint96 when set, so the cast is lossless.
        (opened.open, opened.bond) = (true, uint96(bond));
        _openChallenge(node);
        emit BatchChallenged(batchId, node, msg.sender, bond);
        if (bond > 0) _pullTokens(msg.sender, bond);
    }

    /// @notice Rules on `challenger`'s open challenge of `node`'s pending root of `batchId`.
    /// @dev Only the arbiter. Upheld: the root is discarded, the proposer penalized (the node's stake is
    /// slashed, or a recovery proposer's bond forfeited), the challenger paid its bond plus the reward and the
    /// rest of the penalty added to the node's contributor pool. Rejected: the bond is credited to the root's
    /// proposer. Reverts with {NotArbiter} or {NoOpenChallenge}.
    /// @param node The node whose pool the root divides.
    /// @param batchId The challenged batch.
    /// @param challenger Whose challenge is ruled on.
    /// @param upheld True if the root is wrong (discard it and penalize its proposer), false to dismiss the challenge.
    function resolveChallenge(address node, uint64 batchId, address challenger, bool upheld) external nonReentrant {
        if (msg.sender != arbiter) revert NotArbiter(msg.sender);
        if (batchId == 0 || _credits[node].pendingBatchId != batchId || !_challenges[node][batchId][challenger].open) {
            revert NoOpenChallenge(node, batchId, challenger);
        }
        uint256 bond = _challenges[node][batchId][challenger].bond;
        delete _challenges[node][batchId][challenger];
        RecoveryProposal memory recovery = _recoveries[node];
        if (upheld) {
            if (recovery.proposer != address(0)) delete _recoveries[node];
            _discardPendingRoot(node);
            uint256 penalty = recovery.proposer != address(0) ? recovery.bond : _slashToSelf(node);
            uint256 reward = penalty * CHALLENGER_REWARD_BPS / 10_000;
            _addToPool(node, penalty - reward);
            emit ChallengeUpheld(batchId, node, challenger, penalty, reward);
            if (bond + reward > 0) _pushTokens(challenger, bond + reward);
        } else {
            _creditEarnings(recovery.proposer != address(0) ? recovery.proposer : node, bond);
            emit ChallengeRejected(batchId, node, challenger, bond);
            _closeRejectedChallenge(node);
        }
    }

    /// @notice Returns the caller's bond of a challenge left open when another challenge of the same root was
    /// upheld (the root is gone, so this challenge has nothing left to rule on).
    /// @dev Reverts with {NoOpenChallenge} if the caller has no such challenge, {ChallengeStillOpen} while the
    /// root is still pending.
    /// @param node The node whose pool the root divided.
    /// @param batchId The batch whose root was discarded.
    /// @return bond Token units returned.
    function withdrawChallengeBond(address node, uint64 batchId) external nonReentrant returns (uint256 bond) {
        Challenge memory opened = _challenges[node][batchId][msg.sender];
        if (!opened.open) revert NoOpenChallenge(node, batchId, msg.sender);
        if (_credits[node].pendingBatchId == batchId) revert ChallengeStillOpen(node, batchId, msg.sender);
        delete _challenges[node][batchId][msg.sender];
        bond = opened.bond;
        emit ChallengeBondReturned(batchId, node, msg.sender, bond);
        if (bond > 0) _pushTokens(msg.sender, bond);
    }

    /// @notice Proposes a credit root for the contributor pool of a node that has been silent for
    /// `RECOVERY_DELAY`, pulling {recoveryBond} from the caller.
    /// @dev Anyone may call; needs an ERC-20 approval for the bond. The root is pending for `disputeWindow` and challengeable like a node's own; the
    /// same bounds hold (total between the final total and the pool). Final: the bond is credited back to the
    /// caller as earnings. Upheld challenge: the bond is the penalty. The node itself may propose again once it
    /// is resolved. Reverts with {NodeNotSilent}, {ZeroCreditRoot}, {EmptyRecordsCid}, {CreditRootPending},
    /// {CreditTotalDecreased} or {CreditTotalExceedsPool}.
    /// @param node The silent node whose pool the root divides.
    /// @param root StandardMerkleTree root over (account, cumulative credit from this node's pool).
    /// @param totalCredit Sum of the root's cumulative credits.
    /// @param recordsCid IPFS CID of the attribution records the root is computed from.
    /// @return batchId The id to challenge the root under.
    function proposeRecoveryRoot(address node, bytes32 root, uint256 totalCredit, string calldata recordsCid)
        external
        nonReentrant
        returns (uint64 batchId)
    {
        uint256 silentSince = _credits[node].silentSince;
        uint256 recoverableAt = silentSince + RECOVERY_DELAY;
        if (silentSince == 0 || block.timestamp < recoverableAt) revert NodeNotSilent(node, silentSince, recoverableAt);
        if (bytes(recordsCid).length == 0) revert EmptyRecordsCid();
        batchId = _newBatchId();
        uint256 disputeUntil = _proposeRoot(node, batchId, root, totalCredit);
        // At least what a node's own wrong root costs it, so a node cannot post its roots as recovery roots to
        // risk less than its slash.
        uint256 bond = recoveryBond();
        _recoveries[node] = RecoveryProposal(msg.sender, SafeCast.toUint96(bond));
        emit RecoveryRootProposed(batchId, node, msg.sender, root, totalCredit, bond, disputeUntil, recordsCid);
        if (bond > 0) _pullTokens(msg.sender, bond);
    }

    /// @notice Appoints the arbiter. Only governance; reverts with {ZeroAddress}.
    /// @param newArbiter The new arbiter (an EOA, a multisig or a verification-game contract).
    function setArbiter(address newArbiter) external onlyOwner {
        _setArbiter(newArbiter);
    }

    /// @notice Sets the bond for future challenges (and recovery roots, see {recoveryBond}). Only governance; reverts with
    /// {SafeCast.SafeCastOverflowedUintDowncast} above 96 bits.
    /// @param bond The bond in payment-token units.
    function setChallengeBond(uint256 bond) external onlyOwner {
        _setChallengeBond(bond);
    }

    /// @notice Sets the stake slashed when a challenge is upheld. Only governance.
    /// @param amount The slash in payment-token units (the registry caps it by the node's stake).
    function setSlashAmount(uint256 amount) external onlyOwner {
        emit SlashAmountUpdated(slashAmount, amount);
        slashAmount = amount;
    }

    /// @notice A challenger's open challenge of a node's root (zeros if none).
    /// @param node The node whose pool the root divides.
    /// @param batchId The batch.
    /// @param challenger The challenger.
    /// @return open Whether the challenge is open.
    /// @return bond Token units posted.
    function challengeOf(address node, uint64 batchId, address challenger)
        external
        view
        returns (bool open, uint256 bond)
    {
        Challenge memory opened = _challenges[node][batchId][challenger];
        return (opened.open, opened.bond);
    }

    /// @notice Bond a recovery root's proposer posts: the larger of `challengeBond` and `slashAmount`.
    /// @return The bond in payment-token units.
    function recoveryBond() public view returns (uint256) {
        uint256 bond = challengeBond;
        uint256 slash = slashAmount;
        return slash > bond ? slash : bond;
    }

    /// @notice Who proposed `node`'s pending recovery root and the bond it holds (zeros if none).
    /// @param node The node.
    /// @return proposer The proposer (zero: no recovery root pending).
    /// @return bond Token units posted.
    function recoveryOf(address node) external view returns (address proposer, uint256 bond) {
        RecoveryProposal memory recovery = _recoveries[node];
        return (recovery.proposer, recovery.bond);
    }

    /// @inheritdoc IStakeLock
    /// @dev A pending recovery root was proposed by someone else, so it does not lock the node's stake.
    function hasOpenDisputes(address node) external view returns (bool) {
        return _hasUnsettledRoot(node) && _recoveries[node].proposer == address(0);
    }

    /// @dev Credits `amount` (held by this contract) to `account`'s withdrawable earnings.
    function _creditEarnings(address account, uint256 amount) internal virtual;

    /// @dev A final recovery root returns its bond to the proposer, as earnings.
    function _afterRootFinalized(address node, uint64 batchId) internal override {
        RecoveryProposal memory recovery = _recoveries[node];
        if (recovery.proposer == address(0)) return;
        delete _recoveries[node];
        _creditEarnings(recovery.proposer, recovery.bond);
        emit RecoveryBondReturned(batchId, node, recovery.proposer, recovery.bond);
    }

    /// @dev Slashes `node` into this contract and returns what was taken. A node with no stake left (its
    /// stake can only leave while no root of its own is disputable) is not slashed, so the ruling still executes.
    function _slashToSelf(address node) private returns (uint256) {
        uint256 amount = slashAmount;
        if (amount == 0 || nodeRegistry.stakeOf(node) == 0) return 0;
        return nodeRegistry.slash(node, amount, address(this));
    }

    function _setArbiter(address newArbiter) private {
        if (newArbiter == address(0)) revert ZeroAddress();
        emit ArbiterUpdated(arbiter, newArbiter);
        arbiter = newArbiter;
    }

    function _setChallengeBond(uint256 bond) private {
        SafeCast.toUint96(bond);
        emit ChallengeBondUpdated(challengeBond, bond);
        challengeBond = bond;
    }
}
