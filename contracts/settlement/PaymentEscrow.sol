// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";

/// @title PaymentEscrow
/// @notice Payers' prepaid balances. Deposits are immediate; withdrawals go through a request and a
/// delay, during which the balance stays drawable by vouchers, so a node always has time to redeem the
/// latest vouchers it holds before the money it served against leaves escrow.
/// @dev The escrow has exactly two ways out: voucher redemptions and {withdraw} after the delay. Nothing
/// else debits it (channel funding and on-chain inference fees come from the wallet), so no path moves
/// escrow out of a voucher's reach faster than `withdrawalDelay`. A node sizes what it serves a payer on
/// credit by {escrowBalanceOf} minus the pending {withdrawalRequestOf} amount, and redeems within the delay.
abstract contract PaymentEscrow is PaymentTokenHolder {
    struct WithdrawalRequest {
        uint128 amount;
        uint64 availableAt;
    }

    /// @notice Seconds between a withdrawal request and the moment it can be executed.
    uint256 public immutable withdrawalDelay;

    mapping(address payer => uint256) private _escrowBalances;
    mapping(address payer => WithdrawalRequest) private _withdrawalRequests;

    /// @notice Tokens were deposited into a payer's escrow.
    /// @param payer The escrow credited.
    /// @param funder The account the tokens came from.
    /// @param amount Token units deposited.
    event Deposited(address indexed payer, address indexed funder, uint256 amount);
    /// @notice A payer started the withdrawal delay.
    /// @param payer The payer.
    /// @param amount Most token units the withdrawal will pay.
    /// @param availableAt Unix time from which it can be executed.
    event WithdrawalRequested(address indexed payer, uint256 amount, uint256 availableAt);
    /// @notice A payer cancelled its pending withdrawal request.
    /// @param payer The payer.
    event WithdrawalCancelled(address indexed payer);
    /// @notice Tokens left a payer's escrow.
    /// @param payer The payer, who received them.
    /// @param amount Token units paid (less than requested if vouchers drew the escrow down meanwhile).
    event Withdrawn(address indexed payer, uint256 amount);

    /// @notice `payer` holds `balance` in escrow but `needed` was required.
    error InsufficientEscrow(address payer, uint256 balance, uint256 needed);
    /// @notice `payer` has no pending withdrawal request.
    error NoWithdrawalRequest(address payer);
    /// @notice The withdrawal of `payer` becomes executable only at `availableAt` (now: `currentTime`).
    error WithdrawalNotYetAvailable(address payer, uint256 availableAt, uint256 currentTime);

    constructor(uint256 delay) {
        withdrawalDelay = delay;
    }

    /// @notice Deposits `amount` of the payment token (pulled from the caller) into the caller's escrow.
    /// @dev Requires a prior ERC-20 approval. Reverts with {ZeroAmount} for a zero amount.
    /// @param amount Token units to deposit.
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @notice Deposits `amount` (pulled from the caller) into `payer`'s escrow, e.g. a dApp topping up a user.
    /// @dev Reverts with {ZeroAddress} for a zero payer and {ZeroAmount} for a zero amount.
    /// @param payer The account whose escrow is credited.
    /// @param amount Token units to deposit.
    function depositFor(address payer, uint256 amount) external nonReentrant {
        if (payer == address(0)) revert ZeroAddress();
        _deposit(payer, amount);
    }

    /// @notice Starts the withdrawal delay for up to `amount` of the caller's escrow, replacing any
    /// earlier request (the delay restarts).
    /// @dev Reverts with {ZeroAmount} or {InsufficientEscrow} if `amount` exceeds the current balance.
    /// @param amount Token units to withdraw once the delay has passed.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _escrowBalances[msg.sender];
        if (amount > balance) revert InsufficientEscrow(msg.sender, balance, amount);
        uint64 availableAt = SafeCast.toUint64(block.timestamp + withdrawalDelay);
        _withdrawalRequests[msg.sender] = WithdrawalRequest(SafeCast.toUint128(amount), availableAt);
        emit WithdrawalRequested(msg.sender, amount, availableAt);
    }

    /// @notice Cancels the caller's pending withdrawal request.
    /// @dev Reverts with {NoWithdrawalRequest} if there is none.
    function cancelWithdrawal() external {
        if (_withdrawalRequests[msg.sender].availableAt == 0) revert NoWithdrawalRequest(msg.sender);
        delete _withdrawalRequests[msg.sender];
        emit WithdrawalCancelled(msg.sender);
    }

    /// @notice Executes the caller's withdrawal request once its delay has passed. Pays the requested
    /// amount, or the whole remaining balance if vouchers drew the escrow below it meanwhile.
    /// @dev Reverts with {NoWithdrawalRequest} or {WithdrawalNotYetAvailable}.
    /// @return amount Token units sent to the caller.
    function withdraw() external nonReentrant returns (uint256 amount) {
        WithdrawalRequest memory request = _withdrawalRequests[msg.sender];
        if (request.availableAt == 0) revert NoWithdrawalRequest(msg.sender);
        if (block.timestamp < request.availableAt) {
            revert WithdrawalNotYetAvailable(msg.sender, request.availableAt, block.timestamp);
        }
        uint256 balance = _escrowBalances[msg.sender];
        amount = request.amount < balance ? request.amount : balance;
        delete _withdrawalRequests[msg.sender];
        _escrowBalances[msg.sender] = balance - amount;
        emit Withdrawn(msg.sender, amount);
        if (amount > 0) _pushTokens(msg.sender, amount);
    }

    /// @notice Token units a payer holds in escrow (including any amount requested for withdrawal).
    /// @param payer The payer.
    /// @return The escrow balance.
    function escrowBalanceOf(address payer) external view returns (uint256) {
        return _escrowBalances[payer];
    }

    /// @notice A payer's pending withdrawal request.
    /// @param payer The payer.
    /// @return amount Requested token units (0 if none).
    /// @return availableAt Unix time it becomes executable (0 if none).
    function withdrawalRequestOf(address payer) external view returns (uint256 amount, uint256 availableAt) {
        WithdrawalRequest memory request = _withdrawalRequests[payer];
        return (request.amount, request.availableAt);
    }

    /// @dev The escrow balance of `payer`.
    function _escrowBalanceOf(address payer) internal view returns (uint256) {
        return _escrowBalances[payer];
    }

    /// @dev Takes `amount` out of `payer`'s escrow; the tokens stay in the contract under another ledger.
    function _debitEscrow(address payer, uint256 amount) internal {
        uint256 balance = _escrowBalances[payer];
        if (amount > balance) revert InsufficientEscrow(payer, balance, amount);
        unchecked {
            _escrowBalances[payer] = balance - amount;
        }
    }

    /// @dev Returns `amount` to `payer`'s escrow (released channel funds).
    function _creditEscrow(address payer, uint256 amount) internal {
        _escrowBalances[payer] += amount;
    }

    function _deposit(address payer, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        _escrowBalances[payer] += amount;
        emit Deposited(payer, msg.sender, amount);
        _pullTokens(msg.sender, amount);
    }
}
