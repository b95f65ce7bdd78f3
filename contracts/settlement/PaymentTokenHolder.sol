// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title PaymentTokenHolder
/// @notice The one ERC-20 every settlement ledger is denominated in, fixed at deployment, and the
/// guarded ways tokens enter and leave the contract.
abstract contract PaymentTokenHolder is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The token payers deposit and every party is paid in.
    IERC20 public immutable paymentToken;

    /// @notice An amount argument was zero where a positive amount is required.
    error ZeroAmount();
    /// @notice An address argument was the zero address.
    error ZeroAddress();

    constructor(IERC20 token) {
        if (address(token) == address(0)) revert ZeroAddress();
        paymentToken = token;
    }

    function _pullTokens(address from, uint256 amount) internal {
        paymentToken.safeTransferFrom(from, address(this), amount);
    }

    function _pushTokens(address to, uint256 amount) internal {
        paymentToken.safeTransfer(to, amount);
    }
}
