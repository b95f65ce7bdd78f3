// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";

/// @notice Test double of the ModelRegistry: tests set each model's terms directly. Every `setTerms` makes a
/// new terms version (the first is 1) and marks the previous one superseded, like the real registry.
contract FakeModelRegistry is IModelRegistry {
    struct Terms {
        address owner;
        uint256 pricePer1kTokens;
        uint16 ownerBps;
        uint16 contributorBps;
        uint16 nodeBps;
        uint64 supersededAt;
    }

    mapping(uint256 modelId => uint64) private _versions;
    mapping(uint256 modelId => mapping(uint64 version => Terms)) private _terms;

    error UnknownModel(uint256 modelId);
    error UnknownTermsVersion(uint256 modelId, uint64 termsVersion);

    function setTerms(
        uint256 modelId,
        address owner,
        uint256 pricePer1kTokens,
        uint16 ownerBps,
        uint16 contributorBps,
        uint16 nodeBps
    ) external returns (uint64 version) {
        version = _versions[modelId];
        if (version != 0) _terms[modelId][version].supersededAt = uint64(block.timestamp);
        version += 1;
        _versions[modelId] = version;
        _terms[modelId][version] = Terms(owner, pricePer1kTokens, ownerBps, contributorBps, nodeBps, 0);
    }

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
        )
    {
        termsVersion = _versions[modelId];
        if (termsVersion == 0) revert UnknownModel(modelId);
        Terms memory terms = _terms[modelId][termsVersion];
        return (terms.owner, termsVersion, terms.pricePer1kTokens, terms.ownerBps, terms.contributorBps, terms.nodeBps);
    }

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
        )
    {
        if (termsVersion == 0 || termsVersion > _versions[modelId]) revert UnknownTermsVersion(modelId, termsVersion);
        Terms memory terms = _terms[modelId][termsVersion];
        return (
            terms.owner, terms.pricePer1kTokens, terms.ownerBps, terms.contributorBps, terms.nodeBps, terms.supersededAt
        );
    }
}
