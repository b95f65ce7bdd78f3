// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";

/// @notice Test double of the ModelRegistry: tests set each model's terms directly.
contract FakeModelRegistry is IModelRegistry {
    struct Terms {
        address owner;
        uint256 pricePer1kTokens;
        uint16 ownerBps;
        uint16 contributorBps;
        uint16 nodeBps;
    }

    mapping(uint256 modelId => Terms) private _terms;

    error UnknownModel(uint256 modelId);

    function setTerms(
        uint256 modelId,
        address owner,
        uint256 pricePer1kTokens,
        uint16 ownerBps,
        uint16 contributorBps,
        uint16 nodeBps
    ) external {
        _terms[modelId] = Terms(owner, pricePer1kTokens, ownerBps, contributorBps, nodeBps);
    }

    function modelTerms(uint256 modelId)
        external
        view
        returns (address owner, uint256 pricePer1kTokens, uint16 ownerBps, uint16 contributorBps, uint16 nodeBps)
    {
        Terms memory terms = _terms[modelId];
        if (terms.owner == address(0) && terms.ownerBps == 0) revert UnknownModel(modelId);
        return (terms.owner, terms.pricePer1kTokens, terms.ownerBps, terms.contributorBps, terms.nodeBps);
    }
}
