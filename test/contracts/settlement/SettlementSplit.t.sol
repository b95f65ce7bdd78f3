// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestBase} from "../utils/TestBase.sol";
import {Settlement} from "../../../contracts/settlement/Settlement.sol";
import {VoucherChannels} from "../../../contracts/settlement/VoucherChannels.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {TestPaymentToken} from "./mocks/TestPaymentToken.sol";
import {FakeNodeRegistry} from "./mocks/FakeNodeRegistry.sol";
import {FakeModelRegistry} from "./mocks/FakeModelRegistry.sol";

/// @notice A settled batch moves exactly what its vouchers redeemed into the ledgers: for any amount,
/// protocol fee and model terms, owner + node earnings + protocol fees + contributor pool == revenue.
contract SettlementSplitTest is TestBase {
    uint256 private constant PAYER_KEY = 0xA11CE;
    address private constant NODE = address(0x0DE);
    address private constant OWNER = address(0x0A11);
    uint256 private constant MODEL_ID = 1;

    TestPaymentToken private token;
    FakeModelRegistry private models;
    Settlement private settlement;

    function setUp() public {
        token = new TestPaymentToken();
        FakeNodeRegistry nodes = new FakeNodeRegistry(IERC20(address(token)));
        models = new FakeModelRegistry();
        settlement = new Settlement(
            Settlement.Params({
                token: IERC20(address(token)),
                nodes: INodeRegistry(address(nodes)),
                models: IModelRegistry(address(models)),
                governance: address(this),
                arbiter: address(this),
                protocolFeeBps: 0,
                withdrawalDelay: 1 days,
                disputeWindow: 1 days,
                inferenceTimeout: 1 hours,
                challengeBond: 0,
                slashAmount: 0
            })
        );
        nodes.setActive(NODE, true);
        token.mint(address(this), type(uint128).max);
        token.approve(address(settlement), type(uint256).max);
        settlement.depositFor(vm.addr(PAYER_KEY), type(uint128).max);
    }

    function testFuzz_batchLedgersSumToRedeemed(uint128 revenue, uint256 feeBps, uint256 ownerBps, uint256 contributorBps)
        public
    {
        vm.assume(revenue > 0);
        feeBps = bound(feeBps, 0, 1_000);
        ownerBps = bound(ownerBps, 0, 10_000);
        contributorBps = bound(contributorBps, 0, 10_000 - ownerBps);
        // Casts are within uint16: every value is bounded by 10_000 above.
        uint64 termsVersion = models.setTerms(
            MODEL_ID, OWNER, 0, uint16(ownerBps), uint16(contributorBps), uint16(10_000 - ownerBps - contributorBps)
        );
        settlement.setProtocolFeeBps(feeBps);

        address payer = vm.addr(PAYER_KEY);
        VoucherChannels.SignedVoucher[] memory vouchers = _oneVoucher(payer, termsVersion, revenue);
        vm.prank(NODE);
        settlement.settleBatch(vouchers, bytes32(0), 0, "");

        (,,, uint256 pool,,,,) = settlement.contributorPools().creditsOf(NODE);
        uint256 booked =
            settlement.earningsOf(OWNER) + settlement.earningsOf(NODE) + settlement.protocolFeesAccrued() + pool;
        assertEq(booked, revenue, "ledgers == redeemed");
        assertEq(settlement.escrowBalanceOf(payer), uint256(type(uint128).max) - revenue, "escrow drawn by revenue");
        // Only the contributor share moved, to the pools; nothing left the two contracts.
        assertEq(token.balanceOf(address(settlement.contributorPools())), pool, "pool held by the pools");
        assertEq(token.balanceOf(address(settlement)) + pool, type(uint128).max, "no token left");
    }

    function _oneVoucher(address payer, uint64 termsVersion, uint256 amount)
        private
        view
        returns (VoucherChannels.SignedVoucher[] memory vouchers)
    {
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(PAYER_KEY, settlement.voucherDigest(payer, NODE, MODEL_ID, termsVersion, amount));
        vouchers = new VoucherChannels.SignedVoucher[](1);
        vouchers[0] = VoucherChannels.SignedVoucher(
            payer, MODEL_ID, termsVersion, amount, r, bytes32(uint256(s) | (uint256(v - 27) << 255))
        );
    }
}
