// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";

/// @title ContributorCredits
/// @notice Each node's contributor pool and the Merkle roots that divide it among contributors.
/// @dev A node's root commits to CUMULATIVE credits: leaf = keccak256(bytes.concat(keccak256(abi.encode(
/// account, cumulativeAmount)))), the OpenZeppelin StandardMerkleTree leaf for ["address","uint256"].
/// A new root is pending for `disputeWindow` seconds and then final without any transaction (claims
/// and new roots promote it lazily). A claim pays `cumulativeAmount - claimed[node][account]` against the
/// node's latest final root, so one claim covers every batch so far. Safety bounds that hold even for a
/// dishonest root: a root's declared total never exceeds the node's cumulative contributor pool, and the
/// node's total claimed never exceeds its final root's declared total.
abstract contract ContributorCredits is PaymentTokenHolder {
    /// @dev Five words per node; a routine claim reads only `finalizedRoot` and the totals word.
    struct NodeCredits {
        bytes32 finalizedRoot;
        bytes32 pendingRoot;
        uint128 finalizedTotal;
        uint128 claimedTotal;
        uint128 pendingTotal;
        uint64 pendingBatchId;
        uint40 pendingUntil;
        bool pendingChallenged;
        uint256 pool;
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
        NodeCredits memory c = _credits[node];
        if (_isPendingFinal(_credits[node])) {
            (c.finalizedRoot, c.finalizedTotal) = (c.pendingRoot, c.pendingTotal);
            (c.pendingRoot, c.pendingTotal, c.pendingBatchId, c.pendingUntil) = (bytes32(0), 0, 0, 0);
        }
        return (
            c.finalizedRoot,
            c.finalizedTotal,
            c.claimedTotal,
            c.pool,
            c.pendingRoot,
            c.pendingBatchId,
            c.pendingUntil,
            c.pendingChallenged
        );
    }

    /// @dev Adds `amount` to `node`'s cumulative contributor pool.
    function _addToPool(address node, uint256 amount) internal {
        if (amount == 0) return;
        uint256 pool = _credits[node].pool + amount;
        _credits[node].pool = pool;
        emit ContributorPoolIncreased(node, amount, pool);
    }

    /// @dev Records `root` (declaring `total`) as `node`'s pending root from batch `batchId`.
    function _proposeCreditRoot(address node, uint64 batchId, bytes32 root, uint256 total)
        internal
        returns (uint256 pendingUntil)
    {
        _promotePendingIfFinal(node);
        NodeCredits storage c = _credits[node];
        if (c.pendingBatchId != 0) revert CreditRootPending(node, c.pendingBatchId, c.pendingUntil);
        if (total < c.finalizedTotal) revert CreditTotalDecreased(node, c.finalizedTotal, total);
        if (total > c.pool) revert CreditTotalExceedsPool(node, total, c.pool);
        pendingUntil = block.timestamp + disputeWindow;
        c.pendingRoot = root;
        c.pendingTotal = SafeCast.toUint128(total);
        c.pendingBatchId = batchId;
        c.pendingUntil = SafeCast.toUint40(pendingUntil);
    }

    /// @dev Discards `node`'s pending root: claims stay on the previous final root and the pool keeps the
    /// batch's contributor share for a corrected root.
    function _discardPendingRoot(address node) internal {
        NodeCredits storage c = _credits[node];
        (c.pendingRoot, c.pendingTotal, c.pendingBatchId, c.pendingUntil, c.pendingChallenged) =
            (bytes32(0), 0, 0, 0, false);
    }

    /// @dev Makes `node`'s pending root final now, whatever its window (used when a challenge is rejected).
    function _finalizePendingRoot(address node) internal {
        NodeCredits storage c = _credits[node];
        uint64 batchId = c.pendingBatchId;
        bytes32 root = c.pendingRoot;
        uint128 total = c.pendingTotal;
        (c.finalizedRoot, c.finalizedTotal) = (root, total);
        _discardPendingRoot(node);
        emit CreditRootFinalized(node, batchId, root, total);
    }

    function _promotePendingIfFinal(address node) private returns (bool promoted) {
        if (_isPendingFinal(_credits[node])) {
            _finalizePendingRoot(node);
            return true;
        }
        return false;
    }

    function _isPendingFinal(NodeCredits storage c) private view returns (bool) {
        return c.pendingBatchId != 0 && !c.pendingChallenged && block.timestamp >= c.pendingUntil;
    }

    function _claim(address node, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        returns (uint256 amount)
    {
        NodeCredits storage c = _credits[node];
        bytes32 leaf = _creditLeaf(account, cumulativeAmount);
        bytes32 root = c.finalizedRoot;
        // Try the final root first so a routine claim never reads the pending word; only when that fails
        // may the proof be against a pending root whose window has passed: promote it and retry.
        if (root == bytes32(0) || !MerkleProof.verifyCalldata(proof, root, leaf)) {
            if (_promotePendingIfFinal(node)) root = c.finalizedRoot;
            if (root == bytes32(0)) revert NoFinalizedCreditRoot(node);
            if (!MerkleProof.verifyCalldata(proof, root, leaf)) {
                revert InvalidCreditProof(node, account, cumulativeAmount);
            }
        }
        AccountClaims storage accountClaims = _claims[node][account];
        uint256 alreadyClaimed = accountClaims.claimed;
        if (cumulativeAmount <= alreadyClaimed) revert NothingToClaim(node, account, cumulativeAmount, alreadyClaimed);
        amount = cumulativeAmount - alreadyClaimed;
        uint256 claimedTotal = c.claimedTotal + amount;
        if (claimedTotal > c.finalizedTotal) revert ClaimsExceedCredited(node, c.finalizedTotal, claimedTotal);
        accountClaims.claimed = cumulativeAmount;
        // Bounded by finalizedTotal (a uint128) just above, so the cast is lossless.
        c.claimedTotal = uint128(claimedTotal);
        emit CreditsClaimed(node, account, amount);
    }

    /// @dev keccak256(bytes.concat(keccak256(abi.encode(account, amount)))), the StandardMerkleTree leaf,
    /// hashed in the scratch space so a claim allocates no memory for it.
    function _creditLeaf(address account, uint256 amount) private pure returns (bytes32 leaf) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, amount)
            mstore(0x00, keccak256(0x00, 0x40))
            leaf := keccak256(0x00, 0x20)
        }
    }
}
