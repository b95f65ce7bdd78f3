// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {InvariantBase} from "../utils/TestBase.sol";
import {DatanetRegistry} from "../../../contracts/datanets/DatanetRegistry.sol";
import {NodeRegistry} from "../../../contracts/nodes/NodeRegistry.sol";
import {ModelRegistry} from "../../../contracts/models/ModelRegistry.sol";
import {Settlement} from "../../../contracts/settlement/Settlement.sol";
import {ContributorPools} from "../../../contracts/settlement/ContributorPools.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IStakeLock} from "../../../contracts/interfaces/IStakeLock.sol";
import {ProtocolHandler} from "./ProtocolHandler.t.sol";
import {TestPaymentToken} from "./mocks/TestPaymentToken.sol";

/// @notice The protocol's money invariants with every party acting at random (see {ProtocolHandler}) on the real
/// DatanetRegistry, NodeRegistry, ModelRegistry, Settlement and ContributorPools, wired as the deployment module
/// wires them. No fakes: stakes are slashed by the real registry, models are minted by real training jobs.
/// 48 runs of depth 64 (3,072 handler calls per campaign) take about 10 s on 2 shared cores (128 x 100 took
/// 50 s); the handler's counters say what a run reached.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 64
contract ProtocolInvariantTest is InvariantBase {
    ProtocolHandler private handler;
    TestPaymentToken private token;
    NodeRegistry private nodes;
    Settlement private settlement;
    ContributorPools private pools;

    function setUp() public {
        token = new TestPaymentToken();
        DatanetRegistry datanets = new DatanetRegistry(IERC20(address(token)));
        nodes = new NodeRegistry(IERC20(address(token)), address(this), 100e18, 7 days);
        ModelRegistry models = new ModelRegistry(
            IERC20(address(token)),
            IDatanetRegistry(address(datanets)),
            INodeRegistry(address(nodes)),
            address(this),
            1 hours,
            ModelRegistry.RevenueSplit(5_000, 4_000, 1_000)
        );
        settlement = new Settlement(
            Settlement.Params({
                token: IERC20(address(token)),
                nodes: INodeRegistry(address(nodes)),
                models: IModelRegistry(address(models)),
                governance: address(this),
                arbiter: address(this),
                protocolFeeBps: 250,
                withdrawalDelay: 1 days,
                disputeWindow: 1 days,
                inferenceTimeout: 1 hours,
                challengeBond: 10e18,
                slashAmount: 50e18
            })
        );
        pools = settlement.contributorPools();
        nodes.grantRole(nodes.SLASHER_ROLE(), address(pools));
        nodes.setStakeLock(IStakeLock(address(pools)));

        // A published Datanet version and a base model, so the handler can mint models through training jobs.
        datanets.createDatanet("meta", "CC-BY-4.0", DatanetRegistry.ContributionPolicy(0, 1_000_000, false));
        uint256 contribution = datanets.contribute(1, keccak256("contribution"), 10, "cid", 0, false);
        uint256[] memory accepted = new uint256[](1);
        accepted[0] = contribution;
        datanets.acceptContributions(1, accepted);
        datanets.publishVersion(1, keccak256("root"), "manifest", 1, 1);
        models.registerBaseModel("base", "bafy-base", "Apache-2.0");

        handler = new ProtocolHandler(token, nodes, models, settlement);
        pools.setArbiter(address(handler));
        targetContract(address(handler));
    }

    /// @notice One ordered run through every party's moves, so each path is known to be reached (a fuzz run only
    /// samples them): vouchers by payers and session keys, a replay and a re-booking, a terms change, an over-pool,
    /// a pending-blocked and an honest root, two challenges ruled later, unbonding while disputed, a recovery root
    /// and claims; then every invariant.
    function testEveryPartyAtLeastOnce() public {
        handler.deposit(0, 1e21);
        handler.fundChannel(1, 0, 0, 1e20);
        handler.authorizeSessionKey(0, 5e19);
        handler.redeem(0, 0, 0, 1e20, false);
        handler.redeem(1, 0, 1, 4e19, true);
        handler.redeem(2, 0, 0, 4e19, true); // over what is left of the key's cap: skipped
        handler.redeem(0, 1, 0, 5e19, false);
        handler.replayVoucher(0, 0, 0);
        handler.rebookVoucher(0, 0, 0);
        handler.changeTerms(0, 10_000);
        handler.redeem(0, 0, 0, 1e19, false);
        handler.proposeRoot(0, 1, 0, 0); // over the pool: refused
        handler.proposeRoot(0, 0, 1e18, 2e18);
        handler.proposeRoot(0, 0, 1e18, 2e18); // another pending: refused
        handler.challenge(0, 0);
        handler.challenge(0, 0); // same challenger again: refused
        handler.challenge(0, 1);
        handler.beginUnbonding(0);
        handler.passTime(2 days);
        handler.passTime(2 days);
        handler.passTime(2 days);
        handler.passTime(2 days);
        handler.withdrawStake(0); // still disputed: StakeLocked
        handler.rule(0, 0, true);
        handler.withdrawChallengeBond(1, 1);
        handler.withdrawStake(0); // nothing disputable now: withdraws (and re-registers)
        handler.proposeRoot(1, 0, 1e18, 1e18);
        handler.challenge(1, 0);
        handler.rule(1, 0, false);
        handler.proposeRecoveryRoot(0, 1e18, 1e18, true); // node 0 silent since its discarded root
        handler.passTime(2 days);
        handler.claim(1, 0);
        handler.claim(1, 1);
        handler.claim(0, 0);
        handler.withdrawEarnings(0);
        handler.withdrawEarnings(3);
        handler.requestWithdrawal(0, 1e18);
        handler.passTime(2 days);
        handler.withdrawEscrow(0);

        string[15] memory reached = [
            "deposit", "fundChannel", "authorizeSessionKey", "redeem", "changeTerms", "proposeRoot", "challenge",
            "rule", "withdrawChallengeBond", "withdrawStake", "proposeRecoveryRoot", "claim", "withdrawEarnings",
            "requestWithdrawal", "withdrawEscrow"
        ];
        for (uint256 i; i < reached.length; ++i) {
            assertLe(1, handler.succeeded(keccak256(bytes(reached[i]))), reached[i]);
        }
        string[3] memory refused = ["proposeRoot", "challenge", "withdrawStake"];
        for (uint256 i; i < refused.length; ++i) {
            assertLe(1, handler.expectedReverts(keccak256(bytes(refused[i]))), refused[i]);
        }
        (uint256 cap, uint256 spent,) = settlement.sessionKeyOf(handler.payerAt(0), handler.sessionKey(0));
        assertEq(spent, 4e19, "the key paid one voucher, and the one over its cap was skipped");
        assertEq(cap, 5e19, "cap");
        invariant_noUnexpectedOutcome();
        invariant_settlementHoldsExactlyItsLedgers();
        invariant_poolsHoldExactlyUnclaimedPoolsAndBonds();
        invariant_tokensHeldEqualInflowsMinusOutflows();
        invariant_noVoucherPaysTwice();
        invariant_noAccountClaimsMoreThanCredited();
        invariant_noBatchCreditsMoreThanRedeemed();
        invariant_noWithdrawalDuringDispute();
        invariant_sessionKeysStayWithinTheirCaps();
    }

    function invariant_noUnexpectedOutcome() public view {
        assertEq(handler.unexpected(), 0, handler.lastUnexpected());
    }

    function invariant_settlementHoldsExactlyItsLedgers() public view {
        uint256 ledgers = settlement.protocolFeesAccrued();
        for (uint256 i; i < handler.earnerCount(); ++i) {
            ledgers += settlement.earningsOf(handler.earner(i));
        }
        for (uint256 p; p < handler.PAYER_COUNT(); ++p) {
            address payer = handler.payerAt(p);
            ledgers += settlement.escrowBalanceOf(payer);
            for (uint256 n; n < handler.NODE_COUNT(); ++n) {
                for (uint256 m = 1; m <= handler.MODEL_COUNT(); ++m) {
                    (, uint256 unspent) = settlement.channelOf(payer, handler.nodeAt(n), m);
                    ledgers += unspent;
                }
            }
        }
        assertEq(token.balanceOf(address(settlement)), ledgers, "settlement held == sum of its ledgers");
    }

    function invariant_poolsHoldExactlyUnclaimedPoolsAndBonds() public view {
        uint256 ledgers = handler.openChallengeBonds();
        for (uint256 n; n < handler.NODE_COUNT(); ++n) {
            address node = handler.nodeAt(n);
            (,, uint256 claimedTotal, uint256 pool,,,,) = pools.creditsOf(node);
            (, uint256 recoveryBond) = pools.recoveryOf(node);
            ledgers += pool - claimedTotal + recoveryBond;
        }
        assertEq(token.balanceOf(address(pools)), ledgers, "pools held == unclaimed pools + bonds");
    }

    function invariant_tokensHeldEqualInflowsMinusOutflows() public view {
        assertEq(
            token.balanceOf(address(settlement)) + token.balanceOf(address(pools)),
            handler.ghostIn() - handler.ghostOut(),
            "held == in - out"
        );
    }

    function invariant_noVoucherPaysTwice() public view {
        for (uint256 p; p < handler.PAYER_COUNT(); ++p) {
            for (uint256 n; n < handler.NODE_COUNT(); ++n) {
                for (uint256 m = 1; m <= handler.MODEL_COUNT(); ++m) {
                    (address payer, address node) = (handler.payerAt(p), handler.nodeAt(n));
                    assertEq(
                        settlement.redeemedOf(payer, node, m),
                        handler.ghostPaid(handler.channelKey(payer, node, m)),
                        "channel redeemed == what its vouchers paid"
                    );
                }
            }
        }
    }

    function invariant_noAccountClaimsMoreThanCredited() public view {
        for (uint256 n; n < handler.NODE_COUNT(); ++n) {
            address node = handler.nodeAt(n);
            for (uint256 c; c < 2; ++c) {
                address contributor = handler.contributors(c);
                assertLe(pools.claimedOf(node, contributor), handler.ghostCredited(node, contributor), "claimed <= credited");
            }
        }
    }

    function invariant_noBatchCreditsMoreThanRedeemed() public view {
        assertTrue(!handler.batchOverCredited(), "a batch grew a pool by more than it redeemed");
        for (uint256 n; n < handler.NODE_COUNT(); ++n) {
            (, uint256 finalTotal, uint256 claimedTotal, uint256 pool,,,,) = pools.creditsOf(handler.nodeAt(n));
            assertLe(claimedTotal, finalTotal, "claimed <= final root total");
            assertLe(finalTotal, pool, "final root total <= pool");
        }
    }

    function invariant_noWithdrawalDuringDispute() public view {
        assertTrue(!handler.withdrewDuringDispute(), "a node with an open dispute withdrew its stake");
    }

    function invariant_sessionKeysStayWithinTheirCaps() public view {
        for (uint256 p; p < handler.PAYER_COUNT(); ++p) {
            address key = handler.sessionKey(p);
            (uint256 cap, uint256 spent,) = settlement.sessionKeyOf(handler.payerAt(p), key);
            assertLe(spent, cap, "spent <= cap on-chain");
            assertEq(spent, handler.ghostKeySpent(key), "spent == what the key's vouchers paid");
            assertLe(handler.ghostKeySpent(key), handler.ghostKeyCap(key), "paid by the key <= its cap");
        }
    }
}
