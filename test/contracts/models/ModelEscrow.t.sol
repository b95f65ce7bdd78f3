// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {InvariantBase} from "../utils/TestBase.sol";
import {TributaryToken} from "../../../contracts/token/TributaryToken.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";
import {NodeRegistry} from "../../../contracts/nodes/NodeRegistry.sol";
import {ModelRegistry} from "../../../contracts/models/ModelRegistry.sol";
import {ModelEscrowHandler} from "./ModelEscrowHandler.t.sol";

/// @notice Escrow invariants of the ModelRegistry under random job lifecycles (create, claim, heartbeat,
/// submit, dispute, ruling, payment release, refund, cancel, time passing): the registry holds exactly the
/// fees of jobs not yet paid out (open, submitted or disputed), and no job pays out twice or pays the wrong
/// amount.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 40
contract ModelEscrowInvariantTest is InvariantBase {
    TributaryToken private token;
    ModelRegistry private models;
    ModelEscrowHandler private handler;

    function setUp() public {
        token = new TributaryToken(address(this), type(uint128).max, 0, 0);
        DatanetRegistry datanets = new DatanetRegistry(token);
        NodeRegistry nodes = new NodeRegistry(token, address(this), 1e18, 7 days);
        models = new ModelRegistry(token, datanets, nodes, address(this), 1 hours, ModelRegistry.RevenueSplit(5000, 4000, 1000));

        uint256 datanetId = datanets.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(0, 100, false));
        uint256[] memory ids = new uint256[](1);
        ids[0] = datanets.contribute(datanetId, keccak256("content"), 1, "m", type(uint256).max, true);
        datanets.acceptContributions(datanetId, ids);
        datanets.publishVersion(datanetId, keccak256("root"), "manifest", 1, 1);
        models.registerBaseModel("base", "bafy-base", "Apache-2.0");

        address[] memory nodeAccounts = new address[](3);
        for (uint256 i; i < nodeAccounts.length; ++i) {
            nodeAccounts[i] = vm.addr(0xA0 + i);
            token.transfer(nodeAccounts[i], 1e18);
            vm.startPrank(nodeAccounts[i]);
            token.approve(address(nodes), 1e18);
            nodes.register("peer", "http://node", 1, 1e18);
            vm.stopPrank();
        }

        handler = new ModelEscrowHandler(models, token, nodeAccounts);
        models.setJobArbiter(address(handler));
        token.transfer(address(handler), 1e30);
        targetContract(address(handler));
    }

    function invariant_escrowHoldsExactlyTheOpenFees() public view {
        uint256 openFees;
        uint256 count = models.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            ModelRegistry.TrainingJob memory job = models.getJob(jobId);
            ModelRegistry.JobStatus status = job.status;
            if (
                status == ModelRegistry.JobStatus.Open || status == ModelRegistry.JobStatus.Submitted
                    || status == ModelRegistry.JobStatus.Disputed
            ) openFees += job.fee;
        }
        assertEq(token.balanceOf(address(models)), openFees, "escrow == fees of unpaid jobs");
        assertEq(token.balanceOf(address(models)), handler.ghostOpenFees(), "escrow == fees not yet paid out");
    }

    function invariant_jobPaysOutAtMostOnceAndExactly() public view {
        assertEq(handler.ghostDoublePayouts(), 0, "a job paid out twice");
        assertEq(handler.ghostWrongPayouts(), 0, "a payout was not exactly the job's fee");
    }

    function invariant_deliveredJobsHaveModels() public view {
        uint256 delivered;
        uint256 count = models.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            ModelRegistry.TrainingJob memory job = models.getJob(jobId);
            if (job.modelId != 0) ++delivered;
        }
        assertEq(models.modelCount(), delivered, "one model per delivered job");
    }
}
