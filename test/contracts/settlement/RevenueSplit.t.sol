// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "../utils/TestBase.sol";
import {RevenueSplit} from "../../../contracts/settlement/libraries/RevenueSplit.sol";

/// @notice The revenue split creates and loses nothing: for every revenue and every valid fee and model
/// terms, the parts sum to the revenue, each rounded share is the exact floor, and the node's dust is at most 2.
contract RevenueSplitTest is TestBase {
    function testFuzz_partsSumToRevenue(uint256 revenue, uint256 feeBps, uint256 ownerBps, uint256 contributorBps)
        public
        pure
    {
        feeBps = bound(feeBps, 0, 1_000);
        ownerBps = bound(ownerBps, 0, 10_000);
        contributorBps = bound(contributorBps, 0, 10_000 - ownerBps);
        RevenueSplit.Shares memory shares = RevenueSplit.split(revenue, feeBps, ownerBps, contributorBps);

        // Sum without overflow: the node share is a remainder, so summing in this order never exceeds revenue.
        assertEq(shares.protocolFee + shares.owner + shares.contributors + shares.node, revenue, "parts == revenue");
        assertEq(shares.protocolFee, _floorBps(revenue, feeBps), "protocol fee is the exact floor");
        uint256 net = revenue - shares.protocolFee;
        assertEq(shares.owner, _floorBps(net, ownerBps), "owner share is the exact floor");
        assertEq(shares.contributors, _floorBps(net, contributorBps), "contributor share is the exact floor");
        uint256 nodeBps = 10_000 - ownerBps - contributorBps;
        assertGe(shares.node, _floorBps(net, nodeBps), "node gets at least its share");
        assertLe(shares.node - _floorBps(net, nodeBps), 2, "dust is at most 2 units");
    }

    function testFuzz_smallRevenuesStillConserve(uint8 revenue, uint16 ownerBps) public pure {
        uint256 owner = bound(ownerBps, 0, 10_000);
        RevenueSplit.Shares memory shares = RevenueSplit.split(revenue, 1_000, owner, 10_000 - owner);
        assertEq(shares.protocolFee + shares.owner + shares.contributors + shares.node, revenue, "parts == revenue");
    }

    function testMaxRevenueDoesNotOverflow() public pure {
        RevenueSplit.Shares memory shares = RevenueSplit.split(type(uint256).max, 1_000, 3_333, 3_333);
        assertEq(
            shares.protocolFee + shares.owner + shares.contributors + shares.node, type(uint256).max, "parts == revenue"
        );
    }

    /// @dev floor(amount * bps / 10_000) computed without overflow for every uint256 amount.
    function _floorBps(uint256 amount, uint256 bps) private pure returns (uint256) {
        return (amount / 10_000) * bps + ((amount % 10_000) * bps) / 10_000;
    }
}
