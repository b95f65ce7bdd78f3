// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "./TestBase.sol";

/// @notice Checks the test base itself: `bound` stays in range and cheatcodes answer.
contract TestBaseTest is TestBase {
    function testFuzz_boundStaysInRange(uint256 x, uint256 a, uint256 b) public pure {
        (uint256 lo, uint256 hi) = a <= b ? (a, b) : (b, a);
        uint256 y = bound(x, lo, hi);
        assertGe(y, lo, "below min");
        assertLe(y, hi, "above max");
    }

    function testWarpMovesTime() public {
        vm.warp(1_000_000);
        assertEq(block.timestamp, 1_000_000, "warp");
    }

    function testSignRecovers() public pure {
        uint256 key = 0xA11CE;
        bytes32 digest = keccak256("tributary");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        assertEq(ecrecover(digest, v, r, s), vm.addr(key), "ecrecover");
    }
}
