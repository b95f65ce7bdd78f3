// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "../utils/TestBase.sol";
import {TributaryToken} from "../../../contracts/token/TributaryToken.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";

/// @notice Fuzzes contribution stakes through accept and reject batches: escrow only ever moves stakes
/// between contributors, the registry and the Datanet owner, never creating or losing a token.
contract DatanetStakesTest is TestBase {
    uint256 private constant CONTRIBUTORS = 3;

    TributaryToken private token;
    DatanetRegistry private registry;
    address private owner = vm.addr(0xD47A);
    address[CONTRIBUTORS] private contributors;

    function setUp() public {
        token = new TributaryToken(address(this), type(uint128).max, 0, 0);
        registry = new DatanetRegistry(token);
        for (uint256 i; i < CONTRIBUTORS; ++i) {
            contributors[i] = vm.addr(0xC0 + i);
            token.transfer(contributors[i], type(uint112).max);
            vm.prank(contributors[i]);
            token.approve(address(registry), type(uint256).max);
        }
    }

    function testFuzz_stakesAreConserved(uint96 stake, uint256 count, uint256 decisions, bool forfeit) public {
        count = bound(count, 1, 24);
        stake = uint96(bound(stake, 0, 1e27));
        vm.prank(owner);
        uint256 datanetId = registry.createDatanet(
            "meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(stake, 1000, forfeit)
        );

        uint256 totalBefore = _trackedTotal();
        uint256[] memory ids = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            vm.prank(contributors[i % CONTRIBUTORS]);
            ids[i] = registry.contribute(datanetId, keccak256(abi.encode(i)), 1, "m");
        }
        assertEq(token.balanceOf(address(registry)), uint256(stake) * count, "escrow holds every pending stake");

        (uint256[] memory accepted, uint256[] memory rejected) = _split(ids, decisions);
        uint256 ownerBefore = token.balanceOf(owner);
        vm.startPrank(owner);
        if (accepted.length != 0) registry.acceptContributions(datanetId, accepted);
        assertEq(token.balanceOf(address(registry)), uint256(stake) * rejected.length, "escrow after accepting");
        if (rejected.length != 0) registry.rejectContributions(datanetId, rejected);
        vm.stopPrank();

        assertEq(token.balanceOf(address(registry)), 0, "escrow empty once all are decided");
        assertEq(_trackedTotal(), totalBefore, "no token created or lost");
        uint256 expectedForfeit = forfeit ? uint256(stake) * rejected.length : 0;
        assertEq(token.balanceOf(owner) - ownerBefore, expectedForfeit, "owner receives exactly the forfeits");
    }

    function _split(uint256[] memory ids, uint256 decisions)
        private
        pure
        returns (uint256[] memory accepted, uint256[] memory rejected)
    {
        uint256 acceptCount;
        for (uint256 i; i < ids.length; ++i) {
            if ((decisions >> i) & 1 == 1) ++acceptCount;
        }
        accepted = new uint256[](acceptCount);
        rejected = new uint256[](ids.length - acceptCount);
        uint256 a;
        uint256 r;
        for (uint256 i; i < ids.length; ++i) {
            if ((decisions >> i) & 1 == 1) accepted[a++] = ids[i];
            else rejected[r++] = ids[i];
        }
    }

    function _trackedTotal() private view returns (uint256 total) {
        total = token.balanceOf(address(registry)) + token.balanceOf(owner);
        for (uint256 i; i < CONTRIBUTORS; ++i) {
            total += token.balanceOf(contributors[i]);
        }
    }
}
