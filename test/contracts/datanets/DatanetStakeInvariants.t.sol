// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {InvariantBase} from "../utils/TestBase.sol";
import {TributaryToken} from "../../../contracts/token/TributaryToken.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";
import {DatanetStakesHandler} from "./DatanetStakesHandler.t.sol";

/// @notice Stake invariants of the DatanetRegistry under random contributions, decisions, withdrawals and
/// Datanet transfers: the registry holds exactly the stakes of pending contributions plus the released stakes
/// not yet withdrawn plus the unwithdrawn forfeits, and a stake pays out at most once, to its contributor.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 40
contract DatanetStakeInvariantTest is InvariantBase {
    uint256 private constant ACTORS = 3;

    TributaryToken private token;
    DatanetRegistry private registry;
    DatanetStakesHandler private handler;

    function setUp() public {
        token = new TributaryToken(address(this), type(uint128).max, 0, 0);
        registry = new DatanetRegistry(token);

        address[] memory actors = new address[](ACTORS);
        for (uint256 i; i < ACTORS; ++i) {
            actors[i] = vm.addr(0xA11CE + i);
            token.transfer(actors[i], 1e30);
            vm.prank(actors[i]);
            token.approve(address(registry), type(uint256).max);
        }
        // One Datanet of each kind: forfeiting, refunding, and free to contribute to.
        uint256[] memory datanetIds = new uint256[](3);
        vm.startPrank(actors[0]);
        datanetIds[0] = registry.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(1e18, 10, true));
        datanetIds[1] = registry.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(3, 10, false));
        datanetIds[2] = registry.createDatanet("meta", "CC0-1.0", DatanetRegistry.ContributionPolicy(0, 10, true));
        vm.stopPrank();

        handler = new DatanetStakesHandler(registry, token, actors, datanetIds);
        targetContract(address(handler));
    }

    function invariant_registryHoldsExactlyWhatIsOwed() public view {
        uint256 owed;
        uint256 count = handler.contributionCount();
        for (uint256 i; i < count; ++i) {
            (, uint256 held) = registry.getContribution(handler.contributionIdAt(i));
            owed += held;
        }
        uint256[] memory datanetIds = handler.datanetIds();
        for (uint256 i; i < datanetIds.length; ++i) {
            owed += registry.forfeitedOf(datanetIds[i]);
        }
        uint256 balance = token.balanceOf(address(registry));
        assertEq(balance, owed, "balance == pending + released unwithdrawn stakes + unwithdrawn forfeits");
        assertEq(balance, handler.ghostDeposited() - handler.ghostPaidOut(), "balance == deposits - payouts");
    }

    function invariant_stakePaysOutAtMostOnceAndExactly() public view {
        assertEq(handler.ghostWrongStakePayouts(), 0, "a stake paid twice, or paid though forfeited or never staked");
        assertEq(handler.ghostWrongAmounts(), 0, "a withdrawal paid other than what was held");
    }
}
