// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ActiveNodes} from "./ActiveNodes.sol";
import {ContributorPools, IEarningsLedger} from "./ContributorPools.sol";
import {InferenceRequests} from "./InferenceRequests.sol";
import {PaymentEscrow} from "./PaymentEscrow.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";
import {RevenueLedger} from "./RevenueLedger.sol";
import {VoucherChannels} from "./VoucherChannels.sol";
import {VoucherSkipReason} from "./VoucherSkipReason.sol";
import {RevenueSplit} from "./libraries/RevenueSplit.sol";

/// @title Settlement
/// @notice Tributary's money contract: payer escrow, voucher channels to nodes, on-chain inference
/// requests and settlement batches that split model revenue. Each batch's contributor share, the credit
/// roots that divide it, their disputes and the claims live in {ContributorPools}, which this contract
/// creates and feeds (one contract would exceed the EIP-170 code size limit). Every ledger is in one ERC-20
/// fixed at deployment.
/// @dev Token conservation: the contract's token balance equals the sum of escrow balances, unspent
/// channel funds, fees of open inference requests, earnings and accrued protocol fees; contributor pools
/// and bonds are held by {contributorPools}.
contract Settlement is VoucherChannels, InferenceRequests, IEarningsLedger {
    /// @notice Deployment parameters (a struct keeps the constructor readable).
    /// @param token The payment ERC-20.
    /// @param nodes The NodeRegistry (this contract needs its SLASHER_ROLE).
    /// @param models The ModelRegistry.
    /// @param governance Owner: sets protocol fee, arbiter, bond and slash amount.
    /// @param arbiter Resolves challenges.
    /// @param protocolFeeBps Initial protocol fee (at most {MAX_PROTOCOL_FEE_BPS}).
    /// @param withdrawalDelay Seconds between a withdrawal request and its execution.
    /// @param disputeWindow Seconds a credit root can be challenged.
    /// @param inferenceTimeout Seconds an on-chain request stays servable.
    /// @param challengeBond Bond a challenger posts.
    /// @param slashAmount Stake slashed when a challenge is upheld.
    struct Params {
        IERC20 token;
        INodeRegistry nodes;
        IModelRegistry models;
        address governance;
        address arbiter;
        uint256 protocolFeeBps;
        uint256 withdrawalDelay;
        uint256 disputeWindow;
        uint256 inferenceTimeout;
        uint256 challengeBond;
        uint256 slashAmount;
    }

    /// @dev Running totals of a batch's redemptions and splits.
    struct BatchTotals {
        uint256 redeemed;
        uint256 protocolFee;
        uint256 nodeShare;
        uint256 contributorPool;
    }

    /// @notice The contributor pools, credit roots, disputes and claims this contract feeds.
    ContributorPools public immutable contributorPools;

    /// @notice A node settled a batch. Voucher details are in the transaction's calldata, per-model splits
    /// in {ModelRevenueSplit} events and skipped vouchers in {VoucherSkipped} events, so no event is paid
    /// for per redeemed voucher.
    /// @param batchId The new batch.
    /// @param node The settling node.
    /// @param creditRoot The proposed cumulative credit root (zero: none).
    /// @param voucherCount Vouchers submitted (skipped ones included).
    /// @param redeemed Token units the vouchers redeemed.
    /// @param contributorPool Token units the batch added to the node's contributor pool.
    /// @param totalCredit Cumulative credit the root declares.
    /// @param disputeUntil End of the root's dispute window (zero without a root).
    /// @param recordsCid IPFS CID of the attribution records.
    event BatchSettled(
        uint64 indexed batchId,
        address indexed node,
        bytes32 indexed creditRoot,
        uint256 voucherCount,
        uint256 redeemed,
        uint256 contributorPool,
        uint256 totalCredit,
        uint256 disputeUntil,
        string recordsCid
    );

    /// @notice The batch has no vouchers, no revenue and no credit root.
    error EmptyBatch();
    /// @notice A voucher of the batch was not redeemed; it changed nothing and the rest of the batch settled.
    /// @param batchId The batch.
    /// @param payer The voucher's payer.
    /// @param modelId The voucher's model.
    /// @param cumulativeAmount The voucher's cumulative amount.
    /// @param reason Why (see {VoucherSkipReason}).
    event VoucherSkipped(
        uint64 indexed batchId,
        address indexed payer,
        uint256 indexed modelId,
        uint256 cumulativeAmount,
        VoucherSkipReason reason
    );

    /// @notice A batch without a credit root declared a nonzero `totalCredit`, or one with a root has no records CID.
    error CreditCommitmentInvalid(bytes32 creditRoot, uint256 totalCredit);
    /// @notice `caller` is not {contributorPools}.
    error NotContributorPools(address caller);

    constructor(Params memory params)
        PaymentTokenHolder(params.token)
        PaymentEscrow(params.withdrawalDelay)
        EIP712("Tributary", "1")
        RevenueLedger(params.models, params.protocolFeeBps)
        Ownable(params.governance)
        ActiveNodes(params.nodes)
        InferenceRequests(params.inferenceTimeout)
    {
        if (address(params.nodes) == address(0)) revert ZeroAddress();
        contributorPools = new ContributorPools(
            ContributorPools.Params(
                params.token,
                params.nodes,
                params.governance,
                params.arbiter,
                params.disputeWindow,
                params.challengeBond,
                params.slashAmount
            )
        );
    }

    /// @notice Settles a batch for the calling node: redeems its vouchers, splits what they redeemed by the
    /// model and terms version each voucher signed and, optionally, proposes a new cumulative contributor
    /// credit root.
    /// @dev Only an active node. A voucher that cannot be redeemed (stale, bad signature, unauthorized,
    /// expired or over-cap session key, short funds, unknown or long-superseded terms) is skipped with a
    /// {VoucherSkipped} event and changes nothing; the batch never reverts because of one voucher. Revenue
    /// is split once per run of consecutive vouchers with the same (model, terms version), so a node sorts its
    /// vouchers by model and version to pay for one split per model. A terms version superseded
    /// `withdrawalDelay` or longer ago is no longer accepted, so a node redeems within the withdrawal delay.
    /// A nonzero `creditRoot` needs no other pending root on the node, and `totalCredit` between the node's
    /// final total and its cumulative pool including this batch. Reverts with {NodeNotActive}, {EmptyBatch},
    /// {CreditCommitmentInvalid} and the credit-root errors of {ContributorPools}.
    /// @param vouchers Latest vouchers per channel (payer, model, terms version, cumulative amount, compact
    /// signature), best sorted by (model, terms version).
    /// @param creditRoot StandardMerkleTree root over (account, cumulative credit) for this node, or zero.
    /// @param totalCredit Sum of the root's cumulative credits (zero without a root).
    /// @param recordsCid IPFS CID of the batch's attribution records, from which anyone can recompute the root.
    /// @return batchId The new batch's id.
    function settleBatch(
        SignedVoucher[] calldata vouchers,
        bytes32 creditRoot,
        uint256 totalCredit,
        string calldata recordsCid
    ) external onlyActiveNode returns (uint64 batchId) {
        if (vouchers.length == 0 && creditRoot == bytes32(0)) revert EmptyBatch();
        if (creditRoot == bytes32(0) ? totalCredit != 0 : bytes(recordsCid).length == 0) {
            revert CreditCommitmentInvalid(creditRoot, totalCredit);
        }
        ContributorPools pools = contributorPools;
        // The id comes first (skipped vouchers' events carry it); the pool and root are recorded after the split.
        batchId = pools.batchCount() + 1;
        BatchTotals memory totals = _redeemAndSplit(batchId, msg.sender, vouchers);
        _bookProtocolAndNode(msg.sender, totals.protocolFee, totals.nodeShare);
        if (totals.contributorPool > 0) _pushTokens(address(pools), totals.contributorPool);
        uint256 disputeUntil;
        (batchId, disputeUntil) = pools.recordBatch(msg.sender, totals.contributorPool, creditRoot, totalCredit);
        emit BatchSettled(
            batchId,
            msg.sender,
            creditRoot,
            vouchers.length,
            totals.redeemed,
            totals.contributorPool,
            totalCredit,
            disputeUntil,
            recordsCid
        );
    }

    /// @notice Credits a bond the pools owe `account` (a rejected challenge's, a final recovery root's) to its
    /// earnings; the pools transferred the tokens first.
    /// @dev Only {contributorPools}; reverts with {NotContributorPools}.
    /// @param account Who earned it.
    /// @param amount Token units.
    function creditEarnings(address account, uint256 amount) external {
        if (msg.sender != address(contributorPools)) revert NotContributorPools(msg.sender);
        _creditEarnings(account, amount);
    }

    /// @notice Number of batch ids given out (settled batches and recovery roots); ids are 1..batchCount.
    /// @return The count, kept by {contributorPools}.
    function batchCount() external view returns (uint64) {
        return contributorPools.batchCount();
    }

    /// @dev Moves an on-chain fee's contributor share to the pools and adds it to the node's pool.
    function _addToPool(address node, uint256 amount) internal override {
        if (amount == 0) return;
        ContributorPools pools = contributorPools;
        _pushTokens(address(pools), amount);
        pools.addToPool(node, amount);
    }

    /// @dev Redeems the vouchers in order, splitting each run of consecutive vouchers with the same (model,
    /// terms version) once. The run's terms are read before its vouchers are redeemed, so a voucher whose
    /// terms are unusable is skipped without touching its channel.
    function _redeemAndSplit(uint64 batchId, address node, SignedVoucher[] calldata vouchers)
        private
        returns (BatchTotals memory totals)
    {
        bytes32 domainSeparator = _domainSeparatorV4();
        // Terms version 0 never exists, so the zeroed run below differs from every usable voucher's run.
        ModelTerms memory terms;
        VoucherSkipReason termsProblem = VoucherSkipReason.TermsUnavailable;
        uint256 runRevenue;
        uint256 count = vouchers.length;
        for (uint256 i = 0; i < count; ++i) {
            SignedVoucher calldata voucher = vouchers[i];
            if (voucher.modelId != terms.modelId || voucher.termsVersion != terms.termsVersion) {
                _splitRun(terms, node, runRevenue, totals);
                runRevenue = 0;
                (terms, termsProblem) = _voucherTerms(voucher.modelId, voucher.termsVersion);
            }
            VoucherSkipReason reason = termsProblem;
            uint256 amount;
            if (reason == VoucherSkipReason.None) (amount, reason) = _redeemVoucher(domainSeparator, node, voucher);
            if (reason != VoucherSkipReason.None) {
                emit VoucherSkipped(batchId, voucher.payer, voucher.modelId, voucher.cumulativeAmount, reason);
            }
            // Each amount was just taken from a channel or an escrow, so the sum is bounded by the token supply.
            unchecked {
                runRevenue += amount;
            }
        }
        _splitRun(terms, node, runRevenue, totals);
    }

    /// @dev Splits one run's revenue and adds its shares to the batch totals.
    function _splitRun(ModelTerms memory terms, address node, uint256 revenue, BatchTotals memory totals) private {
        if (revenue == 0) return;
        RevenueSplit.Shares memory shares = _splitModelRevenue(terms, node, revenue);
        totals.redeemed += revenue;
        totals.protocolFee += shares.protocolFee;
        totals.nodeShare += shares.node;
        totals.contributorPool += shares.contributors;
    }

    /// @dev The terms a voucher signed, or why they cannot be used: unknown or inconsistent, or superseded
    /// `withdrawalDelay` or longer ago (a node has had that long to redeem what was signed under them).
    function _voucherTerms(uint256 modelId, uint64 termsVersion)
        private
        view
        returns (ModelTerms memory terms, VoucherSkipReason problem)
    {
        bool found;
        uint256 supersededAt;
        (found, terms, supersededAt) = _termsAt(modelId, termsVersion);
        if (!found) return (terms, VoucherSkipReason.TermsUnavailable);
        if (supersededAt != 0 && block.timestamp >= supersededAt + withdrawalDelay) {
            return (terms, VoucherSkipReason.TermsSuperseded);
        }
        return (terms, VoucherSkipReason.None);
    }
}
