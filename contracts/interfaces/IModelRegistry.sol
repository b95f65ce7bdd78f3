// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice What the settlement contract needs to know about a trained Model (an ERC-721).
/// @dev A model's commercial terms (price and revenue split) are versioned: every change makes a new version
/// and never alters an old one, so a payment signed against a version is split by exactly that version.
interface IModelRegistry {
    /// @notice The model's current commercial terms and their version.
    /// @dev ownerBps + contributorBps + nodeBps == 10_000. Reverts if the model does not exist.
    /// @param modelId The Model (its ERC-721 token id).
    /// @return owner Current owner of the Model token (receives the owner share).
    /// @return termsVersion Version of these terms (1 for the terms the model was minted with).
    /// @return pricePer1kTokens Price in payment-token units per 1,000 generated tokens.
    /// @return ownerBps Share of revenue (after the protocol fee) for the model owner.
    /// @return contributorBps Share of revenue (after the protocol fee) for the Datanet contributors.
    /// @return nodeBps Share of revenue (after the protocol fee) for the serving node.
    function modelTerms(uint256 modelId)
        external
        view
        returns (
            address owner,
            uint64 termsVersion,
            uint256 pricePer1kTokens,
            uint16 ownerBps,
            uint16 contributorBps,
            uint16 nodeBps
        );

    /// @notice One version of a model's terms, current or past.
    /// @dev Reverts if the model or the version does not exist.
    /// @param modelId The Model.
    /// @param termsVersion The version (1..current).
    /// @return owner Current owner of the Model token.
    /// @return pricePer1kTokens Price of that version.
    /// @return ownerBps Owner share of that version.
    /// @return contributorBps Contributor share of that version.
    /// @return nodeBps Node share of that version.
    /// @return supersededAt Unix time the next version replaced it (0 while it is the current version).
    function modelTermsAt(uint256 modelId, uint64 termsVersion)
        external
        view
        returns (
            address owner,
            uint256 pricePer1kTokens,
            uint16 ownerBps,
            uint16 contributorBps,
            uint16 nodeBps,
            uint64 supersededAt
        );
}
