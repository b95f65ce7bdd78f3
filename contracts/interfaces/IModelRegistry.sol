// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice What the settlement contract needs to know about a trained Model (an ERC-721).
interface IModelRegistry {
    /// @notice Commercial terms of a model, read at settlement time.
    /// @dev ownerBps + contributorBps + nodeBps == 10_000. Reverts if the model does not exist.
    /// @param modelId The Model (its ERC-721 token id).
    /// @return owner Current owner of the Model token (receives the owner share).
    /// @return pricePer1kTokens Price in payment-token units per 1,000 generated tokens.
    /// @return ownerBps Share of revenue (after the protocol fee) for the model owner.
    /// @return contributorBps Share of revenue (after the protocol fee) for the Datanet contributors.
    /// @return nodeBps Share of revenue (after the protocol fee) for the serving node.
    function modelTerms(uint256 modelId)
        external
        view
        returns (address owner, uint256 pricePer1kTokens, uint16 ownerBps, uint16 contributorBps, uint16 nodeBps);
}
