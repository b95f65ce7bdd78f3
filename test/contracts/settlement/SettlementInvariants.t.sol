// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {InvariantBase} from "../utils/TestBase.sol";
import {Settlement} from "../../../contracts/settlement/Settlement.sol";
import {ContributorPools} from "../../../contracts/settlement/ContributorPools.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {SettlementHandler} from "./SettlementHandler.t.sol";
import {TestPaymentToken} from "./mocks/TestPaymentToken.sol";
import {FakeNodeRegistry} from "./mocks/FakeNodeRegistry.sol";
import {FakeModelRegistry} from "./mocks/FakeModelRegistry.sol";

/// @notice Money invariants of the Settlement under random sequences of deposits, withdrawals, channel
/// funding and releases, voucher redemptions, on-chain inference requests, credit roots, recovery roots,
/// challenges (several per root, ruled on one by one), slashes into the pool, claims and payouts.
/// forge-config: default.invariant.runs = 32
/// forge-config: default.invariant.depth = 40
contract SettlementInvariantTest is InvariantBase {
    SettlementHandler private handler;
    Settlement private settlement;
    ContributorPools private pools;

    function setUp() public {
        TestPaymentToken token = new TestPaymentToken();
        FakeNodeRegistry nodes = new FakeNodeRegistry(IERC20(address(token)));
        FakeModelRegistry models = new FakeModelRegistry();
        settlement = new Settlement(
            Settlement.Params({
                token: IERC20(address(token)),
                nodes: INodeRegistry(address(nodes)),
                models: IModelRegistry(address(models)),
                governance: address(this),
                arbiter: address(this),
                protocolFeeBps: 500,
                withdrawalDelay: 1 days,
                disputeWindow: 1 days,
                inferenceTimeout: 1 hours,
                challengeBond: 10e18,
                slashAmount: 1e18
            })
        );
        pools = settlement.contributorPools();
        // The handler becomes governance and arbiter: ownership moves in two steps, accepted in its constructor.
        address handlerAddress = _nextContractAddress();
        settlement.transferOwnership(handlerAddress);
        pools.setArbiter(handlerAddress);
        handler = new SettlementHandler(settlement, token, nodes, models);
        assertEq(address(handler), handlerAddress, "handler address");
        targetContract(address(handler));
    }

    function invariant_tokensHeldEqualDepositsMinusWithdrawalsMinusPayouts() public view {
        assertEq(
            handler.token().balanceOf(address(settlement)) + handler.token().balanceOf(address(pools)),
            handler.ghostDeposits() - handler.ghostWithdrawals() - handler.ghostPayouts(),
            "held == deposits - withdrawals - payouts"
        );
    }

    function invariant_tokensHeldEqualTheLedgers() public view {
        uint256 ledgers = settlement.earningsOf(handler.node()) + settlement.earningsOf(handler.modelOwner())
            + settlement.earningsOf(handler.recoveryProposer()) + settlement.protocolFeesAccrued();
        for (uint256 i; i < handler.PAYER_COUNT(); ++i) {
            (, uint256 unspent) = settlement.channelOf(handler.payer(i), handler.node(), handler.MODEL_ID());
            ledgers += settlement.escrowBalanceOf(handler.payer(i)) + unspent;
        }
        for (uint256 requestId = 1; requestId <= settlement.inferenceRequestCount(); ++requestId) {
            (,, uint256 fee,, uint8 status,) = settlement.inferenceRequestOf(requestId);
            if (status == 1) ledgers += fee;
        }
        assertEq(handler.token().balanceOf(address(settlement)), ledgers, "settlement held == sum of its ledgers");
        (, uint256 recoveryBond) = pools.recoveryOf(handler.node());
        (,, uint256 claimedTotal, uint256 pool,,,,) = pools.creditsOf(handler.node());
        assertEq(
            handler.token().balanceOf(address(pools)),
            pool - claimedTotal + recoveryBond + handler.openChallengeBonds(),
            "pools held == unclaimed pool + bonds"
        );
    }

    /// @notice The dispute paths the fuzzer reaches only by long sequences, played once in order and checked with
    /// the same invariants: two open challenges, one upheld (slash into the pool) and the other's bond returned;
    /// a recovery root challenged and the challenge dismissed; claims against what became final.
    function testDisputePathsKeepTheLedgers() public {
        handler.deposit(0, 1e21);
        handler.redeem(0, 1e20, false);
        handler.proposeRoot(1e18, 2e18);
        handler.openChallenge(0);
        handler.openChallenge(1);
        handler.ruleOnChallenge(0, true);
        _checkLedgers();
        handler.withdrawChallengeBond(0, 1);
        _checkLedgers();
        (,,, uint256 poolAfterSlash,,,,) = pools.creditsOf(handler.node());
        assertLe(1, poolAfterSlash, "pool kept");
        handler.proposeRecoveryRoot(1e18, 1e18);
        (address proposer,) = pools.recoveryOf(handler.node());
        assertEq(proposer, handler.recoveryProposer(), "recovery root proposed");
        handler.openChallenge(0);
        handler.ruleOnChallenge(0, false);
        _checkLedgers();
        handler.passTime(1 days);
        handler.claim(0);
        handler.claim(1);
        assertLe(1, settlement.earningsOf(handler.recoveryProposer()), "dismissed bond earned");
        handler.withdrawEarnings(2);
        _checkLedgers();
    }

    function _checkLedgers() private view {
        invariant_tokensHeldEqualTheLedgers();
        invariant_tokensHeldEqualDepositsMinusWithdrawalsMinusPayouts();
        invariant_nodeClaimsNeverExceedItsPool();
        invariant_noAccountClaimsMoreThanCredited();
    }

    function invariant_noVoucherPaysTwice() public view {
        for (uint256 i; i < handler.PAYER_COUNT(); ++i) {
            address payer = handler.payer(i);
            uint256 redeemed = settlement.redeemedOf(payer, handler.node(), handler.MODEL_ID());
            assertEq(handler.ghostPaidOnChannel(payer), redeemed, "paid on channel == redeemed");
            assertEq(redeemed, handler.ghostLatestCumulative(payer), "redeemed == latest cumulative");
        }
    }

    function invariant_noAccountClaimsMoreThanCredited() public view {
        for (uint256 i; i < 2; ++i) {
            address contributor = handler.contributors(i);
            assertLe(
                pools.claimedOf(handler.node(), contributor),
                handler.ghostCredited(contributor),
                "claimed <= credited"
            );
        }
    }

    function invariant_nodeClaimsNeverExceedItsPool() public view {
        (, uint256 finalTotal, uint256 claimedTotal, uint256 pool,,,,) = pools.creditsOf(handler.node());
        assertLe(claimedTotal, finalTotal, "claimed <= final root total");
        assertLe(finalTotal, pool, "final root total <= pool");
    }

    /// @dev The CREATE address of this contract's fifth deployment, the handler: a contract's nonce starts
    /// at 1 and setUp deploys token, node registry, model registry and settlement first (the settlement's
    /// own deployment of the pools counts in its nonce, not this contract's). The formula is
    /// keccak256(rlp([deployer, nonce])) for a nonce below 128.
    function _nextContractAddress() private view returns (address) {
        uint8 handlerNonce = 5;
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), address(this), handlerNonce))))
        );
    }
}
