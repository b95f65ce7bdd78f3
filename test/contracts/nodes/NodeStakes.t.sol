// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "../utils/TestBase.sol";
import {TributaryToken} from "../../../contracts/token/TributaryToken.sol";
import {NodeRegistry} from "../../../contracts/nodes/NodeRegistry.sol";

/// @notice Fuzzes staking, slashing and withdrawal: a slash takes min(amount, stake), and every token the
/// registry received leaves it exactly once, to the slash recipient or back to the node.
contract NodeStakesTest is TestBase {
    uint256 private constant MIN_STAKE = 1e18;
    uint64 private constant DELAY = 7 days;

    TributaryToken private token;
    NodeRegistry private registry;
    address private node = vm.addr(0x40DE);
    address private recipient = vm.addr(0x5A1);

    function setUp() public {
        token = new TributaryToken(address(this), type(uint128).max, 0, 0);
        registry = new NodeRegistry(token, address(this), MIN_STAKE, DELAY);
        registry.grantRole(registry.SLASHER_ROLE(), address(this));
        token.transfer(node, type(uint120).max);
        vm.prank(node);
        token.approve(address(registry), type(uint256).max);
    }

    function testFuzz_slashAndWithdrawConserveTokens(uint256 stake, uint256 added, uint256 slash1, uint256 slash2)
        public
    {
        stake = bound(stake, MIN_STAKE, 1e30);
        added = bound(added, 0, 1e30);
        uint256 nodeBefore = token.balanceOf(node);

        vm.startPrank(node);
        registry.register("peer", "http://node", 1, stake);
        if (added != 0) registry.addStake(added);
        vm.stopPrank();
        uint256 staked = stake + added;
        assertEq(registry.stakeOf(node), staked, "stake recorded");

        uint256 taken1 = registry.slash(node, slash1, recipient);
        assertEq(taken1, slash1 < staked ? slash1 : staked, "first slash is capped at the stake");
        vm.prank(node);
        registry.beginUnbonding();
        uint256 left = staked - taken1;
        uint256 taken2 = registry.slash(node, slash2, recipient);
        assertEq(taken2, slash2 < left ? slash2 : left, "unbonding stake is slashable, capped");
        assertEq(token.balanceOf(address(registry)), registry.stakeOf(node), "registry holds exactly the stake");

        vm.warp(block.timestamp + DELAY);
        vm.prank(node);
        registry.withdraw();
        assertEq(token.balanceOf(address(registry)), 0, "nothing left behind");
        assertEq(token.balanceOf(recipient), taken1 + taken2, "recipient got every slashed token");
        assertEq(nodeBefore - token.balanceOf(node), taken1 + taken2, "node lost only what was slashed");
        assertTrue(!registry.isActive(node), "withdrawn node is inactive");
    }
}
