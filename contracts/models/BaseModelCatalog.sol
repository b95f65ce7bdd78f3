// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title BaseModelCatalog
/// @notice The base models that training jobs may fine-tune, registered and deprecated by governance.
/// @dev Abstract: the ModelRegistry inherits it and asks `_requireUsableBaseModel` when a job names one.
abstract contract BaseModelCatalog is Ownable {
    /// @notice A registered base model.
    /// @param name Human-readable name, e.g. "tributary-base-9m".
    /// @param manifestCid IPFS CID of the model folder (config.json, model.safetensors, tokenizer.json).
    /// @param licence Licence of the weights, e.g. an SPDX id.
    /// @param deprecated New jobs may not use a deprecated base model; existing jobs and models are unaffected.
    struct BaseModel {
        string name;
        string manifestCid;
        string licence;
        bool deprecated;
    }

    uint256 private _lastBaseModelId;
    mapping(uint256 baseModelId => BaseModel) private _baseModels;

    /// @notice Governance registered a base model.
    /// @param baseModelId The new id.
    /// @param name Its name.
    /// @param manifestCid IPFS CID of its model folder.
    /// @param licence Licence of its weights.
    event BaseModelRegistered(uint256 indexed baseModelId, string name, string manifestCid, string licence);
    /// @notice Governance deprecated a base model.
    /// @param baseModelId The base model.
    event BaseModelDeprecated(uint256 indexed baseModelId);

    /// @notice No base model has id `baseModelId`.
    error BaseModelNotFound(uint256 baseModelId);
    /// @notice Base model `baseModelId` is deprecated.
    error BaseModelIsDeprecated(uint256 baseModelId);
    /// @notice A required string was empty; `field` names it.
    error EmptyField(string field);

    /// @notice Registers a base model.
    /// @param name Human-readable name; must not be empty.
    /// @param manifestCid IPFS CID of the model folder; must not be empty.
    /// @param licence Licence of the weights; must not be empty.
    /// @return baseModelId The new id, counting from 1.
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by governance, `EmptyField` on empty strings.
    function registerBaseModel(string calldata name, string calldata manifestCid, string calldata licence)
        external
        onlyOwner
        returns (uint256 baseModelId)
    {
        if (bytes(name).length == 0) revert EmptyField("name");
        if (bytes(manifestCid).length == 0) revert EmptyField("manifestCid");
        if (bytes(licence).length == 0) revert EmptyField("licence");
        baseModelId = ++_lastBaseModelId;
        _baseModels[baseModelId] = BaseModel(name, manifestCid, licence, false);
        emit BaseModelRegistered(baseModelId, name, manifestCid, licence);
    }

    /// @notice Stops new training jobs from using a base model.
    /// @param baseModelId The base model.
    /// @dev Reverts with `OwnableUnauthorizedAccount` unless called by governance, `BaseModelNotFound` or
    /// `BaseModelIsDeprecated` (already deprecated).
    function deprecateBaseModel(uint256 baseModelId) external onlyOwner {
        _requireUsableBaseModel(baseModelId);
        _baseModels[baseModelId].deprecated = true;
        emit BaseModelDeprecated(baseModelId);
    }

    /// @notice A base model's record.
    /// @param baseModelId The base model.
    /// @return Its record.
    /// @dev Reverts with `BaseModelNotFound`.
    function getBaseModel(uint256 baseModelId) external view returns (BaseModel memory) {
        if (baseModelId == 0 || baseModelId > _lastBaseModelId) revert BaseModelNotFound(baseModelId);
        return _baseModels[baseModelId];
    }

    /// @notice Number of base models registered.
    /// @return n, where ids are 1..n.
    function baseModelCount() external view returns (uint256) {
        return _lastBaseModelId;
    }

    function _requireUsableBaseModel(uint256 baseModelId) internal view {
        if (baseModelId == 0 || baseModelId > _lastBaseModelId) revert BaseModelNotFound(baseModelId);
        if (_baseModels[baseModelId].deprecated) revert BaseModelIsDeprecated(baseModelId);
    }
}
