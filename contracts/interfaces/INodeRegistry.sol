// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title INodeRegistry
/// @notice What other Tributary contracts need to know about compute nodes.
interface INodeRegistry {
    /// @notice True when `node` is registered, not unbonding, and has at least the minimum stake.
    /// @param node The operator's address.
    /// @return Whether the node may take jobs and settle batches.
    function isActive(address node) external view returns (bool);

    /// @notice Current stake of `node` in the payment token (including any part that is unbonding).
    /// @param node The operator's address.
    /// @return The stake in payment-token units.
    function stakeOf(address node) external view returns (uint256);

    /// @notice Slash up to `amount` of `node`'s stake and send it to `recipient`.
    /// @dev Callable only by an account holding the registry's SLASHER_ROLE (the settlement contract).
    /// @param node The operator to slash.
    /// @param amount The most to take.
    /// @param recipient Who receives the slashed tokens (the successful challenger).
    /// @return slashed The amount actually taken (capped by the node's stake).
    function slash(address node, uint256 amount, address recipient) external returns (uint256 slashed);
}
