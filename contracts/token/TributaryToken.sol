// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TributaryToken
/// @notice The payment token of local and test networks: a plain ERC-20 with EIP-2612 permits and a
/// rate-limited faucet. Production deployments use any ERC-20; no Tributary contract depends on this one.
contract TributaryToken is ERC20, ERC20Permit, Ownable {
    /// @notice Tokens minted by one faucet drip.
    uint256 public immutable faucetAmount;
    /// @notice Seconds an account must wait between two drips.
    uint256 public immutable faucetCooldown;
    /// @notice Whether `drip` mints; the owner turns it off when the token should stop inflating.
    bool public faucetEnabled;
    /// @notice When each account last received a drip (0 when never).
    mapping(address account => uint256 timestamp) public lastDripAt;

    /// @notice The faucet was turned on or off.
    /// @param enabled Whether it mints now.
    event FaucetEnabledSet(bool enabled);
    /// @notice An account received tokens from the faucet.
    /// @param account The recipient.
    /// @param amount Tokens minted.
    event FaucetDripped(address indexed account, uint256 amount);

    /// @notice `drip` was called while the faucet is off.
    error FaucetDisabled();
    /// @notice `account` asked again before its cooldown ended at `availableAt`.
    error FaucetCoolingDown(address account, uint256 availableAt);

    /// @notice Deploys the token, mints the initial supply and turns the faucet on.
    /// @param initialOwner Receives `initialSupply` and may turn the faucet off.
    /// @param initialSupply Tokens minted to `initialOwner` at deployment.
    /// @param faucetAmount_ Tokens per drip.
    /// @param faucetCooldown_ Seconds between two drips to the same account.
    constructor(address initialOwner, uint256 initialSupply, uint256 faucetAmount_, uint256 faucetCooldown_)
        ERC20("Tributary Test Token", "TRIB")
        ERC20Permit("Tributary Test Token")
        Ownable(initialOwner)
    {
        faucetAmount = faucetAmount_;
        faucetCooldown = faucetCooldown_;
        faucetEnabled = true;
        emit FaucetEnabledSet(true);
        _mint(initialOwner, initialSupply);
    }

    /// @notice Mints `faucetAmount` to the caller, at most once per `faucetCooldown`.
    /// @dev Reverts with `FaucetDisabled` when off, `FaucetCoolingDown` when called too soon.
    function drip() external {
        if (!faucetEnabled) revert FaucetDisabled();
        uint256 last = lastDripAt[msg.sender];
        if (last != 0 && block.timestamp < last + faucetCooldown) {
            revert FaucetCoolingDown(msg.sender, last + faucetCooldown);
        }
        lastDripAt[msg.sender] = block.timestamp;
        emit FaucetDripped(msg.sender, faucetAmount);
        _mint(msg.sender, faucetAmount);
    }

    /// @notice Turns the faucet on or off.
    /// @param enabled Whether `drip` should mint.
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by the owner.
    function setFaucetEnabled(bool enabled) external onlyOwner {
        faucetEnabled = enabled;
        emit FaucetEnabledSet(enabled);
    }
}
