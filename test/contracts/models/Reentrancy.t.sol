// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "../utils/TestBase.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ReentrantToken} from "../token/ReentrantToken.t.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";
import {NodeRegistry} from "../../../contracts/nodes/NodeRegistry.sol";
import {ModelRegistry} from "../../../contracts/models/ModelRegistry.sol";

/// @notice A payment token that calls back into a registry mid-transfer is stopped by the registry's guard,
/// on every path where tokens move: pulling stakes and fees in, and paying them out.
contract ReentrancyTest is TestBase {
    ReentrantToken private token;
    DatanetRegistry private datanets;
    NodeRegistry private nodes;
    ModelRegistry private models;
    address private node = vm.addr(0x40DE);

    function setUp() public {
        token = new ReentrantToken();
        datanets = new DatanetRegistry(token);
        nodes = new NodeRegistry(token, address(this), 1, 1 days);
        models = new ModelRegistry(token, datanets, nodes, address(this), 1 hours, ModelRegistry.RevenueSplit(10_000, 0, 0));
        token.mint(address(this), 1e24);
        token.mint(node, 1e24);
        token.approve(address(datanets), type(uint256).max);
        token.approve(address(models), type(uint256).max);
        vm.prank(node);
        token.approve(address(nodes), type(uint256).max);
    }

    function testContributeCannotBeReentered() public {
        datanets.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(1, 10, false));
        token.arm(address(datanets), abi.encodeCall(DatanetRegistry.contribute, (1, keccak256("b"), 1, "m", type(uint256).max, true)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        datanets.contribute(1, keccak256("a"), 1, "m", type(uint256).max, true);
    }

    function testRegisterCannotBeReentered() public {
        token.arm(address(nodes), abi.encodeCall(NodeRegistry.addStake, (1)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(node);
        nodes.register("peer", "http://node", 1, 10);
    }

    function testReleaseJobPaymentCannotReenterARefund() public {
        _submittedJob();
        vm.warp(block.timestamp + models.jobDisputeWindow());
        token.arm(address(models), abi.encodeCall(ModelRegistry.refundExpiredJob, (1)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        models.releaseJobPayment(1);
    }

    function testDisputeRulingCannotReenterARelease() public {
        _submittedJob();
        models.disputeJobResult(1, "evidence");
        token.arm(address(models), abi.encodeCall(ModelRegistry.releaseJobPayment, (1)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        models.resolveJobDispute(1, true);
    }

    /// @dev Job 1, requested by this contract, claimed by `node`, with its result submitted (fee held).
    function _submittedJob() private {
        datanets.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(0, 10, false));
        uint256[] memory ids = new uint256[](1);
        ids[0] = datanets.contribute(1, keccak256("a"), 1, "m", type(uint256).max, true);
        datanets.acceptContributions(1, ids);
        datanets.publishVersion(1, keccak256("root"), "manifest", 1, 1);
        models.registerBaseModel("base", "cid", "MIT");
        vm.prank(node);
        nodes.register("peer", "http://node", 1, 10);
        models.createJob(ModelRegistry.JobRequest(1, 1, 1, "hparams", 100, uint64(block.timestamp + 1 days)));
        vm.prank(node);
        models.claimJob(1);
        vm.prank(node);
        models.submitResult(1, ModelRegistry.Artifacts("adapter", "eval", "attribution"));
    }
}
