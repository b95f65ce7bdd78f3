// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IStakeLock
/// @notice What the NodeRegistry asks before a node takes its stake out: whether something the node posted can
/// still be disputed, so an upheld challenge always finds the stake to slash.
interface IStakeLock {
    /// @notice True while `node` has a credit root of its own that is in its dispute window or under challenge.
    /// @param node The operator's address.
    /// @return Whether the node's stake must stay in the registry.
    function hasOpenDisputes(address node) external view returns (bool);
}
