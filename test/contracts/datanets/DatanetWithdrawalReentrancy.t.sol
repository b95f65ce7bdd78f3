// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "../utils/TestBase.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ReentrantToken} from "../token/ReentrantToken.t.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";

/// @notice A payment token that calls back into the registry while it pays a withdrawal is stopped by the
/// registry's guard, so a stake or a forfeit cannot be paid twice through reentry.
contract DatanetWithdrawalReentrancyTest is TestBase {
    ReentrantToken private token;
    DatanetRegistry private registry;
    uint256[] private ids;

    function setUp() public {
        token = new ReentrantToken();
        registry = new DatanetRegistry(token);
        token.mint(address(this), 1e24);
        token.approve(address(registry), type(uint256).max);
        registry.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(5, 10, true));
        ids.push(registry.contribute(1, keccak256("a"), 1, "m", type(uint256).max, true));
        ids.push(registry.contribute(1, keccak256("b"), 1, "m", type(uint256).max, true));
        uint256[] memory accepted = new uint256[](1);
        accepted[0] = ids[0];
        registry.acceptContributions(1, accepted);
        uint256[] memory rejected = new uint256[](1);
        rejected[0] = ids[1];
        registry.rejectContributions(1, rejected);
    }

    function testWithdrawStakesCannotBeReentered() public {
        uint256[] memory batch = new uint256[](1);
        batch[0] = ids[0];
        token.arm(address(registry), abi.encodeCall(DatanetRegistry.withdrawForfeits, (1)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        registry.withdrawStakes(batch);
    }

    function testWithdrawForfeitsCannotBeReentered() public {
        uint256[] memory batch = new uint256[](1);
        batch[0] = ids[0];
        token.arm(address(registry), abi.encodeCall(DatanetRegistry.withdrawStakes, (batch)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        registry.withdrawForfeits(1);
    }
}
