// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "../utils/TestBase.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ModelRegistry} from "../../../contracts/models/ModelRegistry.sol";

/// @notice Drives random training-job lifecycles against a ModelRegistry for the escrow invariant test, and
/// keeps ghost accounting of what the escrow should hold and how often each job paid out.
/// @dev Lives in a `.t.sol` file so Hardhat emits its artifact: the invariant runner only fuzzes contracts
/// whose ABI it knows. The handler is the requester of every job. Calls that the registry refuses are fine (try/catch):
/// the invariant must hold whatever order the fuzzer picks.
contract ModelEscrowHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    ModelRegistry public immutable models;
    IERC20 public immutable token;
    address[] private _nodes;

    /// @notice Fees of jobs that have not paid out or been refunded, by the handler's own count.
    uint256 public ghostOpenFees;
    /// @notice Payouts (payment release, ruling, refund or cancellation) seen per job.
    mapping(uint256 jobId => uint256 count) public ghostPayouts;
    /// @notice Jobs that paid out more than once: must stay zero.
    uint256 public ghostDoublePayouts;
    /// @notice Payouts whose recipient did not receive exactly the job's fee: must stay zero.
    uint256 public ghostWrongPayouts;

    constructor(ModelRegistry models_, IERC20 token_, address[] memory nodes_) {
        models = models_;
        token = token_;
        _nodes = nodes_;
        token_.approve(address(models_), type(uint256).max);
    }

    function createJob(uint256 fee, uint256 duration) external {
        fee = 1 + fee % 1e24;
        duration = 1 + duration % 3 days;
        uint256 jobId = models.createJob(
            ModelRegistry.JobRequest({
                datanetId: 1,
                datanetVersion: 1,
                baseModelId: 1,
                hyperParamsCid: "hparams",
                fee: fee,
                deadline: uint64(block.timestamp + duration)
            })
        );
        ghostOpenFees += fee;
        jobId; // ids are read back from jobCount() by the other actions
    }

    function claim(uint256 jobSeed, uint256 nodeSeed) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        vm.prank(_pickNode(nodeSeed));
        try models.claimJob(jobId) {} catch {}
    }

    function extend(uint256 jobSeed) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        vm.prank(models.getJob(jobId).leaseHolder);
        try models.extendLease(jobId) {} catch {}
    }

    function submit(uint256 jobSeed, uint256 nodeSeed, bool asHolder) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        ModelRegistry.TrainingJob memory job = models.getJob(jobId);
        address node = asHolder && job.leaseHolder != address(0) ? job.leaseHolder : _pickNode(nodeSeed);
        uint256 before = token.balanceOf(node);
        vm.prank(node);
        try models.submitResult(jobId, ModelRegistry.Artifacts("adapter", "eval", "attribution")) {
            // A result pays nothing yet: the fee is held through the dispute window.
            if (token.balanceOf(node) != before) ++ghostWrongPayouts;
        } catch {}
    }

    function dispute(uint256 jobSeed) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        try models.disputeJobResult(jobId, "evidence") {} catch {}
    }

    function resolve(uint256 jobSeed, bool upheld) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        ModelRegistry.TrainingJob memory job = models.getJob(jobId);
        address paid = upheld ? address(this) : job.leaseHolder;
        uint256 before = token.balanceOf(paid);
        try models.resolveJobDispute(jobId, upheld) {
            _recordPayout(jobId, job.fee, token.balanceOf(paid) - before);
        } catch {}
    }

    function release(uint256 jobSeed) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        ModelRegistry.TrainingJob memory job = models.getJob(jobId);
        uint256 before = token.balanceOf(job.leaseHolder);
        try models.releaseJobPayment(jobId) {
            _recordPayout(jobId, job.fee, token.balanceOf(job.leaseHolder) - before);
        } catch {}
    }

    function refund(uint256 jobSeed) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        ModelRegistry.TrainingJob memory job = models.getJob(jobId);
        uint256 before = token.balanceOf(address(this));
        try models.refundExpiredJob(jobId) {
            _recordPayout(jobId, job.fee, token.balanceOf(address(this)) - before);
        } catch {}
    }

    function cancel(uint256 jobSeed) external {
        uint256 jobId = _pickJob(jobSeed);
        if (jobId == 0) return;
        ModelRegistry.TrainingJob memory job = models.getJob(jobId);
        uint256 before = token.balanceOf(address(this));
        try models.cancelJob(jobId) {
            _recordPayout(jobId, job.fee, token.balanceOf(address(this)) - before);
        } catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + 1 + seconds_ % 2 days);
    }

    function _recordPayout(uint256 jobId, uint256 fee, uint256 received) private {
        if (++ghostPayouts[jobId] > 1) ++ghostDoublePayouts;
        if (received != fee) ++ghostWrongPayouts;
        ghostOpenFees -= fee;
    }

    function _pickJob(uint256 seed) private view returns (uint256) {
        uint256 count = models.jobCount();
        return count == 0 ? 0 : 1 + seed % count;
    }

    function _pickNode(uint256 seed) private view returns (address) {
        return _nodes[seed % _nodes.length];
    }
}
