// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IDatanetRegistry
/// @notice What other Tributary contracts need to know about Datanets: whether a published
/// version exists and what it commits to.
interface IDatanetRegistry {
    /// @notice The Merkle root over the accepted contributions of a published version, and its manifest CID.
    /// @dev Reverts with the registry's own custom error if the Datanet or version does not exist.
    /// @param datanetId The Datanet (its ERC-721 token id).
    /// @param version The version number (1..versionCount).
    /// @return root StandardMerkleTree root over (contributionId, contributor, digest) of the version.
    /// @return manifestCid IPFS CID of the version's manifest.
    function versionRoot(uint256 datanetId, uint32 version) external view returns (bytes32 root, string memory manifestCid);

    /// @notice Number of published versions of a Datanet (versions are numbered 1..n).
    /// @param datanetId The Datanet (its ERC-721 token id).
    /// @return The number of published versions.
    function versionCount(uint256 datanetId) external view returns (uint32);
}
