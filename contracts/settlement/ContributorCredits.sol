// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";
import {CreditProof} from "./libraries/CreditProof.sol";

/// @title ContributorCredits
/// @notice Each node's contributor pool and the Merkle roots that divide it among contributors.
/// @dev A node's root commits to CUMULATIVE credits: leaf = keccak256(bytes.concat(keccak256(abi.encode(
/// account, cumulativeAmount)))), the OpenZeppelin StandardMerkleTree leaf for ["address","uint256"].
/// A new root is pending for `disputeWindow` seconds and then final without any transaction (claims
/// and new roots promote it lazily). A claim pays `cumulativeAmount - claimed[node][account]` against the
/// node's latest final root only, so one claim covers every batch so far: once a pending root's window has
/// passed unchallenged, a proof against the root it supersedes no longer pays (the claim promotes the new
/// root first), so later claimers never find the pool drained by proofs against a stale root. Safety bounds
/// that hold even for a dishonest root: a root's declared total never exceeds the node's cumulative contributor pool, and the
/// node's total claimed never exceeds its final root's declared total.
///
/// Gas: the final root's totals are stored under the root itself (`_finalTotals[node][root]`), and only the
/// node's current final root has an entry there. A claim walks its proof, then reads the totals stored
/// under the root it reached: one storage read both proves that root is the node's final one and gives
/// the totals to check and update, where comparing with `finalizedRoot` first would read a second cold
/// word (2,100 gas on every claim). Finalizing a root moves the claimed total to the new root's entry and
/// deletes the old one; creating that entry costs the finalization ~18k once per root, which ten claims
/// repay (a root covers every contributor the node ever credited, so it is claimed against many times).
abstract contract ContributorCredits is PaymentTokenHolder {
    /// @dev Four words per node. The final root's totals are in `_finalTotals`, keyed by the root.
    /// `openChallenges` counts the unresolved challenges of the pending root (several challengers may dispute
    /// one root, so none can hold it hostage). `silentSince` is when the node last proposed a root itself, or
    /// when its pool first received funds: from `silentSince + RECOVERY_DELAY` anyone may propose a bonded
    /// recovery root for the pool (see {BatchDisputes-proposeRecoveryRoot}).
    struct NodeCredits {
        bytes32 finalizedRoot;
        bytes32 pendingRoot;
        uint104 pendingTotal;
        uint64 pendingBatchId;
        uint40 pendingUntil;
        uint32 openChallenges;
        uint128 pool;
        uint40 silentSince;
    }

    /// @dev The totals of a node's final root, in one word: what the root credits and what has been claimed
    /// from the node in all (`claimed <= credited`; `claimed` carries over to each newly final root), and
    /// `supersededAt`, the time from which an unchallenged pending root replaces this one (zero while there is
    /// none or it is challenged). A claim reads this word anyway, so checking for a newer final root costs it
    /// no extra storage read.
    struct FinalTotals {
        uint104 credited;
        uint104 claimed;
        uint48 supersededAt;
    }

    /// @notice One node's part of a multi-node claim.
    struct NodeClaim {
        address node;
        uint256 cumulativeAmount;
        bytes32[] proof;
    }

    /// @notice Seconds a new credit root can be challenged before it becomes final.
    uint256 public immutable disputeWindow;

    mapping(address node => NodeCredits) internal _credits;
    /// @dev Nonzero only under each node's current final root (see the contract's gas note).
    mapping(address node => mapping(bytes32 root => FinalTotals)) private _finalTotals;
    /// @dev A struct, not a bare uint256, so a claim computes the account's slot once for read and write.
    struct AccountClaims {
        uint256 claimed;
    }

    mapping(address node => mapping(address account => AccountClaims)) private _claims;

    /// @notice A node's contributor pool grew.
    /// @param node The node.
    /// @param amount Token units added.
    /// @param pool The cumulative pool now.
    event ContributorPoolIncreased(address indexed node, uint256 amount, uint256 pool);
    /// @notice A pending credit root became the node's final root.
    /// @param node The node.
    /// @param batchId The batch that proposed it.
    /// @param root The root claims are now proven against.
    /// @param total Cumulative credit it declares.
    event CreditRootFinalized(address indexed node, uint64 indexed batchId, bytes32 root, uint256 total);
    /// @notice A contributor claimed from a node's pool. The running total is {claimedOf}; leaving it out
    /// of the event keeps a claim within its gas budget.
    /// @param node The node.
    /// @param account The contributor, who received the tokens.
    /// @param amount Token units paid now.
    event CreditsClaimed(address indexed node, address indexed account, uint256 amount);

    /// @notice `node` already has the pending root of `batchId`, challengeable until `pendingUntil` (or under challenge).
    error CreditRootPending(address node, uint64 batchId, uint256 pendingUntil);
    /// @notice A new root declares `total`, below `node`'s current final total `finalizedTotal` (credits are cumulative).
    error CreditTotalDecreased(address node, uint256 finalizedTotal, uint256 total);
    /// @notice A root declares `total`, above `node`'s cumulative contributor pool `pool`.
    error CreditTotalExceedsPool(address node, uint256 total, uint256 pool);
    /// @notice `node` has no final credit root yet.
    error NoFinalizedCreditRoot(address node);
    /// @notice `node` has no pending root that is past its dispute window and unchallenged.
    error NothingToFinalize(address node);
    /// @notice The proof does not show (`account`, `cumulativeAmount`) in `node`'s final root.
    error InvalidCreditProof(address node, address account, uint256 cumulativeAmount);
    /// @notice `account` already claimed `claimed` from `node`, not less than `cumulativeAmount`.
    error NothingToClaim(address node, address account, uint256 cumulativeAmount, uint256 claimed);
    /// @notice Claims from `node` would reach `claimedTotal`, above its final root's total `finalizedTotal`.
    error ClaimsExceedCredited(address node, uint256 finalizedTotal, uint256 claimedTotal);
    /// @notice A multi-node claim with no entries.
    error EmptyClaim();
    /// @notice A credit root was zero.
    error ZeroCreditRoot();

    constructor(uint256 window) {
        disputeWindow = window;
    }

    /// @notice Pays `account` what `node`'s final root credits it beyond what it already claimed.
    /// @dev Anyone may call; the tokens always go to `account`. Reverts with {NoFinalizedCreditRoot},
    /// {InvalidCreditProof}, {NothingToClaim} or {ClaimsExceedCredited}.
    /// @param node The node whose contributor pool pays.
    /// @param account The contributor.
    /// @param cumulativeAmount The account's cumulative credit in the node's final root.
    /// @param proof StandardMerkleTree proof of the leaf (account, cumulativeAmount).
    /// @return amount Token units paid.
    function claim(address node, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 amount)
    {
        amount = _claim(node, account, cumulativeAmount, proof);
        _pushTokens(account, amount);
    }

    /// @notice Claims `account`'s credits from several nodes with one token transfer.
    /// @dev Reverts with {EmptyClaim}, or the first failing node's error as in {claim}.
    /// @param account The contributor.
    /// @param claims One entry per node: node, cumulative amount, proof.
    /// @return total Token units paid.
    function claimMany(address account, NodeClaim[] calldata claims) external nonReentrant returns (uint256 total) {
        if (claims.length == 0) revert EmptyClaim();
        for (uint256 i = 0; i < claims.length; ++i) {
            total += _claim(claims[i].node, account, claims[i].cumulativeAmount, claims[i].proof);
        }
        _pushTokens(account, total);
    }

    /// @notice Makes `node`'s pending root final once its dispute window has passed unchallenged.
    /// @dev Optional: claims and new roots do this lazily. Reverts with {NothingToFinalize}.
    /// @param node The node whose pending root to finalize.
    function finalizeCreditRoot(address node) external {
        if (!_promotePendingIfFinal(node)) revert NothingToFinalize(node);
    }

    /// @notice A contributor's cumulative claimed amount from a node.
    /// @param node The node.
    /// @param account The contributor.
    /// @return The claimed total.
    function claimedOf(address node, address account) external view returns (uint256) {
        return _claims[node][account].claimed;
    }

    /// @notice A node's credit state as claims see it now (a pending root past its window counts as final).
    /// @param node The node.
    /// @return finalizedRoot Root claims are proven against.
    /// @return finalizedTotal Total credited by that root.
    /// @return claimedTotal Total claimed from the node.
    /// @return pool Cumulative contributor pool of the node.
    /// @return pendingRoot Root still in its dispute window or under challenge (zero if none).
    /// @return pendingBatchId Batch that proposed the pending root.
    /// @return pendingUntil End of the pending root's dispute window.
    /// @return pendingChallenged Whether the pending root is under challenge.
    function creditsOf(address node)
        external
        view
        returns (
            bytes32 finalizedRoot,
            uint256 finalizedTotal,
            uint256 claimedTotal,
            uint256 pool,
            bytes32 pendingRoot,
            uint64 pendingBatchId,
            uint256 pendingUntil,
            bool pendingChallenged
        )
    {
        NodeCredits storage c = _credits[node];
        FinalTotals memory totals = _finalTotals[node][c.finalizedRoot];
        (finalizedRoot, finalizedTotal, claimedTotal, pool) = (c.finalizedRoot, totals.credited, totals.claimed, c.pool);
        if (_isPendingFinal(c)) {
            (finalizedRoot, finalizedTotal) = (c.pendingRoot, c.pendingTotal);
        } else {
            (pendingRoot, pendingBatchId, pendingUntil, pendingChallenged) =
                (c.pendingRoot, c.pendingBatchId, c.pendingUntil, c.openChallenges != 0);
        }
    }

    /// @dev Adds `amount` to `node`'s cumulative contributor pool; the pool's first funds start its silence
    /// clock (see {NodeCredits}).
    function _addToPool(address node, uint256 amount) internal {
        if (amount == 0) return;
        NodeCredits storage c = _credits[node];
        uint256 pool = c.pool + amount;
        c.pool = SafeCast.toUint128(pool);
        if (c.silentSince == 0) c.silentSince = uint40(block.timestamp);
        emit ContributorPoolIncreased(node, amount, pool);
    }

    /// @dev The node itself proposes `root` (declaring `total`) from batch `batchId`, which restarts its
    /// silence clock.
    function _proposeCreditRoot(address node, uint64 batchId, bytes32 root, uint256 total)
        internal
        returns (uint256 pendingUntil)
    {
        pendingUntil = _proposeRoot(node, batchId, root, total);
        _credits[node].silentSince = uint40(block.timestamp);
    }

    /// @dev Records `root` (declaring `total`) as `node`'s pending root from batch `batchId`, and marks the
    /// final root as superseded from the end of the new root's window.
    function _proposeRoot(address node, uint64 batchId, bytes32 root, uint256 total)
        internal
        returns (uint256 pendingUntil)
    {
        if (root == bytes32(0)) revert ZeroCreditRoot();
        _promotePendingIfFinal(node);
        NodeCredits storage c = _credits[node];
        if (c.pendingBatchId != 0) revert CreditRootPending(node, c.pendingBatchId, c.pendingUntil);
        uint256 finalizedTotal = _finalTotals[node][c.finalizedRoot].credited;
        if (total < finalizedTotal) revert CreditTotalDecreased(node, finalizedTotal, total);
        if (total > c.pool) revert CreditTotalExceedsPool(node, total, c.pool);
        pendingUntil = block.timestamp + disputeWindow;
        c.pendingRoot = root;
        c.pendingTotal = SafeCast.toUint104(total);
        c.pendingBatchId = batchId;
        c.pendingUntil = SafeCast.toUint40(pendingUntil);
        _setSupersededAt(node, pendingUntil);
    }

    /// @dev Counts a new challenge of `node`'s pending root; the first one stops the root from superseding the
    /// final one (claims stay on the final root while the challenge is open).
    function _openChallenge(address node) internal {
        NodeCredits storage c = _credits[node];
        uint32 open = ++c.openChallenges;
        if (open == 1) _setSupersededAt(node, 0);
    }

    /// @dev Closes one rejected challenge of `node`'s pending root. With none left the root supersedes the final
    /// one at the end of its window again, or at once if the window has passed.
    function _closeRejectedChallenge(address node) internal {
        NodeCredits storage c = _credits[node];
        if (--c.openChallenges != 0) return;
        if (block.timestamp >= c.pendingUntil) _finalizePendingRoot(node);
        else _setSupersededAt(node, c.pendingUntil);
    }

    /// @dev Discards `node`'s pending root: claims stay on the previous final root and the pool keeps the
    /// batch's contributor share for a corrected root.
    function _discardPendingRoot(address node) internal {
        _clearPendingRoot(node);
        _setSupersededAt(node, 0);
    }

    /// @dev Called when `node`'s pending root of `batchId` became final (the dispute layer refunds a recovery
    /// root's bond here).
    function _afterRootFinalized(address node, uint64 batchId) internal virtual;

    /// @dev A fresh batch id for a root proposed outside a settlement batch (shares the batch counter).
    function _newBatchId() internal virtual returns (uint64);

    /// @dev True while `node` has a pending root that is not final yet (in its window or challenged).
    function _hasUnsettledRoot(address node) internal view returns (bool) {
        NodeCredits storage c = _credits[node];
        return c.pendingBatchId != 0 && !_isPendingFinal(c);
    }

    function _clearPendingRoot(address node) private {
        NodeCredits storage c = _credits[node];
        (c.pendingRoot, c.pendingTotal, c.pendingBatchId, c.pendingUntil, c.openChallenges) = (bytes32(0), 0, 0, 0, 0);
    }

    /// @dev Writes the time the final root stops paying (zero: not superseded); nothing to do without one.
    function _setSupersededAt(address node, uint256 time) private {
        bytes32 finalRoot = _credits[node].finalizedRoot;
        if (finalRoot != bytes32(0)) _finalTotals[node][finalRoot].supersededAt = uint48(time);
    }

    /// @dev Makes `node`'s pending root final now, whatever its window (used when a challenge is rejected).
    function _finalizePendingRoot(address node) internal {
        NodeCredits storage c = _credits[node];
        uint64 batchId = c.pendingBatchId;
        bytes32 root = c.pendingRoot;
        uint104 total = c.pendingTotal;
        // Move the claimed total from the previous final root's entry to the new one's, so only the final root
        // has an entry (the previous root may be the same one, proposed again: delete, then write).
        mapping(bytes32 anyRoot => FinalTotals) storage totalsOf = _finalTotals[node];
        uint104 claimed = totalsOf[c.finalizedRoot].claimed;
        delete totalsOf[c.finalizedRoot];
        totalsOf[root] = FinalTotals(total, claimed, 0);
        c.finalizedRoot = root;
        _clearPendingRoot(node);
        emit CreditRootFinalized(node, batchId, root, total);
        _afterRootFinalized(node, batchId);
    }

    function _promotePendingIfFinal(address node) private returns (bool promoted) {
        if (_isPendingFinal(_credits[node])) {
            _finalizePendingRoot(node);
            return true;
        }
        return false;
    }

    function _isPendingFinal(NodeCredits storage c) private view returns (bool) {
        return c.pendingBatchId != 0 && c.openChallenges == 0 && block.timestamp >= c.pendingUntil;
    }

    function _claim(address node, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        returns (uint256 amount)
    {
        bytes32 provenRoot = CreditProof.processProof(proof, CreditProof.leaf(account, cumulativeAmount));
        FinalTotals storage totals = _finalTotals[node][provenRoot];
        FinalTotals memory current = totals;
        if (current.credited == 0 || (current.supersededAt != 0 && block.timestamp >= current.supersededAt)) {
            // Not the final root, a final root crediting nothing, or a final root an unchallenged pending root
            // has superseded. A pending root whose window has passed becomes final now; then the errors tell
            // which case it is (a proof against the superseded root fails with InvalidCreditProof).
            _promotePendingIfFinal(node);
            bytes32 root = _credits[node].finalizedRoot;
            if (root == bytes32(0)) revert NoFinalizedCreditRoot(node);
            if (provenRoot != root) revert InvalidCreditProof(node, account, cumulativeAmount);
            current = totals;
        }
        AccountClaims storage accountClaims = _claims[node][account];
        uint256 alreadyClaimed = accountClaims.claimed;
        if (cumulativeAmount <= alreadyClaimed) revert NothingToClaim(node, account, cumulativeAmount, alreadyClaimed);
        // cumulativeAmount > alreadyClaimed was just checked, so the subtraction cannot underflow.
        unchecked {
            amount = cumulativeAmount - alreadyClaimed;
        }
        uint256 claimedTotal = current.claimed + amount;
        if (claimedTotal > current.credited) revert ClaimsExceedCredited(node, current.credited, claimedTotal);
        accountClaims.claimed = cumulativeAmount;
        // Bounded by credited (a uint104) just above, so the cast is lossless. Assigning all fields writes the
        // word once.
        (totals.credited, totals.claimed, totals.supersededAt) =
            (current.credited, uint104(claimedTotal), current.supersededAt);
        emit CreditsClaimed(node, account, amount);
    }
}
