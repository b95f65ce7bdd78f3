// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "../utils/TestBase.sol";
import {TributaryToken} from "../../../contracts/token/TributaryToken.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";

/// @notice Fuzzes contribution stakes through accept and reject batches and the withdrawals that follow:
/// deciding moves no token, every released stake goes back to its contributor and every forfeit to the owner,
/// exactly once, and no token is created or lost.
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
            ids[i] = registry.contribute(datanetId, keccak256(abi.encode(i)), 1, "m", type(uint256).max, true);
        }
        assertEq(token.balanceOf(address(registry)), uint256(stake) * count, "escrow holds every pending stake");

        uint256 ownerBefore = token.balanceOf(owner);
        uint256 expectedForfeit = _decideAll(datanetId, ids, decisions, forfeit, stake);
        assertEq(token.balanceOf(address(registry)), uint256(stake) * count, "deciding moves no token");
        assertEq(registry.forfeitedOf(datanetId), expectedForfeit, "forfeits recorded for the Datanet");

        if (stake != 0) {
            for (uint256 c; c < CONTRIBUTORS; ++c) {
                _withdrawReleased(ids, decisions, c, forfeit, stake);
            }
        }
        if (expectedForfeit != 0) {
            vm.prank(owner);
            registry.withdrawForfeits(datanetId);
        }

        assertEq(token.balanceOf(address(registry)), 0, "escrow empty once every stake is withdrawn");
        assertEq(_trackedTotal(), totalBefore, "no token created or lost");
        assertEq(token.balanceOf(owner) - ownerBefore, expectedForfeit, "owner receives exactly the forfeits");
    }

    /// @dev Accepts the ids whose bit is set in `decisions` and rejects the others; returns the forfeits due.
    function _decideAll(uint256 datanetId, uint256[] memory ids, uint256 decisions, bool forfeit, uint256 stake)
        private
        returns (uint256 expectedForfeit)
    {
        (uint256[] memory accepted, uint256[] memory rejected) = _split(ids, decisions);
        vm.startPrank(owner);
        if (accepted.length != 0) registry.acceptContributions(datanetId, accepted);
        if (rejected.length != 0) registry.rejectContributions(datanetId, rejected);
        vm.stopPrank();
        expectedForfeit = forfeit ? stake * rejected.length : 0;
    }

    /// @dev Withdraws contributor `c`'s released stakes (ids at positions c, c + CONTRIBUTORS, ...) and checks
    /// the payment; then checks that none of them can be withdrawn again.
    function _withdrawReleased(uint256[] memory ids, uint256 decisions, uint256 c, bool forfeit, uint256 stake)
        private
    {
        uint256 releasedCount;
        for (uint256 i = c; i < ids.length; i += CONTRIBUTORS) {
            if (_isReleased(decisions, i, forfeit)) ++releasedCount;
        }
        if (releasedCount == 0) return;
        uint256[] memory released = new uint256[](releasedCount);
        uint256 next;
        for (uint256 i = c; i < ids.length; i += CONTRIBUTORS) {
            if (_isReleased(decisions, i, forfeit)) released[next++] = ids[i];
        }
        address contributor = contributors[c];
        uint256 before = token.balanceOf(contributor);
        registry.withdrawStakes(released); // anyone may call it; the contributor is paid
        assertEq(token.balanceOf(contributor) - before, stake * releasedCount, "contributor gets its released stakes");
        for (uint256 i; i < releasedCount; ++i) {
            uint256[] memory again = new uint256[](1);
            again[0] = released[i];
            (DatanetRegistry.Contribution memory record,) = registry.getContribution(released[i]);
            vm.expectRevert(
                abi.encodeWithSelector(DatanetRegistry.NoStakeToWithdraw.selector, released[i], record.status)
            );
            registry.withdrawStakes(again);
        }
    }

    function _isReleased(uint256 decisions, uint256 i, bool forfeit) private pure returns (bool) {
        return (decisions >> i) & 1 == 1 || !forfeit;
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
