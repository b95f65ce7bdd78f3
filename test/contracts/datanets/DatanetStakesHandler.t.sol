// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "../utils/TestBase.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";

/// @notice Drives random contribution lifecycles against a DatanetRegistry for the stake invariant test:
/// contributing, accepting and rejecting batches, withdrawing stakes (also stakes that must not pay), withdrawing
/// forfeits and moving Datanets between owners. Keeps ghost accounting of deposits, payouts and each stake's
/// payouts.
/// @dev Lives in a `.t.sol` file so Hardhat emits its artifact: the invariant runner only fuzzes contracts whose
/// ABI it knows. Calls the registry refuses are fine (try/catch): the invariants must hold whatever the order.
contract DatanetStakesHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 private constant MAX_BATCH = 4;

    DatanetRegistry public immutable registry;
    IERC20 public immutable token;
    address[] private _actors;
    uint256[] private _datanetIds;
    uint256[] private _contributionIds;
    uint256 private _nonce;

    /// @notice Stakes pulled in by contributions.
    uint256 public ghostDeposited;
    /// @notice Stakes and forfeits paid out by withdrawals.
    uint256 public ghostPaidOut;
    /// @notice Successful withdrawals seen per contribution.
    mapping(uint256 contributionId => uint256 count) public ghostWithdrawals;
    /// @notice Stakes paid twice, or paid although forfeited or never staked: must stay zero.
    uint256 public ghostWrongStakePayouts;
    /// @notice Withdrawals whose recipient did not receive exactly what the registry said it paid: must stay zero.
    uint256 public ghostWrongAmounts;

    constructor(DatanetRegistry registry_, IERC20 token_, address[] memory actors_, uint256[] memory datanetIds_) {
        registry = registry_;
        token = token_;
        _actors = actors_;
        _datanetIds = datanetIds_;
    }

    function contributionCount() external view returns (uint256) {
        return _contributionIds.length;
    }

    function contributionIdAt(uint256 index) external view returns (uint256) {
        return _contributionIds[index];
    }

    function datanetIds() external view returns (uint256[] memory) {
        return _datanetIds;
    }

    function contribute(uint256 actorSeed, uint256 datanetSeed) external {
        uint256 datanetId = _pickDatanet(datanetSeed);
        uint256 stake = registry.getDatanet(datanetId).policy.stake;
        vm.prank(_pickActor(actorSeed));
        _contributionIds.push(registry.contribute(datanetId, keccak256(abi.encode(_nonce++)), 1, "m", type(uint256).max, true));
        ghostDeposited += stake;
    }

    /// @dev Decides up to MAX_BATCH pending contributions of one Datanet, as its owner.
    function decide(uint256 datanetSeed, uint256 startSeed, bool accept) external {
        uint256 datanetId = _pickDatanet(datanetSeed);
        uint256[] memory batch = _collect(startSeed, datanetId, address(0), true);
        if (batch.length == 0) return;
        vm.prank(registry.ownerOf(datanetId));
        if (accept) registry.acceptContributions(datanetId, batch);
        else registry.rejectContributions(datanetId, batch);
    }

    /// @dev Withdraws up to MAX_BATCH decided contributions of one contributor, whether or not they still hold a
    /// stake: the registry must refuse the ones that do not, and pay the others exactly once.
    function withdrawStakes(uint256 actorSeed, uint256 startSeed, uint256 callerSeed) external {
        address contributor = _pickActor(actorSeed);
        uint256[] memory batch = _collect(startSeed, 0, contributor, false);
        if (batch.length == 0) return;
        uint256[] memory held = new uint256[](batch.length);
        for (uint256 i; i < batch.length; ++i) {
            (, held[i]) = registry.getContribution(batch[i]);
        }
        uint256 before = token.balanceOf(contributor);
        vm.prank(_pickActor(callerSeed));
        try registry.withdrawStakes(batch) returns (uint256 amount) {
            if (token.balanceOf(contributor) - before != amount) ++ghostWrongAmounts;
            uint256 expected;
            for (uint256 i; i < batch.length; ++i) {
                if (held[i] == 0 || ghostWithdrawals[batch[i]] != 0) ++ghostWrongStakePayouts;
                ++ghostWithdrawals[batch[i]];
                expected += held[i];
            }
            if (amount != expected) ++ghostWrongAmounts;
            ghostPaidOut += amount;
        } catch {}
    }

    function withdrawForfeits(uint256 datanetSeed) external {
        uint256 datanetId = _pickDatanet(datanetSeed);
        address owner = registry.ownerOf(datanetId);
        uint256 forfeited = registry.forfeitedOf(datanetId);
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try registry.withdrawForfeits(datanetId) returns (uint256 amount) {
            if (amount != forfeited || token.balanceOf(owner) - before != amount) ++ghostWrongAmounts;
            ghostPaidOut += amount;
        } catch {}
    }

    function transferDatanet(uint256 datanetSeed, uint256 actorSeed) external {
        uint256 datanetId = _pickDatanet(datanetSeed);
        address owner = registry.ownerOf(datanetId);
        vm.prank(owner);
        registry.transferFrom(owner, _pickActor(actorSeed), datanetId);
    }

    /// @dev Up to MAX_BATCH distinct contributions from a seeded start: pending ones of `datanetId` when
    /// `pending`, otherwise decided ones of `contributor` (from any Datanet).
    function _collect(uint256 startSeed, uint256 datanetId, address contributor, bool pending)
        private
        view
        returns (uint256[] memory batch)
    {
        uint256 total = _contributionIds.length;
        batch = new uint256[](MAX_BATCH);
        uint256 found;
        for (uint256 step; step < total && found < MAX_BATCH; ++step) {
            uint256 id = _contributionIds[(startSeed + step) % total];
            (DatanetRegistry.Contribution memory record,) = registry.getContribution(id);
            bool isPending = record.status == DatanetRegistry.ContributionStatus.Pending;
            bool wanted = pending
                ? isPending && record.datanetId == datanetId
                : !isPending && record.contributor == contributor;
            if (wanted) batch[found++] = id;
        }
        assembly ("memory-safe") {
            mstore(batch, found)
        }
    }

    function _pickActor(uint256 seed) private view returns (address) {
        return _actors[seed % _actors.length];
    }

    function _pickDatanet(uint256 seed) private view returns (uint256) {
        return _datanetIds[seed % _datanetIds.length];
    }
}
