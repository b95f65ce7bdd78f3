// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";
import {RevenueSplit} from "./libraries/RevenueSplit.sol";

/// @title RevenueLedger
/// @notice Splits model revenue by the protocol fee and the model's terms, and holds the resulting
/// withdrawable earnings of model owners, nodes and the protocol (pull payments).
/// @dev Revenue is always split by the terms version the payment was made under (the version a voucher
/// signs, or the one current when an on-chain request paid its fee), read from the ModelRegistry's terms
/// history, so a model owner who changes its split cannot take shares of work already done.
abstract contract RevenueLedger is PaymentTokenHolder, Ownable2Step {
    /// @dev One version of a model's terms, as a split needs them.
    struct ModelTerms {
        uint256 modelId;
        uint64 termsVersion;
        address owner;
        uint256 ownerBps;
        uint256 contributorBps;
    }

    /// @notice Upper bound governance can set the protocol fee to: 10 %.
    uint256 public constant MAX_PROTOCOL_FEE_BPS = 1_000;

    /// @notice Source of each model's owner and revenue shares.
    IModelRegistry public immutable modelRegistry;

    /// @notice Protocol fee taken off the top of every model's revenue, in basis points.
    uint256 public protocolFeeBps;
    /// @notice Protocol fees accrued and not yet collected by governance.
    uint256 public protocolFeesAccrued;

    mapping(address account => uint256) private _earnings;

    /// @notice Governance changed the protocol fee.
    /// @param previousBps The fee before, in basis points.
    /// @param newBps The fee now, in basis points.
    event ProtocolFeeUpdated(uint256 previousBps, uint256 newBps);
    /// @notice Governance collected the accrued protocol fees.
    /// @param recipient Where they went.
    /// @param amount Token units collected.
    event ProtocolFeesCollected(address indexed recipient, uint256 amount);
    /// @notice One model's revenue was split.
    /// @param modelId The model.
    /// @param node The node that served it.
    /// @param owner The model owner, credited `ownerShare`.
    /// @param termsVersion The model's terms version that set the shares.
    /// @param revenue The amount split.
    /// @param protocolFee Protocol share.
    /// @param ownerShare Model owner share.
    /// @param contributorShare Added to the node's contributor pool.
    /// @param nodeShare Node share, including the rounding dust.
    event ModelRevenueSplit(
        uint256 indexed modelId,
        address indexed node,
        address indexed owner,
        uint64 termsVersion,
        uint256 revenue,
        uint256 protocolFee,
        uint256 ownerShare,
        uint256 contributorShare,
        uint256 nodeShare
    );
    /// @notice An account withdrew its earnings.
    /// @param account The account, who received them.
    /// @param amount Token units withdrawn.
    event EarningsWithdrawn(address indexed account, uint256 amount);

    /// @notice `bps` is above the protocol fee cap `maxBps`.
    error ProtocolFeeTooHigh(uint256 bps, uint256 maxBps);
    /// @notice The registry returned terms for `modelId` whose shares do not sum to 10,000 bps, or no owner.
    error ModelTermsInvalid(uint256 modelId, address owner, uint256 ownerBps, uint256 contributorBps, uint256 nodeBps);
    /// @notice Version `termsVersion` of `modelId`'s terms does not exist or is inconsistent.
    error ModelTermsUnavailable(uint256 modelId, uint64 termsVersion);
    /// @notice `account` has no earnings to withdraw.
    error NoEarnings(address account);

    constructor(IModelRegistry registry, uint256 initialProtocolFeeBps) {
        if (address(registry) == address(0)) revert ZeroAddress();
        modelRegistry = registry;
        _setProtocolFeeBps(initialProtocolFeeBps);
    }

    /// @notice Sets the protocol fee applied to revenue split from now on.
    /// @dev Only governance (the owner). Reverts with {ProtocolFeeTooHigh} above {MAX_PROTOCOL_FEE_BPS}.
    /// @param bps The new fee in basis points.
    function setProtocolFeeBps(uint256 bps) external onlyOwner {
        _setProtocolFeeBps(bps);
    }

    /// @notice Sends all accrued protocol fees to `recipient`.
    /// @dev Only governance. Reverts with {ZeroAddress} or {ZeroAmount} when nothing has accrued.
    /// @param recipient Where the fees go (e.g. a treasury).
    function collectProtocolFees(address recipient) external onlyOwner nonReentrant {
        if (recipient == address(0)) revert ZeroAddress();
        uint256 amount = protocolFeesAccrued;
        if (amount == 0) revert ZeroAmount();
        protocolFeesAccrued = 0;
        emit ProtocolFeesCollected(recipient, amount);
        _pushTokens(recipient, amount);
    }

    /// @notice Withdraws all of the caller's earnings (model-owner and node shares, rejected-challenge bonds).
    /// @dev Reverts with {NoEarnings} if the caller has none.
    /// @return amount Token units sent to the caller.
    function withdrawEarnings() external nonReentrant returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NoEarnings(msg.sender);
        _earnings[msg.sender] = 0;
        emit EarningsWithdrawn(msg.sender, amount);
        _pushTokens(msg.sender, amount);
    }

    /// @notice Earnings an account can withdraw.
    /// @param account The account (model owner, node).
    /// @return The withdrawable amount.
    function earningsOf(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @dev Splits `revenue` under `terms`, served by `node`: credits the owner share to the model owner and
    /// returns all shares, so a caller splitting many models books protocol fee, node share and contributor
    /// pool once for the lot.
    function _splitModelRevenue(ModelTerms memory terms, address node, uint256 revenue)
        internal
        returns (RevenueSplit.Shares memory shares)
    {
        shares = RevenueSplit.split(revenue, protocolFeeBps, terms.ownerBps, terms.contributorBps);
        _earnings[terms.owner] += shares.owner;
        emit ModelRevenueSplit(
            terms.modelId,
            node,
            terms.owner,
            terms.termsVersion,
            revenue,
            shares.protocolFee,
            shares.owner,
            shares.contributors,
            shares.node
        );
    }

    /// @dev Books the protocol fee and node share of one or more splits.
    function _bookProtocolAndNode(address node, uint256 protocolFee, uint256 nodeShare) internal {
        if (protocolFee > 0) protocolFeesAccrued += protocolFee;
        if (nodeShare > 0) _earnings[node] += nodeShare;
    }

    /// @dev Credits `amount` to `account`'s withdrawable earnings.
    function _creditEarnings(address account, uint256 amount) internal {
        _earnings[account] += amount;
    }

    /// @dev The model's current terms version and price, validated: reverts with {ModelTermsInvalid} on
    /// inconsistent terms (and with the registry's error for an unknown model).
    function _currentTerms(uint256 modelId) internal view returns (uint64 termsVersion, uint256 pricePer1kTokens) {
        address owner;
        uint256 ownerBps;
        uint256 contributorBps;
        uint256 nodeBps;
        (owner, termsVersion, pricePer1kTokens, ownerBps, contributorBps, nodeBps) = modelRegistry.modelTerms(modelId);
        if (owner == address(0) || ownerBps + contributorBps + nodeBps != RevenueSplit.BPS) {
            revert ModelTermsInvalid(modelId, owner, ownerBps, contributorBps, nodeBps);
        }
    }

    /// @dev Version `termsVersion` of `modelId`'s terms, without reverting: `found` is false when the registry
    /// has no such model or version (its call reverts) or the terms are inconsistent. `supersededAt` is when
    /// a later version replaced it (0 while current).
    function _termsAt(uint256 modelId, uint64 termsVersion)
        internal
        view
        returns (bool found, ModelTerms memory terms, uint256 supersededAt)
    {
        try modelRegistry.modelTermsAt(modelId, termsVersion) returns (
            address owner, uint256, uint16 ownerBps, uint16 contributorBps, uint16 nodeBps, uint64 replacedAt
        ) {
            found = owner != address(0) && uint256(ownerBps) + contributorBps + nodeBps == RevenueSplit.BPS;
            terms = ModelTerms(modelId, termsVersion, owner, ownerBps, contributorBps);
            supersededAt = replacedAt;
        } catch {
            terms.modelId = modelId;
            terms.termsVersion = termsVersion;
        }
    }

    /// @dev Version `termsVersion` of `modelId`'s terms; reverts with {ModelTermsUnavailable} if {_termsAt}
    /// finds none.
    function _requireTermsAt(uint256 modelId, uint64 termsVersion) internal view returns (ModelTerms memory terms) {
        bool found;
        (found, terms,) = _termsAt(modelId, termsVersion);
        if (!found) revert ModelTermsUnavailable(modelId, termsVersion);
    }

    function _setProtocolFeeBps(uint256 bps) private {
        if (bps > MAX_PROTOCOL_FEE_BPS) revert ProtocolFeeTooHigh(bps, MAX_PROTOCOL_FEE_BPS);
        emit ProtocolFeeUpdated(protocolFeeBps, bps);
        protocolFeeBps = bps;
    }
}
