// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";

/// @title ActiveNodes
/// @notice Restricts node-only actions (settling batches, serving on-chain requests) to nodes the
/// NodeRegistry reports as active, i.e. staked and therefore slashable.
abstract contract ActiveNodes {
    /// @notice The registry that stakes and slashes compute nodes.
    INodeRegistry public immutable nodeRegistry;

    /// @notice `node` is not registered, is unbonding or lacks the minimum stake.
    error NodeNotActive(address node);

    constructor(INodeRegistry registry) {
        nodeRegistry = registry;
    }

    modifier onlyActiveNode() {
        if (!nodeRegistry.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        _;
    }
}
