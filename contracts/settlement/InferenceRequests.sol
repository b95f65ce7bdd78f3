// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ActiveNodes} from "./ActiveNodes.sol";
import {RevenueLedger} from "./RevenueLedger.sol";
import {RevenueSplit} from "./libraries/RevenueSplit.sol";

/// @title InferenceRequests
/// @notice The on-chain inference path: a contract or user requests an inference from a node it names,
/// with a fee paid from its wallet; that node serves it by posting the result CID, or the requester gets the
/// fee back after the timeout.
/// @dev Requests are assigned: only the named node may serve (and be paid for) a request, so another node
/// cannot front-run the served result with a junk CID and take the fee. A requester picks the node it
/// trusts, e.g. from the gossiped announcements of who serves the model.
/// The fee comes from the wallet, not the escrow, and a refund goes back to the wallet: taking it from
/// the escrow would let a payer park its escrow in requests of its own, out of its vouchers' reach, and
/// get it back after the timeout (see {ChannelFunding} for the same reasoning).
/// The fee is split the moment the node posts the result, by the same rules as batch revenue:
/// protocol fee, owner share, node share (withdrawable at once) and contributor share (added to the
/// serving node's contributor pool, to be divided by the node's next credit root). Splitting at once
/// binds the fee to the requested model, which a later batch could not enforce. The split uses the model's
/// terms version current when the request was made, so an owner cannot change the split under a request.
abstract contract InferenceRequests is RevenueLedger, ActiveNodes {
    /// @notice Lifecycle of a request; `None` marks an unknown id.
    uint8 internal constant STATUS_NONE = 0;
    uint8 internal constant STATUS_OPEN = 1;
    uint8 internal constant STATUS_SERVED = 2;
    uint8 internal constant STATUS_REFUNDED = 3;

    struct InferenceRequest {
        address requester;
        uint64 expiresAt;
        uint8 status;
        address node;
        uint128 fee;
        uint64 termsVersion;
        uint256 modelId;
    }

    /// @notice Seconds a request stays open for nodes before it can be refunded.
    uint256 public immutable inferenceTimeout;
    /// @notice Number of requests made; request ids are 1..inferenceRequestCount.
    uint256 public inferenceRequestCount;

    mapping(uint256 requestId => InferenceRequest) private _requests;

    /// @notice An on-chain inference was requested from `node`.
    /// @param requestId The request.
    /// @param requester Who pays (from its wallet).
    /// @param node The only node that may serve it.
    /// @param modelId The model to run.
    /// @param promptCid IPFS CID of the prompt.
    /// @param maxTokens Most tokens to generate.
    /// @param fee Payment held for the serving node (pulled from the requester's wallet).
    /// @param expiresAt Unix time from which the request can only be refunded.
    event InferenceRequested(
        uint256 indexed requestId,
        address indexed requester,
        address indexed node,
        uint256 modelId,
        string promptCid,
        uint256 maxTokens,
        uint256 fee,
        uint256 expiresAt
    );
    /// @notice A node served a request; its fee was split at once.
    /// @param requestId The request.
    /// @param node The serving node.
    /// @param resultCid IPFS CID of the result.
    event InferenceServed(uint256 indexed requestId, address indexed node, string resultCid);
    /// @notice A request expired unserved and its fee went back to the requester's wallet.
    /// @param requestId The request.
    /// @param requester Who was refunded.
    /// @param fee Token units refunded.
    event InferenceRefunded(uint256 indexed requestId, address indexed requester, uint256 fee);

    /// @notice `maxTokens` is zero.
    error MaxTokensZero();
    /// @notice `fee` is below the model's price for `maxTokens`: `minimumFee`.
    error FeeBelowModelPrice(uint256 modelId, uint256 fee, uint256 minimumFee);
    /// @notice `requestId` is unknown, already served or refunded (`status` 0, 2 or 3).
    error InferenceRequestNotOpen(uint256 requestId, uint8 status);
    /// @notice `requestId` expired at `expiresAt` and can no longer be served.
    error InferenceRequestExpired(uint256 requestId, uint256 expiresAt);
    /// @notice `requestId` can be refunded only from `expiresAt`.
    error InferenceRequestNotExpired(uint256 requestId, uint256 expiresAt);
    /// @notice A prompt or result CID is empty.
    error EmptyCid();
    /// @notice `caller` may not serve `requestId`: it was assigned to `node`.
    error NotAssignedNode(uint256 requestId, address caller, address node);

    constructor(uint256 timeout) {
        inferenceTimeout = timeout;
    }

    /// @notice Requests an inference from `node`, pulling `fee` from the caller's wallet (needs an ERC-20
    /// approval).
    /// @dev The model's current terms version is pinned to the request and splits the fee when served.
    /// Reverts with {NodeNotActive} (the named node must be active), {EmptyCid}, {MaxTokensZero}, {ZeroAmount}
    /// for a zero fee, {FeeBelowModelPrice} (price per 1k tokens times `maxTokens`, rounded up),
    /// {ModelTermsInvalid} or the token's error.
    /// @param modelId The model to run.
    /// @param node The node that alone may serve the request.
    /// @param promptCid IPFS CID of the prompt.
    /// @param maxTokens Most tokens the node may generate.
    /// @param fee Payment for the inference, in payment-token units.
    /// @return requestId The new request's id.
    function requestInference(
        uint256 modelId,
        address node,
        string calldata promptCid,
        uint256 maxTokens,
        uint256 fee
    ) external nonReentrant returns (uint256 requestId) {
        if (!nodeRegistry.isActive(node)) revert NodeNotActive(node);
        if (bytes(promptCid).length == 0) revert EmptyCid();
        if (maxTokens == 0) revert MaxTokensZero();
        if (fee == 0) revert ZeroAmount();
        (uint64 termsVersion, uint256 pricePer1kTokens) = _currentTerms(modelId);
        uint256 minimumFee = Math.mulDiv(pricePer1kTokens, maxTokens, 1000, Math.Rounding.Ceil);
        if (fee < minimumFee) revert FeeBelowModelPrice(modelId, fee, minimumFee);
        requestId = ++inferenceRequestCount;
        uint64 expiresAt = SafeCast.toUint64(block.timestamp + inferenceTimeout);
        _requests[requestId] = InferenceRequest(
            msg.sender, expiresAt, STATUS_OPEN, node, SafeCast.toUint128(fee), termsVersion, modelId
        );
        emit InferenceRequested(requestId, msg.sender, node, modelId, promptCid, maxTokens, fee, expiresAt);
        _pullTokens(msg.sender, fee);
    }

    /// @notice Serves an open request: records the result and splits the fee at once (see the contract notice).
    /// @dev Only the node the request names, while active. Reverts with {NodeNotActive}, {EmptyCid},
    /// {InferenceRequestNotOpen}, {NotAssignedNode} or {InferenceRequestExpired}.
    /// @param requestId The request served.
    /// @param resultCid IPFS CID of the result (output plus its attribution record).
    function serveInference(uint256 requestId, string calldata resultCid) external onlyActiveNode {
        if (bytes(resultCid).length == 0) revert EmptyCid();
        InferenceRequest storage request = _requests[requestId];
        if (request.status != STATUS_OPEN) revert InferenceRequestNotOpen(requestId, request.status);
        if (msg.sender != request.node) revert NotAssignedNode(requestId, msg.sender, request.node);
        if (block.timestamp >= request.expiresAt) revert InferenceRequestExpired(requestId, request.expiresAt);
        request.status = STATUS_SERVED;
        RevenueSplit.Shares memory shares =
            _splitModelRevenue(_requireTermsAt(request.modelId, request.termsVersion), msg.sender, request.fee);
        _bookProtocolAndNode(msg.sender, shares.protocolFee, shares.node);
        _addToPool(msg.sender, shares.contributors);
        emit InferenceServed(requestId, msg.sender, resultCid);
    }

    /// @notice Sends the fee of an expired, unserved request back to its requester's wallet. Anyone may call.
    /// @dev Reverts with {InferenceRequestNotOpen} or {InferenceRequestNotExpired}.
    /// @param requestId The request to refund.
    function refundInference(uint256 requestId) external nonReentrant {
        InferenceRequest storage request = _requests[requestId];
        if (request.status != STATUS_OPEN) revert InferenceRequestNotOpen(requestId, request.status);
        if (block.timestamp < request.expiresAt) revert InferenceRequestNotExpired(requestId, request.expiresAt);
        request.status = STATUS_REFUNDED;
        emit InferenceRefunded(requestId, request.requester, request.fee);
        _pushTokens(request.requester, request.fee);
    }

    /// @dev Adds `amount` of this contract's tokens to `node`'s contributor pool.
    function _addToPool(address node, uint256 amount) internal virtual;

    /// @notice An on-chain inference request.
    /// @param requestId The request.
    /// @return requester Who pays.
    /// @return modelId The model.
    /// @return fee The fee.
    /// @return expiresAt End of the serving window.
    /// @return status 0 none, 1 open, 2 served, 3 refunded.
    /// @return node The node assigned to serve it.
    function inferenceRequestOf(uint256 requestId)
        external
        view
        returns (address requester, uint256 modelId, uint256 fee, uint256 expiresAt, uint8 status, address node)
    {
        InferenceRequest memory request = _requests[requestId];
        return (request.requester, request.modelId, request.fee, request.expiresAt, request.status, request.node);
    }
}
