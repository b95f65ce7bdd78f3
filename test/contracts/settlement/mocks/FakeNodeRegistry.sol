// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {INodeRegistry} from "../../../../contracts/interfaces/INodeRegistry.sol";

/// @notice Test double of the NodeRegistry: tests set activity and stake directly; the stake is held
/// here in the payment token so slashing really moves tokens.
contract FakeNodeRegistry is INodeRegistry {
    IERC20 public immutable token;
    address public slasher;
    mapping(address node => bool) public override isActive;
    mapping(address node => uint256) public override stakeOf;

    error NotSlasher(address caller);

    constructor(IERC20 paymentToken) {
        token = paymentToken;
    }

    function setSlasher(address account) external {
        slasher = account;
    }

    function setActive(address node, bool active) external {
        isActive[node] = active;
    }

    /// @dev The caller must have funded this contract with `amount` tokens.
    function setStake(address node, uint256 amount) external {
        stakeOf[node] = amount;
    }

    function slash(address node, uint256 amount, address recipient) external returns (uint256 slashed) {
        if (msg.sender != slasher) revert NotSlasher(msg.sender);
        slashed = amount < stakeOf[node] ? amount : stakeOf[node];
        stakeOf[node] -= slashed;
        token.transfer(recipient, slashed);
    }
}
