// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ActiveNodes} from "./ActiveNodes.sol";
import {BatchDisputes} from "./BatchDisputes.sol";
import {ContributorCredits} from "./ContributorCredits.sol";
import {InferenceRequests} from "./InferenceRequests.sol";
import {PaymentEscrow} from "./PaymentEscrow.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";
import {RevenueLedger} from "./RevenueLedger.sol";
import {VoucherChannels} from "./VoucherChannels.sol";
import {RevenueSplit} from "./libraries/RevenueSplit.sol";

/// @title Settlement
/// @notice Tributary's money contract: payer escrow, voucher channels to nodes, on-chain inference
/// requests, settlement batches that split model revenue, contributor credit roots with disputes, and
/// cumulative Merkle claims. Every ledger is in one ERC-20 fixed at deployment.
/// @dev Token conservation: the contract's token balance equals the sum of escrow balances, unspent
/// channel funds, fees of open inference requests, earnings, accrued protocol fees, unclaimed
/// contributor pools (pool - claimed per node) and open challenge and recovery bonds.
contract Settlement is VoucherChannels, InferenceRequests, BatchDisputes {
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

    /// @notice Revenue a batch attributes to one model.
    struct ModelRevenue {
        uint256 modelId;
        uint256 amount;
    }

    /// @notice Number of batch ids given out (settled batches and recovery roots); ids are 1..batchCount.
    uint64 public batchCount;

    /// @notice A node settled a batch. Voucher details are in the transaction's calldata and per-model
    /// splits in {ModelRevenueSplit} events, so no per-voucher event is paid for.
    /// @param batchId The new batch.
    /// @param node The settling node.
    /// @param creditRoot The proposed cumulative credit root (zero: none).
    /// @param voucherCount Vouchers submitted (stale ones included).
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
    /// @notice The model revenues sum to `declared` but the vouchers redeemed `redeemed`.
    error RevenueMismatch(uint256 declared, uint256 redeemed);
    /// @notice A batch without a credit root declared a nonzero `totalCredit`, or one with a root has no records CID.
    error CreditCommitmentInvalid(bytes32 creditRoot, uint256 totalCredit);

    constructor(Params memory params)
        PaymentTokenHolder(params.token)
        PaymentEscrow(params.withdrawalDelay)
        EIP712("Tributary", "1")
        RevenueLedger(params.models, params.protocolFeeBps)
        Ownable(params.governance)
        ContributorCredits(params.disputeWindow)
        ActiveNodes(params.nodes)
        InferenceRequests(params.inferenceTimeout)
        BatchDisputes(params.arbiter, params.challengeBond, params.slashAmount)
    {
        if (address(params.nodes) == address(0)) revert ZeroAddress();
    }

    /// @notice Settles a batch for the calling node: redeems its vouchers, splits the redeemed revenue by
    /// model and, optionally, proposes a new cumulative contributor credit root.
    /// @dev Only an active node. The revenues must sum exactly to what the vouchers redeem (stale vouchers
    /// redeem nothing; on-chain request fees are split when served, so they are not part of batches).
    /// A nonzero `creditRoot` needs no other pending root on the node, and `totalCredit` between the
    /// node's final total and its cumulative pool including this batch. Reverts with {NodeNotActive},
    /// {EmptyBatch}, {RevenueMismatch}, {CreditCommitmentInvalid}, the voucher errors
    /// ({VoucherSignerNotAuthorized}, {SessionKeyExpired}, {SessionKeyCapExceeded}, {InsufficientEscrow},
    /// {ECDSA.ECDSAInvalidSignature}...), {ModelTermsInvalid} and the credit-root errors.
    /// @param vouchers Latest vouchers per channel (payer, cumulative amount, compact signature).
    /// @param revenues The redeemed amount broken down by model.
    /// @param creditRoot StandardMerkleTree root over (account, cumulative credit) for this node, or zero.
    /// @param totalCredit Sum of the root's cumulative credits (zero without a root).
    /// @param recordsCid IPFS CID of the batch's attribution records, from which anyone can recompute the root.
    /// @return batchId The new batch's id.
    function settleBatch(
        SignedVoucher[] calldata vouchers,
        ModelRevenue[] calldata revenues,
        bytes32 creditRoot,
        uint256 totalCredit,
        string calldata recordsCid
    ) external onlyActiveNode returns (uint64 batchId) {
        if (vouchers.length == 0 && creditRoot == bytes32(0)) revert EmptyBatch();
        if (creditRoot == bytes32(0) ? totalCredit != 0 : bytes(recordsCid).length == 0) {
            revert CreditCommitmentInvalid(creditRoot, totalCredit);
        }
        batchId = ++batchCount;
        uint256 redeemed = _redeemVouchers(msg.sender, vouchers);
        uint256 contributorPool = _splitBatchRevenue(msg.sender, revenues, redeemed);
        _addToPool(msg.sender, contributorPool);
        uint256 disputeUntil =
            creditRoot == bytes32(0) ? 0 : _proposeCreditRoot(msg.sender, batchId, creditRoot, totalCredit);
        emit BatchSettled(
            batchId,
            msg.sender,
            creditRoot,
            vouchers.length,
            redeemed,
            contributorPool,
            totalCredit,
            disputeUntil,
            recordsCid
        );
    }

    /// @dev Recovery roots take their ids from the batch counter, so a root is challenged by one kind of id.
    function _newBatchId() internal override returns (uint64) {
        return ++batchCount;
    }

    /// @dev Splits each model's revenue and books the protocol fee and node share once for the batch;
    /// returns the batch's contributor pool.
    function _splitBatchRevenue(address node, ModelRevenue[] calldata revenues, uint256 redeemed)
        private
        returns (uint256 contributorPool)
    {
        uint256 declared;
        uint256 protocolFee;
        uint256 nodeShare;
        for (uint256 i = 0; i < revenues.length; ++i) {
            uint256 amount = revenues[i].amount;
            declared += amount;
            if (amount == 0) continue;
            RevenueSplit.Shares memory shares = _splitModelRevenue(revenues[i].modelId, node, amount);
            protocolFee += shares.protocolFee;
            nodeShare += shares.node;
            contributorPool += shares.contributors;
        }
        if (declared != redeemed) revert RevenueMismatch(declared, redeemed);
        _bookProtocolAndNode(node, protocolFee, nodeShare);
    }
}
