// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice What the settlement contract needs to know about a trained Model (an ERC-721).
interface IModelRegistry {
    /// @notice Commercial terms of a model, read at settlement time.
    /// @param owner Current owner of the Model token (receives the owner share).
    /// @param pricePer1kTokens Price in payment-token units per 1,000 generated tokens.
    /// @param ownerBps Share of revenue (after the protocol fee) for the model owner.
    /// @param contributorBps Share of revenue (after the protocol fee) for the Datanet contributors.
    /// @param nodeBps Share of revenue (after the protocol fee) for the serving node.
    /// @dev ownerBps + contributorBps + nodeBps == 10_000. Reverts if the model does not exist.
    function modelTerms(uint256 modelId)
        external
        view
        returns (address owner, uint256 pricePer1kTokens, uint16 ownerBps, uint16 contributorBps, uint16 nodeBps);
}
