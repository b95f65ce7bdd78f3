// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ActiveNodes} from "./ActiveNodes.sol";
import {ContributorCredits} from "./ContributorCredits.sol";
import {RevenueLedger} from "./RevenueLedger.sol";

/// @title BatchDisputes
/// @notice Challenges against a node's pending credit root, resolved by a governance-appointed arbiter.
/// @dev Anyone who recomputes a batch from its public attribution records (the batch's records CID and
/// the Datanet version they reference) and finds a different root may challenge it during the dispute
/// window by posting `challengeBond`. The challenge freezes the root until the arbiter resolves it:
/// - upheld: the root is discarded (claims stay on the previous final root, the batch's contributor
///   share stays in the node's pool for a corrected root), the bond returns to the challenger and the
///   node is slashed by `slashAmount` (capped by its stake) in the challenger's favour;
/// - rejected: the root becomes final at once and the bond goes to the node as earnings, paying it for
///   the delay and making frivolous challenges cost the challenger.
/// Only roots are disputable: the batch's voucher redemptions and revenue splits are final at settlement,
/// because signatures already prove them; what a node could fake is the attribution.
/// Decentralizing the arbiter: the arbiter is an address, so governance can replace a trusted key with a
/// contract without changing this one, e.g. (1) optimistic re-execution, where bonded verifiers recompute
/// the attribution deterministically from the records CID and a bisection game over the records pins the
/// first diverging record for on-chain checking; or (2) a bonded verifier committee, drawn at random per
/// challenge, voting with their stake at risk, with appeals escalating to a larger committee.
abstract contract BatchDisputes is RevenueLedger, ContributorCredits, ActiveNodes {
    struct Challenge {
        address challenger;
        uint96 bond;
    }

    /// @notice Account that resolves challenges (see the contract notice for how it decentralizes).
    address public arbiter;
    /// @notice Bond a challenger posts, in payment-token units.
    uint256 public challengeBond;
    /// @notice Stake taken from a node whose root a challenge proves wrong (capped by the node's stake).
    uint256 public slashAmount;

    mapping(uint64 batchId => Challenge) private _challenges;

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
    /// @param node The node that settled the batch.
    /// @param challenger Who challenged.
    /// @param bond Token units posted.
    event BatchChallenged(uint64 indexed batchId, address indexed node, address indexed challenger, uint256 bond);
    /// @notice The arbiter upheld a challenge: the root is discarded and the node slashed.
    /// @param batchId The challenged batch.
    /// @param node The slashed node.
    /// @param challenger Who received the bond back and the slashed stake.
    /// @param slashed Stake taken (capped by the node's stake).
    event ChallengeUpheld(uint64 indexed batchId, address indexed node, address indexed challenger, uint256 slashed);
    /// @notice The arbiter rejected a challenge: the root is final and the bond went to the node.
    /// @param batchId The challenged batch.
    /// @param node The node, credited the bond as earnings.
    /// @param challenger Who lost the bond.
    /// @param bond Token units forfeited.
    event ChallengeRejected(uint64 indexed batchId, address indexed node, address indexed challenger, uint256 bond);

    /// @notice `caller` is not the arbiter.
    error NotArbiter(address caller);
    /// @notice `batchId` is not `node`'s pending root within its dispute window, or is already challenged.
    error BatchNotChallengeable(address node, uint64 batchId);
    /// @notice `batchId` is not `node`'s pending root under challenge.
    error NoOpenChallenge(address node, uint64 batchId);

    constructor(address initialArbiter, uint256 initialBond, uint256 initialSlashAmount) {
        _setArbiter(initialArbiter);
        _setChallengeBond(initialBond);
        emit SlashAmountUpdated(0, initialSlashAmount);
        slashAmount = initialSlashAmount;
    }

    /// @notice Challenges `node`'s pending credit root proposed by `batchId`, pulling `challengeBond` from the caller.
    /// @dev Requires an ERC-20 approval for the bond. Reverts with {BatchNotChallengeable} if the root is
    /// not pending, its window has passed, or it is already challenged.
    /// @param node The node that settled the batch.
    /// @param batchId The batch whose root is challenged.
    function challenge(address node, uint64 batchId) external nonReentrant {
        NodeCredits storage c = _credits[node];
        if (batchId == 0 || c.pendingBatchId != batchId || c.pendingChallenged || block.timestamp >= c.pendingUntil) {
            revert BatchNotChallengeable(node, batchId);
        }
        c.pendingChallenged = true;
        uint256 bond = challengeBond;
        // challengeBond is bounded to uint96 when set, so the cast is lossless.
        _challenges[batchId] = Challenge(msg.sender, uint96(bond));
        emit BatchChallenged(batchId, node, msg.sender, bond);
        if (bond > 0) _pullTokens(msg.sender, bond);
    }

    /// @notice Resolves the open challenge against `node`'s root of `batchId`.
    /// @dev Only the arbiter. Reverts with {NotArbiter} or {NoOpenChallenge}.
    /// @param node The node that settled the batch.
    /// @param batchId The challenged batch.
    /// @param upheld True if the root is wrong (discard it and slash the node), false to confirm it.
    function resolveChallenge(address node, uint64 batchId, bool upheld) external nonReentrant {
        if (msg.sender != arbiter) revert NotArbiter(msg.sender);
        NodeCredits storage c = _credits[node];
        if (batchId == 0 || c.pendingBatchId != batchId || !c.pendingChallenged) revert NoOpenChallenge(node, batchId);
        Challenge memory open = _challenges[batchId];
        delete _challenges[batchId];
        if (upheld) {
            _discardPendingRoot(node);
            if (open.bond > 0) _pushTokens(open.challenger, open.bond);
            uint256 slashed = slashAmount > 0 ? nodeRegistry.slash(node, slashAmount, open.challenger) : 0;
            emit ChallengeUpheld(batchId, node, open.challenger, slashed);
        } else {
            _finalizePendingRoot(node);
            _creditEarnings(node, open.bond);
            emit ChallengeRejected(batchId, node, open.challenger, open.bond);
        }
    }

    /// @notice Appoints the arbiter. Only governance; reverts with {ZeroAddress}.
    /// @param newArbiter The new arbiter (an EOA, a multisig or a verification-game contract).
    function setArbiter(address newArbiter) external onlyOwner {
        _setArbiter(newArbiter);
    }

    /// @notice Sets the bond for future challenges. Only governance; reverts with
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

    /// @notice The open challenge of a batch (zeros if none).
    /// @param batchId The batch.
    /// @return challenger Who challenged.
    /// @return bond Token units posted.
    function challengeOf(uint64 batchId) external view returns (address challenger, uint256 bond) {
        Challenge memory open = _challenges[batchId];
        return (open.challenger, open.bond);
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
