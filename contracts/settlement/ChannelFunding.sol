// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PaymentEscrow} from "./PaymentEscrow.sol";

/// @title ChannelFunding
/// @notice The state of each (payer, node, model) channel: what its vouchers have redeemed, and what was
/// deposited into the channel ahead of time.
/// @dev Redeeming draws from the channel's own funds first and only the excess from the payer's shared
/// escrow. A payer who funds the channels it uses regularly makes each redemption touch one storage word
/// (the packed channel) instead of two, which is what keeps a repeat voucher under 15k gas; a payer who
/// never funds a channel pays every node straight from escrow.
///
/// Funding a channel is a DEPOSIT: the tokens come from the funder's wallet, never from the escrow. Moving
/// escrow into a channel would take it out of reach of the payer's vouchers to every other node at once,
/// and a payer could then park its escrow in a channel of its own at every block boundary so that no
/// voucher ever finds it, while withdrawing it after the delay. So the escrow only ever leaves through
/// vouchers and through {PaymentEscrow-withdraw} after the withdrawal delay, and unspent channel funds only
/// go back to escrow through a release request and the same delay, during which the channel's node can
/// still redeem what it served.
abstract contract ChannelFunding is PaymentEscrow {
    /// @dev One word per channel. `funded` is the cumulative amount ever deposited into the channel (or drawn
    /// from escrow by a redemption beyond it) minus releases; `funded >= redeemed`.
    struct Channel {
        uint128 redeemed;
        uint128 funded;
    }

    mapping(address payer => mapping(address node => mapping(uint256 modelId => Channel))) private _channels;
    mapping(address payer => mapping(address node => mapping(uint256 modelId => WithdrawalRequest))) private
        _releaseRequests;

    /// @notice Tokens were deposited into a channel.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @param funder Whose wallet the tokens came from.
    /// @param amount Token units deposited.
    /// @param unspent The channel's funds not yet redeemed, after the deposit.
    event ChannelFunded(
        address indexed payer,
        address indexed node,
        uint256 indexed modelId,
        address funder,
        uint256 amount,
        uint256 unspent
    );
    /// @notice A payer asked to return unspent channel funds to its escrow.
    /// @param payer The payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @param amount Most token units to return.
    /// @param availableAt Unix time from which the release can be executed.
    event ChannelReleaseRequested(
        address indexed payer, address indexed node, uint256 indexed modelId, uint256 amount, uint256 availableAt
    );
    /// @notice Unspent channel funds went back to the payer's escrow.
    /// @param payer The payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @param amount Token units returned (less than requested if the node redeemed meanwhile).
    event ChannelReleased(address indexed payer, address indexed node, uint256 indexed modelId, uint256 amount);

    /// @notice The channel (`payer`, `node`, `modelId`) has `unspent` funds but `needed` were asked for.
    error InsufficientChannelFunds(address payer, address node, uint256 modelId, uint256 unspent, uint256 needed);
    /// @notice `payer` has no pending release request on its channel with `node` for `modelId`.
    error NoChannelReleaseRequest(address payer, address node, uint256 modelId);

    /// @notice Deposits `amount` (pulled from the caller's wallet) into the channel of `payer` to `node` for
    /// `modelId`, so that node's vouchers for that model are redeemed without touching the shared escrow.
    /// @dev Requires a prior ERC-20 approval. Anyone may fund any payer's channel (a dApp topping up a user);
    /// unspent funds go back to the payer's escrow through {requestChannelRelease}. Reverts with
    /// {ZeroAmount}, {ZeroAddress} or {SafeCast.SafeCastOverflowedUintDowncast} beyond 128 bits.
    /// @param payer The channel's payer.
    /// @param node The node the channel pays.
    /// @param modelId The model the channel pays for.
    /// @param amount Token units to deposit.
    function fundChannel(address payer, address node, uint256 modelId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (payer == address(0) || node == address(0)) revert ZeroAddress();
        Channel storage channel = _channels[payer][node][modelId];
        uint256 funded = channel.funded + amount;
        channel.funded = SafeCast.toUint128(funded);
        emit ChannelFunded(payer, node, modelId, msg.sender, amount, funded - channel.redeemed);
        _pullTokens(msg.sender, amount);
    }

    /// @notice Starts the withdrawal delay for returning up to `amount` of the channel's unspent funds to
    /// the caller's escrow, replacing any earlier request on that channel.
    /// @dev Reverts with {ZeroAmount} or {InsufficientChannelFunds}.
    /// @param node The node the channel pays.
    /// @param modelId The model the channel pays for.
    /// @param amount Token units to return.
    function requestChannelRelease(address node, uint256 modelId, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 unspent = _unspent(_channels[msg.sender][node][modelId]);
        if (amount > unspent) revert InsufficientChannelFunds(msg.sender, node, modelId, unspent, amount);
        uint64 availableAt = SafeCast.toUint64(block.timestamp + withdrawalDelay);
        // amount <= unspent, a difference of two uint128 values, so the cast is lossless.
        _releaseRequests[msg.sender][node][modelId] = WithdrawalRequest(uint128(amount), availableAt);
        emit ChannelReleaseRequested(msg.sender, node, modelId, amount, availableAt);
    }

    /// @notice Returns the requested unspent funds of the caller's channel to its escrow once the delay has
    /// passed (or what is left of them if the node redeemed meanwhile).
    /// @dev Reverts with {NoChannelReleaseRequest} or {WithdrawalNotYetAvailable}.
    /// @param node The node the channel pays.
    /// @param modelId The model the channel pays for.
    /// @return amount Token units returned to escrow.
    function releaseChannel(address node, uint256 modelId) external returns (uint256 amount) {
        WithdrawalRequest memory request = _releaseRequests[msg.sender][node][modelId];
        if (request.availableAt == 0) revert NoChannelReleaseRequest(msg.sender, node, modelId);
        if (block.timestamp < request.availableAt) {
            revert WithdrawalNotYetAvailable(msg.sender, request.availableAt, block.timestamp);
        }
        delete _releaseRequests[msg.sender][node][modelId];
        Channel storage channel = _channels[msg.sender][node][modelId];
        uint256 unspent = _unspent(channel);
        amount = request.amount < unspent ? request.amount : unspent;
        // amount <= unspent <= funded, so the subtraction stays within uint128.
        channel.funded -= uint128(amount);
        _creditEscrow(msg.sender, amount);
        emit ChannelReleased(msg.sender, node, modelId, amount);
    }

    /// @notice Total amount redeemed so far on a channel: its latest redeemed cumulative amount.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @return The redeemed total.
    function redeemedOf(address payer, address node, uint256 modelId) external view returns (uint256) {
        return _channels[payer][node][modelId].redeemed;
    }

    /// @notice The state of a channel.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @return redeemed Total redeemed so far: the latest redeemed cumulative amount.
    /// @return unspent Funds in the channel not yet redeemed.
    function channelOf(address payer, address node, uint256 modelId)
        external
        view
        returns (uint256 redeemed, uint256 unspent)
    {
        Channel storage channel = _channels[payer][node][modelId];
        return (channel.redeemed, _unspent(channel));
    }

    /// @notice A channel's pending release request.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @return amount Requested token units (0 if none).
    /// @return availableAt Unix time it becomes executable (0 if none).
    function channelReleaseRequestOf(address payer, address node, uint256 modelId)
        external
        view
        returns (uint256 amount, uint256 availableAt)
    {
        WithdrawalRequest memory request = _releaseRequests[payer][node][modelId];
        return (request.amount, request.availableAt);
    }

    /// @dev The channel's storage, so a redemption reads and writes its one word once.
    function _channelOf(address payer, address node, uint256 modelId) internal view returns (Channel storage) {
        return _channels[payer][node][modelId];
    }

    /// @dev What redeeming `cumulativeAmount` on a channel in state `state` needs from `payer`'s escrow beyond
    /// the channel's funds, and whether the escrow holds it (and the amount fits the channel's 128 bits).
    function _canRedeemOnChannel(Channel memory state, address payer, uint256 cumulativeAmount)
        internal
        view
        returns (bool)
    {
        if (cumulativeAmount <= state.funded) return true;
        return cumulativeAmount <= type(uint128).max && cumulativeAmount - state.funded <= _escrowBalanceOf(payer);
    }

    /// @dev Records `cumulativeAmount` as redeemed on `channel` (in state `state`) and returns what it pays; the
    /// part beyond the channel's funds is drawn from `payer`'s escrow. Callers checked `cumulativeAmount >
    /// redeemed` and {_canRedeemOnChannel}.
    function _redeemOnChannel(Channel storage channel, Channel memory state, address payer, uint256 cumulativeAmount)
        internal
        returns (uint256 amount)
    {
        amount = cumulativeAmount - state.redeemed;
        if (cumulativeAmount > state.funded) {
            _debitEscrow(payer, cumulativeAmount - state.funded);
            // Checked to fit 128 bits by {_canRedeemOnChannel}.
            state.funded = uint128(cumulativeAmount);
        }
        // cumulativeAmount <= funded, which fits 128 bits, so the cast is lossless. Assigning both fields
        // writes the packed word once.
        (channel.redeemed, channel.funded) = (uint128(cumulativeAmount), state.funded);
    }

    function _unspent(Channel storage channel) private view returns (uint256) {
        return channel.funded - channel.redeemed;
    }
}
