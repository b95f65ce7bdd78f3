// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PaymentEscrow} from "./PaymentEscrow.sol";

/// @title ChannelFunding
/// @notice The state of each (payer, node) channel: what its vouchers have redeemed, and what the payer
/// moved from its escrow into the channel ahead of time.
/// @dev Redeeming draws from the channel's own funds first and only the excess from the payer's shared
/// escrow. A payer who funds the channels of the nodes it uses regularly makes each redemption touch one
/// storage word (the packed channel) instead of two, which is what keeps a repeat voucher under 15k gas;
/// a payer who never funds a channel pays every node straight from escrow. Unspent channel funds return
/// to escrow through a request and the withdrawal delay, so a node can redeem what it served first.
abstract contract ChannelFunding is PaymentEscrow {
    /// @dev One word per channel. `funded` is the cumulative amount ever moved into the channel (from
    /// `fundChannel`, or drawn from escrow by a redemption beyond it) minus releases; `funded >= redeemed`.
    struct Channel {
        uint128 redeemed;
        uint128 funded;
    }

    mapping(address payer => mapping(address node => Channel)) private _channels;
    mapping(address payer => mapping(address node => WithdrawalRequest)) private _releaseRequests;

    /// @notice A payer moved escrow into a channel.
    /// @param payer The payer.
    /// @param node The channel's node.
    /// @param amount Token units moved.
    /// @param unspent The channel's funds not yet redeemed, after the move.
    event ChannelFunded(address indexed payer, address indexed node, uint256 amount, uint256 unspent);
    /// @notice A payer asked to return unspent channel funds to its escrow.
    /// @param payer The payer.
    /// @param node The channel's node.
    /// @param amount Most token units to return.
    /// @param availableAt Unix time from which the release can be executed.
    event ChannelReleaseRequested(address indexed payer, address indexed node, uint256 amount, uint256 availableAt);
    /// @notice Unspent channel funds went back to the payer's escrow.
    /// @param payer The payer.
    /// @param node The channel's node.
    /// @param amount Token units returned (less than requested if the node redeemed meanwhile).
    event ChannelReleased(address indexed payer, address indexed node, uint256 amount);

    /// @notice The channel of `payer` and `node` has `unspent` funds but `needed` were asked for.
    error InsufficientChannelFunds(address payer, address node, uint256 unspent, uint256 needed);
    /// @notice `payer` has no pending release request on its channel with `node`.
    error NoChannelReleaseRequest(address payer, address node);

    /// @notice Moves `amount` of the caller's escrow into its channel with `node`, so that node's vouchers
    /// are redeemed without touching the shared escrow.
    /// @dev Reverts with {ZeroAmount}, {ZeroAddress} or {InsufficientEscrow}.
    /// @param node The node the channel pays.
    /// @param amount Token units to move.
    function fundChannel(address node, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (node == address(0)) revert ZeroAddress();
        _debitEscrow(msg.sender, amount);
        Channel storage channel = _channels[msg.sender][node];
        uint256 funded = channel.funded + amount;
        channel.funded = SafeCast.toUint128(funded);
        emit ChannelFunded(msg.sender, node, amount, funded - channel.redeemed);
    }

    /// @notice Starts the withdrawal delay for returning up to `amount` of the channel's unspent funds to
    /// the caller's escrow, replacing any earlier request on that channel.
    /// @dev Reverts with {ZeroAmount} or {InsufficientChannelFunds}.
    /// @param node The node the channel pays.
    /// @param amount Token units to return.
    function requestChannelRelease(address node, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 unspent = _unspent(_channels[msg.sender][node]);
        if (amount > unspent) revert InsufficientChannelFunds(msg.sender, node, unspent, amount);
        uint64 availableAt = SafeCast.toUint64(block.timestamp + withdrawalDelay);
        // amount <= unspent, a difference of two uint128 values, so the cast is lossless.
        _releaseRequests[msg.sender][node] = WithdrawalRequest(uint128(amount), availableAt);
        emit ChannelReleaseRequested(msg.sender, node, amount, availableAt);
    }

    /// @notice Returns the requested unspent funds of the caller's channel with `node` to its escrow once
    /// the delay has passed (or what is left of them if the node redeemed meanwhile).
    /// @dev Reverts with {NoChannelReleaseRequest} or {WithdrawalNotYetAvailable}.
    /// @param node The node the channel pays.
    /// @return amount Token units returned to escrow.
    function releaseChannel(address node) external returns (uint256 amount) {
        WithdrawalRequest memory request = _releaseRequests[msg.sender][node];
        if (request.availableAt == 0) revert NoChannelReleaseRequest(msg.sender, node);
        if (block.timestamp < request.availableAt) {
            revert WithdrawalNotYetAvailable(msg.sender, request.availableAt, block.timestamp);
        }
        delete _releaseRequests[msg.sender][node];
        Channel storage channel = _channels[msg.sender][node];
        uint256 unspent = _unspent(channel);
        amount = request.amount < unspent ? request.amount : unspent;
        // amount <= unspent <= funded, so the subtraction stays within uint128.
        channel.funded -= uint128(amount);
        _creditEscrow(msg.sender, amount);
        emit ChannelReleased(msg.sender, node, amount);
    }

    /// @notice Total amount redeemed so far on a channel: its latest redeemed cumulative amount.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @return The redeemed total.
    function redeemedOf(address payer, address node) external view returns (uint256) {
        return _channels[payer][node].redeemed;
    }

    /// @notice The state of a channel.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @return redeemed Total redeemed so far: the latest redeemed cumulative amount.
    /// @return unspent Funds in the channel not yet redeemed.
    function channelOf(address payer, address node) external view returns (uint256 redeemed, uint256 unspent) {
        Channel storage channel = _channels[payer][node];
        return (channel.redeemed, _unspent(channel));
    }

    /// @notice A channel's pending release request.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @return amount Requested token units (0 if none).
    /// @return availableAt Unix time it becomes executable (0 if none).
    function channelReleaseRequestOf(address payer, address node)
        external
        view
        returns (uint256 amount, uint256 availableAt)
    {
        WithdrawalRequest memory request = _releaseRequests[payer][node];
        return (request.amount, request.availableAt);
    }

    /// @dev The channel's storage, so a redemption reads and writes its one word once.
    function _channelOf(address payer, address node) internal view returns (Channel storage) {
        return _channels[payer][node];
    }

    /// @dev Records `cumulativeAmount` as redeemed on `channel` and returns what it pays; the part beyond
    /// the channel's funds is drawn from `payer`'s escrow. Callers checked `cumulativeAmount > redeemed`.
    function _redeemOnChannel(Channel storage channel, address payer, uint256 cumulativeAmount)
        internal
        returns (uint256 amount)
    {
        Channel memory state = channel;
        amount = cumulativeAmount - state.redeemed;
        if (cumulativeAmount > state.funded) {
            _debitEscrow(payer, cumulativeAmount - state.funded);
            state.funded = SafeCast.toUint128(cumulativeAmount);
        }
        // cumulativeAmount <= funded, which fits 128 bits, so the cast is lossless. Assigning the whole
        // struct writes the packed word once.
        state.redeemed = uint128(cumulativeAmount);
        _storeChannel(channel, state);
    }

    function _storeChannel(Channel storage channel, Channel memory state) private {
        (channel.redeemed, channel.funded) = (state.redeemed, state.funded);
    }

    function _unspent(Channel storage channel) private view returns (uint256) {
        return channel.funded - channel.redeemed;
    }
}
