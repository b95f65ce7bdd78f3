// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "../utils/TestBase.sol";
import {Settlement} from "../../../contracts/settlement/Settlement.sol";
import {ContributorPools} from "../../../contracts/settlement/ContributorPools.sol";
import {VoucherChannels} from "../../../contracts/settlement/VoucherChannels.sol";
import {TestPaymentToken} from "./mocks/TestPaymentToken.sol";
import {FakeNodeRegistry} from "./mocks/FakeNodeRegistry.sol";
import {FakeModelRegistry} from "./mocks/FakeModelRegistry.sol";

/// @notice Drives a Settlement through random deposits, withdrawals, channel funding and releases,
/// voucher redemptions (and short vouchers the batch must skip), on-chain inference requests, credit
/// roots, challenges, claims and payouts, keeping ghost totals the invariant test compares the contract
/// against.
/// The handler is governance and arbiter; one node, three payers (signing with known keys), two contributors.
/// @dev Lives in a `.t.sol` file so Hardhat emits its artifact: the invariant runner only fuzzes contracts it knows.
contract SettlementHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 public constant PAYER_COUNT = 3;
    uint256 public constant MODEL_ID = 7;
    uint256 private constant FIRST_PAYER_KEY = 0xB0B0;

    TestPaymentToken public immutable token;
    FakeNodeRegistry public immutable nodes;
    FakeModelRegistry public immutable models;
    Settlement public immutable settlement;
    ContributorPools public immutable pools;
    address public immutable node = address(0x0DE);
    address public immutable modelOwner = address(0x0A11);
    address[2] public contributors = [address(0xC0A), address(0xC0B)];
    /// @dev Challengers that leave their challenges open for the arbiter to rule on later, and a recovery proposer.
    address[2] public challengers = [address(0xC4A1), address(0xC4A2)];
    address public immutable recoveryProposer = address(0xFEC0);
    uint256 public constant NODE_STAKE = 1_000e18;
    /// @dev Every batch some challenger challenged, to sum the bonds still held.
    uint64[] private _challengedBatches;

    uint256 public ghostDeposits;
    uint256 public ghostWithdrawals;
    uint256 public ghostPayouts;
    uint256 public ghostOpenBond;
    mapping(address payer => uint256) public ghostPaidOnChannel;
    mapping(address payer => uint256) public ghostLatestCumulative;
    /// @dev The highest cumulative credit any FINAL root gave each contributor.
    mapping(address contributor => uint256) public ghostCredited;
    /// @dev Amounts each proposed root credits, by root, to build proofs and learn what finalized.
    mapping(bytes32 root => uint256[2]) private _rootCredits;
    bytes32 private _pendingRoot;
    uint64 private _pendingBatch;

    /// @dev The test deploys the contracts (so the runner knows every artifact), hands the Settlement's governance
    /// over (this constructor accepts it) and appoints the handler arbiter of the pools.
    constructor(Settlement settlement_, TestPaymentToken token_, FakeNodeRegistry nodes_, FakeModelRegistry models_) {
        settlement = settlement_;
        pools = settlement_.contributorPools();
        token = token_;
        nodes = nodes_;
        models = models_;
        settlement_.acceptOwnership();
        nodes_.setSlasher(address(pools));
        nodes_.setActive(node, true);
        // Staked for real (the fake holds the tokens), so upheld challenges move slashed stake into the pool.
        token_.mint(address(nodes_), NODE_STAKE);
        nodes_.setStake(node, NODE_STAKE);
        models_.setTerms(MODEL_ID, modelOwner, 0, 2_000, 5_000, 3_000);
        token_.approve(address(settlement_), type(uint256).max);
        token_.approve(address(pools), type(uint256).max);
    }

    function payer(uint256 seed) public pure returns (address) {
        return vm.addr(FIRST_PAYER_KEY + seed % PAYER_COUNT);
    }

    function deposit(uint256 payerSeed, uint256 amount) external {
        amount = bound(amount, 1, 1e24);
        token.mint(address(this), amount);
        settlement.depositFor(payer(payerSeed), amount);
        ghostDeposits += amount;
    }

    function requestWithdrawal(uint256 payerSeed, uint256 amount) external {
        address who = payer(payerSeed);
        uint256 balance = settlement.escrowBalanceOf(who);
        if (balance == 0) return;
        vm.prank(who);
        settlement.requestWithdrawal(bound(amount, 1, balance));
    }

    function withdraw(uint256 payerSeed) external {
        address who = payer(payerSeed);
        (, uint256 availableAt) = settlement.withdrawalRequestOf(who);
        if (availableAt == 0) return;
        if (block.timestamp < availableAt) vm.warp(availableAt);
        vm.prank(who);
        ghostWithdrawals += settlement.withdraw();
    }

    /// @notice Deposits into a payer's channel with the node (from the handler's wallet, never from escrow).
    function fundChannel(uint256 payerSeed, uint256 amount) external {
        amount = bound(amount, 1, 1e24);
        token.mint(address(this), amount);
        settlement.fundChannel(payer(payerSeed), node, MODEL_ID, amount);
        ghostDeposits += amount;
    }

    /// @notice Requests the release of unspent channel funds, or executes a pending release after the delay.
    function releaseChannel(uint256 payerSeed, uint256 amount) external {
        address who = payer(payerSeed);
        (, uint256 availableAt) = settlement.channelReleaseRequestOf(who, node, MODEL_ID);
        if (availableAt != 0) {
            if (block.timestamp < availableAt) vm.warp(availableAt);
            vm.prank(who);
            settlement.releaseChannel(node, MODEL_ID);
            return;
        }
        (, uint256 unspent) = settlement.channelOf(who, node, MODEL_ID);
        if (unspent == 0) return;
        vm.prank(who);
        settlement.requestChannelRelease(node, MODEL_ID, bound(amount, 1, unspent));
    }

    /// @notice Settles one voucher (possibly stale, paying nothing) on a random payer's channel.
    function redeem(uint256 payerSeed, uint256 increment, bool stale) external {
        uint256 key = FIRST_PAYER_KEY + payerSeed % PAYER_COUNT;
        address who = vm.addr(key);
        uint256 redeemed = settlement.redeemedOf(who, node, MODEL_ID);
        uint256 fundsBefore = _fundsOf(who);
        uint256 cumulative = stale ? redeemed : redeemed + bound(increment, 0, fundsBefore);
        if (cumulative == 0) return;
        VoucherChannels.SignedVoucher[] memory vouchers = new VoucherChannels.SignedVoucher[](1);
        vouchers[0] = _sign(key, who, cumulative);
        vm.prank(node);
        settlement.settleBatch(vouchers, bytes32(0), 0, "");
        ghostPaidOnChannel[who] += fundsBefore - _fundsOf(who);
        ghostLatestCumulative[who] = cumulative;
    }

    /// @notice Submits a voucher above what the payer can pay, beside nothing else: the batch settles, skips
    /// it and moves nothing (the invariants would see any token or channel change).
    function redeemShort(uint256 payerSeed, uint256 excess) external {
        uint256 key = FIRST_PAYER_KEY + payerSeed % PAYER_COUNT;
        address who = vm.addr(key);
        uint256 cumulative = settlement.redeemedOf(who, node, MODEL_ID) + _fundsOf(who) + bound(excess, 1, 1e24);
        VoucherChannels.SignedVoucher[] memory vouchers = new VoucherChannels.SignedVoucher[](1);
        vouchers[0] = _sign(key, who, cumulative);
        vm.prank(node);
        settlement.settleBatch(vouchers, bytes32(0), 0, "");
    }

    /// @notice Requests an on-chain inference, the handler paying the fee from its wallet.
    function requestInference(uint256 fee) external {
        fee = bound(fee, 1, 1e24);
        token.mint(address(this), fee);
        settlement.requestInference(MODEL_ID, node, "prompt", 1, fee);
        ghostDeposits += fee;
    }

    /// @notice Serves a random open request, or refunds it once expired.
    function serveOrRefundInference(uint256 requestSeed, bool refund) external {
        uint256 count = settlement.inferenceRequestCount();
        if (count == 0) return;
        uint256 requestId = 1 + requestSeed % count;
        (,, uint256 fee, uint256 expiresAt, uint8 status,) = settlement.inferenceRequestOf(requestId);
        if (status != 1) return;
        if (refund) {
            if (block.timestamp < expiresAt) vm.warp(expiresAt);
            settlement.refundInference(requestId);
            ghostPayouts += fee;
        } else if (block.timestamp < expiresAt) {
            vm.prank(node);
            settlement.serveInference(requestId, "result");
        }
    }

    /// @notice Proposes a new cumulative root over both contributors, within the node's pool.
    function proposeRoot(uint256 extraA, uint256 extraB) external {
        _learnFinalRoot();
        (, uint256 finalTotal,, uint256 pool, bytes32 pending,,,) = pools.creditsOf(node);
        if (pending != bytes32(0) || pool == finalTotal) return;
        (uint256 a, uint256 b) = (ghostCredited[contributors[0]], ghostCredited[contributors[1]]);
        a += bound(extraA, 0, pool - finalTotal);
        b += bound(extraB, 0, pool - finalTotal - (a - ghostCredited[contributors[0]]));
        bytes32 root = _root(a, b);
        _rootCredits[root] = [a, b];
        vm.prank(node);
        _pendingBatch = settlement.settleBatch(new VoucherChannels.SignedVoucher[](0), root, a + b, "records");
        _pendingRoot = root;
    }

    function challengeAndResolve(bool upheld) external {
        (,,,, bytes32 pending, uint64 batchId, uint256 until, bool challenged) = pools.creditsOf(node);
        if (pending == bytes32(0) || challenged || block.timestamp >= until) return;
        uint256 bond = pools.challengeBond();
        token.mint(address(this), bond);
        pools.challenge(node, batchId);
        ghostDeposits += bond;
        uint256 stakeBefore = nodes.stakeOf(node);
        uint256 balanceBefore = token.balanceOf(address(this));
        pools.resolveChallenge(node, batchId, address(this), upheld);
        // Upheld: a node's slashed stake moves into the settlement (a recovery proposer's bond is there already);
        // the bond and the reward come back. Rejected: the bond becomes the proposer's earnings.
        ghostDeposits += stakeBefore - nodes.stakeOf(node);
        ghostPayouts += token.balanceOf(address(this)) - balanceBefore;
        _learnFinalRoot();
    }

    /// @notice A challenger challenges the pending root and leaves the challenge open.
    function openChallenge(uint256 challengerSeed) external {
        (,,,, bytes32 pending, uint64 batchId, uint256 until,) = pools.creditsOf(node);
        address challenger = challengers[challengerSeed % 2];
        if (pending == bytes32(0) || block.timestamp >= until) return;
        (bool open,) = pools.challengeOf(node, batchId, challenger);
        if (open) return;
        uint256 bond = pools.challengeBond();
        token.mint(challenger, bond);
        vm.startPrank(challenger);
        token.approve(address(pools), bond);
        pools.challenge(node, batchId);
        vm.stopPrank();
        ghostDeposits += bond;
        if (_challengedBatches.length == 0 || _challengedBatches[_challengedBatches.length - 1] != batchId) {
            _challengedBatches.push(batchId);
        }
    }

    /// @notice The arbiter rules on one open challenge of the pending root.
    function ruleOnChallenge(uint256 challengerSeed, bool upheld) external {
        (,,,,, uint64 batchId,,) = pools.creditsOf(node);
        address challenger = challengers[challengerSeed % 2];
        (bool open,) = pools.challengeOf(node, batchId, challenger);
        if (!open) return;
        uint256 stakeBefore = nodes.stakeOf(node);
        uint256 balanceBefore = token.balanceOf(challenger);
        pools.resolveChallenge(node, batchId, challenger, upheld);
        // As in challengeAndResolve: slashed stake in, bond plus reward out when upheld.
        ghostDeposits += stakeBefore - nodes.stakeOf(node);
        ghostPayouts += token.balanceOf(challenger) - balanceBefore;
        _learnFinalRoot();
    }

    /// @notice A challenger whose challenge outlived its root (another was upheld) takes its bond back.
    function withdrawChallengeBond(uint256 batchSeed, uint256 challengerSeed) external {
        if (_challengedBatches.length == 0) return;
        uint64 batchId = _challengedBatches[batchSeed % _challengedBatches.length];
        address challenger = challengers[challengerSeed % 2];
        (bool open,) = pools.challengeOf(node, batchId, challenger);
        (,,,,, uint64 pendingBatch,,) = pools.creditsOf(node);
        if (!open || pendingBatch == batchId) return;
        vm.prank(challenger);
        ghostPayouts += pools.withdrawChallengeBond(node, batchId);
    }

    /// @notice After the node's silence, someone proposes a recovery root over both contributors.
    function proposeRecoveryRoot(uint256 extraA, uint256 extraB) external {
        _learnFinalRoot();
        vm.warp(block.timestamp + pools.RECOVERY_DELAY());
        (, uint256 finalTotal,, uint256 pool, bytes32 pending,,,) = pools.creditsOf(node);
        if (pending != bytes32(0) || pool == finalTotal) return;
        (uint256 a, uint256 b) = (ghostCredited[contributors[0]], ghostCredited[contributors[1]]);
        a += bound(extraA, 0, pool - finalTotal);
        b += bound(extraB, 0, pool - finalTotal - (a - ghostCredited[contributors[0]]));
        bytes32 root = _root(a, b);
        _rootCredits[root] = [a, b];
        uint256 bond = pools.recoveryBond();
        token.mint(recoveryProposer, bond);
        vm.startPrank(recoveryProposer);
        token.approve(address(pools), bond);
        try pools.proposeRecoveryRoot(node, root, a + b, "records") {
            ghostDeposits += bond;
        } catch {
            // Not silent long enough (the node proposed within the delay): nothing happened.
            token.transfer(address(0xDEAD), bond);
        }
        vm.stopPrank();
    }

    /// @notice Bonds of challenges still open (held by the settlement), read from the settlement itself.
    function openChallengeBonds() external view returns (uint256 held) {
        for (uint256 i; i < _challengedBatches.length; ++i) {
            for (uint256 j; j < 2; ++j) {
                (, uint256 bond) = pools.challengeOf(node, _challengedBatches[i], challengers[j]);
                held += bond;
            }
        }
    }

    function passTime(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 days));
    }

    function claim(uint256 contributorSeed) external {
        _learnFinalRoot();
        (bytes32 root,,,,,,,) = pools.creditsOf(node);
        if (root == bytes32(0)) return;
        uint256 index = contributorSeed % 2;
        uint256[2] memory credits = _rootCredits[root];
        address account = contributors[index];
        if (credits[index] <= pools.claimedOf(node, account)) return;
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _leaf(contributors[1 - index], credits[1 - index]);
        ghostPayouts += pools.claim(node, account, credits[index], proof);
    }

    function withdrawEarnings(uint256 whoSeed) external {
        address who = [node, modelOwner, recoveryProposer][whoSeed % 3];
        if (settlement.earningsOf(who) == 0) return;
        vm.prank(who);
        ghostPayouts += settlement.withdrawEarnings();
    }

    function collectProtocolFees() external {
        uint256 accrued = settlement.protocolFeesAccrued();
        if (accrued == 0) return;
        settlement.collectProtocolFees(address(0xFEE));
        ghostPayouts += accrued;
    }

    /// @dev Maps `x` into [min, max] (the test base's `bound`; the handler cannot inherit the test base,
    /// whose public helpers would make the runner treat it as a test rather than a fuzz target).
    function bound(uint256 x, uint256 min, uint256 max) private pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }

    /// @dev What a payer can still pay the node with: its escrow plus the channel's unspent funds.
    function _fundsOf(address who) private view returns (uint256) {
        (, uint256 unspent) = settlement.channelOf(who, node, MODEL_ID);
        return settlement.escrowBalanceOf(who) + unspent;
    }

    /// @dev Records the credits of the node's final root as the contributors' credited amounts.
    function _learnFinalRoot() private {
        (bytes32 root,,,,,,,) = pools.creditsOf(node);
        if (root == bytes32(0)) return;
        uint256[2] memory credits = _rootCredits[root];
        ghostCredited[contributors[0]] = credits[0];
        ghostCredited[contributors[1]] = credits[1];
    }

    function _sign(uint256 key, address who, uint256 cumulative)
        private
        view
        returns (VoucherChannels.SignedVoucher memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, settlement.voucherDigest(who, node, MODEL_ID, 1, cumulative));
        bytes32 yParityAndS = bytes32(uint256(s) | (uint256(v - 27) << 255));
        return VoucherChannels.SignedVoucher(who, MODEL_ID, 1, cumulative, r, yParityAndS);
    }

    function _leaf(address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    /// @dev StandardMerkleTree root of two leaves: the sorted pair hash.
    function _root(uint256 a, uint256 b) private view returns (bytes32) {
        (bytes32 x, bytes32 y) = (_leaf(contributors[0], a), _leaf(contributors[1], b));
        return x < y ? keccak256(abi.encode(x, y)) : keccak256(abi.encode(y, x));
    }
}
