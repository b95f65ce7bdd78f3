// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "../utils/TestBase.sol";
import {NodeRegistry} from "../../../contracts/nodes/NodeRegistry.sol";
import {ModelRegistry} from "../../../contracts/models/ModelRegistry.sol";
import {Settlement} from "../../../contracts/settlement/Settlement.sol";
import {ContributorPools} from "../../../contracts/settlement/ContributorPools.sol";
import {ContributorCredits} from "../../../contracts/settlement/ContributorCredits.sol";
import {BatchDisputes} from "../../../contracts/settlement/BatchDisputes.sol";
import {VoucherChannels} from "../../../contracts/settlement/VoucherChannels.sol";
import {ActiveNodes} from "../../../contracts/settlement/ActiveNodes.sol";
import {TestPaymentToken} from "./mocks/TestPaymentToken.sol";

/// @notice Acts as every party of the protocol against the REAL registries and Settlement: three nodes (staked in
/// the NodeRegistry, unbonding and withdrawing at random), two models minted by real training jobs (their owners
/// change terms at random), three payers (deposits, channel funding, vouchers signed by themselves or by session
/// keys with caps, replayed and re-booked vouchers), adversarial credit roots (honest, over the pool, non-cumulative,
/// while another is pending, leaves crediting more than the declared total), challenges opened and ruled at random
/// later times by this handler as arbiter, recovery roots and claims.
/// Every call's outcome is checked, never dropped: a revert whose error the current state explains is counted in
/// {expectedReverts}; any other revert, or an attack that succeeds, is counted in {unexpected} (with the last one's
/// action and error in {lastUnexpected}), which the invariant test requires to stay zero.
/// @dev Lives in a `.t.sol` file so Hardhat emits its artifact: the invariant runner only fuzzes contracts it knows.
contract ProtocolHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 public constant NODE_COUNT = 3;
    uint256 public constant PAYER_COUNT = 3;
    uint256 public constant MODEL_COUNT = 2;
    uint256 private constant FIRST_PAYER_KEY = 0xB0B0;
    uint256 private constant FIRST_SESSION_KEY = 0x5E55;

    TestPaymentToken public immutable token;
    NodeRegistry public immutable nodes;
    ModelRegistry public immutable models;
    Settlement public immutable settlement;
    ContributorPools public immutable pools;

    address[3] public nodeAt = [address(0x0DE1), address(0x0DE2), address(0x0DE3)];
    address[2] public ownerAt = [address(0x0A11), address(0x0A12)];
    address[2] public contributors = [address(0xC0A), address(0xC0B)];
    address[2] public challengers = [address(0xC4A1), address(0xC4A2)];
    address public constant RECOVERY_PROPOSER = address(0xFEC0);

    /// @notice Reverts the state explained, by action; and everything else.
    mapping(bytes32 action => uint256) public expectedReverts;
    uint256 public unexpected;
    /// @notice The last unexpected outcome: the action (or the violated property) and the revert data.
    string public lastUnexpected;
    bytes public lastUnexpectedError;
    /// @notice Successful calls, by action (to see what a run reached).
    mapping(bytes32 action => uint256) public succeeded;

    /// @notice Tokens that entered and left the two contracts, for the flow invariant.
    uint256 public ghostIn;
    uint256 public ghostOut;
    /// @notice What each channel has paid, summed from the redemptions the handler saw.
    mapping(bytes32 channel => uint256) public ghostPaid;
    /// @notice What each session key's vouchers paid since its last authorization, and its cap.
    mapping(address key => uint256) public ghostKeySpent;
    mapping(address key => uint256) public ghostKeyCap;
    /// @notice Highest credit any root that became FINAL gave each (node, contributor).
    mapping(address node => mapping(address contributor => uint256)) public ghostCredited;
    /// @notice Set when a node with an open dispute completed its withdrawal (must never happen).
    bool public withdrewDuringDispute;
    /// @notice Set when a batch grew a pool by more than its vouchers redeemed (must never happen).
    bool public batchOverCredited;

    mapping(bytes32 root => uint256[2]) private _rootCredits;
    mapping(bytes32 channel => VoucherChannels.SignedVoucher) private _lastVoucher;
    /// @dev Every (node, batch) some challenger challenged, to sum the bonds still held.
    address[] private _challengedNode;
    uint64[] private _challengedBatch;

    constructor(TestPaymentToken token_, NodeRegistry nodes_, ModelRegistry models_, Settlement settlement_) {
        token = token_;
        nodes = nodes_;
        models = models_;
        settlement = settlement_;
        pools = settlement_.contributorPools();
        uint256 minStake = nodes_.minStake();
        for (uint256 i; i < NODE_COUNT; ++i) {
            _register(nodeAt[i], minStake);
        }
        for (uint256 m; m < MODEL_COUNT; ++m) {
            _mintModel(ownerAt[m], nodeAt[m]);
        }
    }

    // ------------------------------------------------------------------ payers

    function deposit(uint256 payerSeed, uint256 amount) external {
        address payer = _payer(payerSeed);
        amount = bound(amount, 1, 1e22);
        token.mint(payer, amount);
        vm.startPrank(payer);
        token.approve(address(settlement), amount);
        try settlement.deposit(amount) {
            ghostIn += amount;
            _ok("deposit");
        } catch (bytes memory err) {
            _unexpected("deposit", err);
        }
        vm.stopPrank();
    }

    function requestWithdrawal(uint256 payerSeed, uint256 amount) external {
        address payer = _payer(payerSeed);
        uint256 balance = settlement.escrowBalanceOf(payer);
        amount = bound(amount, 0, balance + 1);
        vm.prank(payer);
        try settlement.requestWithdrawal(amount) {
            _ok("requestWithdrawal");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = amount == 0 ? bytes4(0x1f2a2005) : bytes4(0); // ZeroAmount()
            allowed[1] = amount > balance ? bytes4(keccak256("InsufficientEscrow(address,uint256,uint256)")) : bytes4(0);
            _expectRevert("requestWithdrawal", err, allowed);
        }
    }

    function withdrawEscrow(uint256 payerSeed) external {
        address payer = _payer(payerSeed);
        uint256 before = token.balanceOf(payer);
        vm.prank(payer);
        try settlement.withdraw() {
            ghostOut += token.balanceOf(payer) - before;
            _ok("withdrawEscrow");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = bytes4(keccak256("NoWithdrawalRequest(address)"));
            allowed[1] = bytes4(keccak256("WithdrawalNotYetAvailable(address,uint256,uint256)"));
            _expectRevert("withdrawEscrow", err, allowed);
        }
    }

    /// @notice A payer (or anyone for it) funds one of its channels from the wallet.
    function fundChannel(uint256 payerSeed, uint256 nodeSeed, uint256 modelSeed, uint256 amount) external {
        address payer = _payer(payerSeed);
        amount = bound(amount, 1, 1e21);
        token.mint(payer, amount);
        vm.startPrank(payer);
        token.approve(address(settlement), amount);
        try settlement.fundChannel(payer, _node(nodeSeed), _model(modelSeed), amount) {
            ghostIn += amount;
            _ok("fundChannel");
        } catch (bytes memory err) {
            _unexpected("fundChannel", err);
        }
        vm.stopPrank();
    }

    /// @notice A payer authorizes (or re-authorizes) its session key with a new cap.
    function authorizeSessionKey(uint256 payerSeed, uint256 cap) external {
        uint256 index = payerSeed % PAYER_COUNT;
        address key = vm.addr(FIRST_SESSION_KEY + index);
        cap = bound(cap, 1, 1e21);
        vm.prank(_payer(index));
        try settlement.authorizeSessionKey(key, cap, block.timestamp + 365 days) {
            (ghostKeyCap[key], ghostKeySpent[key]) = (cap, 0);
            _ok("authorizeSessionKey");
        } catch (bytes memory err) {
            _unexpected("authorizeSessionKey", err);
        }
    }

    // ------------------------------------------------------------------ nodes redeeming vouchers

    /// @notice A node settles a fresh voucher of a payer for a model, signed by the payer or its session key.
    function redeem(uint256 nodeSeed, uint256 payerSeed, uint256 modelSeed, uint256 amount, bool byKey) external {
        uint256 payerIndex = payerSeed % PAYER_COUNT;
        (address node, address payer, uint256 modelId) = (_node(nodeSeed), _payer(payerIndex), _model(modelSeed));
        (, uint64 version,,,,) = models.modelTerms(modelId);
        uint256 before = settlement.redeemedOf(payer, node, modelId);
        uint256 cumulative = before + bound(amount, 1, 1e20);
        address key = vm.addr(FIRST_SESSION_KEY + payerIndex);
        uint256 signerKey = byKey && ghostKeyCap[key] != 0 ? FIRST_SESSION_KEY + payerIndex : FIRST_PAYER_KEY + payerIndex;
        VoucherChannels.SignedVoucher memory voucher = _sign(signerKey, payer, node, modelId, version, cumulative);
        uint256 paid = _settleOne(node, voucher, "redeem");
        if (paid == 0) return;
        if (paid != cumulative - before) _violation("redeem paid a partial voucher");
        _lastVoucher[_channel(payer, node, modelId)] = voucher;
        if (signerKey != FIRST_PAYER_KEY + payerIndex) ghostKeySpent[key] += paid;
    }

    /// @notice A node submits the last voucher of a channel again: it must pay nothing.
    function replayVoucher(uint256 nodeSeed, uint256 payerSeed, uint256 modelSeed) external {
        (address node, address payer, uint256 modelId) = (_node(nodeSeed), _payer(payerSeed), _model(modelSeed));
        VoucherChannels.SignedVoucher memory voucher = _lastVoucher[_channel(payer, node, modelId)];
        if (voucher.payer == address(0)) return;
        if (_settleOne(node, voucher, "replayVoucher") != 0) _violation("a replayed voucher paid");
    }

    /// @notice A node books the last voucher of a channel under the other model: it must pay nothing.
    function rebookVoucher(uint256 nodeSeed, uint256 payerSeed, uint256 modelSeed) external {
        (address node, address payer, uint256 modelId) = (_node(nodeSeed), _payer(payerSeed), _model(modelSeed));
        VoucherChannels.SignedVoucher memory voucher = _lastVoucher[_channel(payer, node, modelId)];
        if (voucher.payer == address(0)) return;
        voucher.modelId = modelId == 1 ? 2 : 1;
        voucher.cumulativeAmount = settlement.redeemedOf(payer, node, voucher.modelId) + 1;
        if (_settleOne(node, voucher, "rebookVoucher") != 0) _violation("a voucher paid under another model");
    }

    /// @notice A model owner changes its split (a new terms version; vouchers already signed keep theirs).
    function changeTerms(uint256 modelSeed, uint256 ownerBps) external {
        uint256 modelId = _model(modelSeed);
        uint16 owner = uint16(bound(ownerBps, 0, 10_000));
        vm.prank(ownerAt[modelId - 1]);
        try models.setRevenueSplit(modelId, ModelRegistry.RevenueSplit(owner, 10_000 - owner, 0)) {
            _ok("changeTerms");
        } catch (bytes memory err) {
            _unexpected("changeTerms", err);
        }
    }

    // ------------------------------------------------------------------ credit roots, disputes, claims

    /// @notice A node proposes a credit root: kind 0 honest, 1 over its pool, 2 below its final total,
    /// 3 leaves crediting more than the declared total.
    function proposeRoot(uint256 nodeSeed, uint256 kind, uint256 a, uint256 b) external {
        address node = _node(nodeSeed);
        _learnFinal(node);
        (, uint256 finalTotal,, uint256 pool, bytes32 pending,,,) = pools.creditsOf(node);
        kind %= 4;
        uint256 total;
        (uint256 creditA, uint256 creditB) = (ghostCredited[node][contributors[0]], ghostCredited[node][contributors[1]]);
        if (kind == 0 || kind == 3) {
            if (pool < finalTotal) _violation("final total above pool");
            uint256 room = pool - finalTotal;
            creditA += bound(a, 0, room);
            creditB += bound(b, 0, room - (creditA - ghostCredited[node][contributors[0]]));
            total = finalTotal + (creditA - ghostCredited[node][contributors[0]]) + (creditB - ghostCredited[node][contributors[1]]);
            if (kind == 3) (creditA, creditB) = (pool + 1, pool + 1);
        } else if (kind == 1) {
            total = pool + 1;
        } else {
            if (finalTotal == 0) return;
            total = finalTotal - 1;
        }
        bytes32 root = _root(creditA, creditB);
        _rootCredits[root] = [creditA, creditB];
        vm.prank(node);
        try settlement.settleBatch(new VoucherChannels.SignedVoucher[](0), root, total, "records") {
            if (kind == 1 || kind == 2) _violation("an invalid root was accepted");
            _ok("proposeRoot");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](4);
            allowed[0] = ActiveNodes.NodeNotActive.selector;
            allowed[1] = pending != bytes32(0) ? ContributorCredits.CreditRootPending.selector : bytes4(0);
            allowed[2] = kind == 1 ? ContributorCredits.CreditTotalExceedsPool.selector : bytes4(0);
            allowed[3] = kind == 2 ? ContributorCredits.CreditTotalDecreased.selector : bytes4(0);
            _expectRevert("proposeRoot", err, allowed);
        }
    }

    function challenge(uint256 nodeSeed, uint256 challengerSeed) external {
        address node = _node(nodeSeed);
        address challenger = challengers[challengerSeed % 2];
        (,,,,, uint64 batchId, uint256 until,) = pools.creditsOf(node);
        uint256 bond = pools.challengeBond();
        token.mint(challenger, bond);
        vm.startPrank(challenger);
        token.approve(address(pools), bond);
        try pools.challenge(node, batchId) {
            ghostIn += bond;
            _challengedNode.push(node);
            _challengedBatch.push(batchId);
            _ok("challenge");
        } catch (bytes memory err) {
            token.transfer(address(0xDEAD), bond);
            (bool open,) = pools.challengeOf(node, batchId, challenger);
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = batchId == 0 || block.timestamp >= until ? BatchDisputes.BatchNotChallengeable.selector : bytes4(0);
            allowed[1] = open ? BatchDisputes.AlreadyChallenged.selector : bytes4(0);
            _expectRevert("challenge", err, allowed);
        }
        vm.stopPrank();
    }

    /// @notice The arbiter (this handler) rules on an open challenge, at whatever time the fuzzer reached.
    function rule(uint256 nodeSeed, uint256 challengerSeed, bool upheld) external {
        address node = _node(nodeSeed);
        address challenger = challengers[challengerSeed % 2];
        (,,,,, uint64 batchId,,) = pools.creditsOf(node);
        uint256 stakeBefore = nodes.stakeOf(node);
        uint256 walletBefore = token.balanceOf(challenger);
        try pools.resolveChallenge(node, batchId, challenger, upheld) {
            ghostIn += stakeBefore - nodes.stakeOf(node);
            ghostOut += token.balanceOf(challenger) - walletBefore;
            _ok("rule");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](1);
            allowed[0] = BatchDisputes.NoOpenChallenge.selector;
            _expectRevert("rule", err, allowed);
        }
        _learnFinal(node);
    }

    function withdrawChallengeBond(uint256 index, uint256 challengerSeed) external {
        if (_challengedNode.length == 0) return;
        index %= _challengedNode.length;
        address challenger = challengers[challengerSeed % 2];
        vm.prank(challenger);
        try pools.withdrawChallengeBond(_challengedNode[index], _challengedBatch[index]) returns (uint256 bond) {
            ghostOut += bond;
            _ok("withdrawChallengeBond");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = BatchDisputes.NoOpenChallenge.selector;
            allowed[1] = BatchDisputes.ChallengeStillOpen.selector;
            _expectRevert("withdrawChallengeBond", err, allowed);
        }
    }

    /// @notice After a silence, someone proposes a recovery root (honest amounts) for a node's pool.
    function proposeRecoveryRoot(uint256 nodeSeed, uint256 a, uint256 b, bool wait) external {
        address node = _node(nodeSeed);
        if (wait) vm.warp(block.timestamp + pools.RECOVERY_DELAY());
        _learnFinal(node);
        (, uint256 finalTotal,, uint256 pool, bytes32 pending,,,) = pools.creditsOf(node);
        if (pool < finalTotal) _violation("final total above pool");
        (uint256 creditA, uint256 creditB) = (ghostCredited[node][contributors[0]], ghostCredited[node][contributors[1]]);
        uint256 extraA = bound(a, 0, pool - finalTotal);
        uint256 extraB = bound(b, 0, pool - finalTotal - extraA);
        bytes32 root = _root(creditA + extraA, creditB + extraB);
        _rootCredits[root] = [creditA + extraA, creditB + extraB];
        uint256 bond = pools.recoveryBond();
        token.mint(RECOVERY_PROPOSER, bond);
        vm.startPrank(RECOVERY_PROPOSER);
        token.approve(address(pools), bond);
        try pools.proposeRecoveryRoot(node, root, finalTotal + extraA + extraB, "records") {
            ghostIn += bond;
            _ok("proposeRecoveryRoot");
        } catch (bytes memory err) {
            token.transfer(address(0xDEAD), bond);
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = BatchDisputes.NodeNotSilent.selector;
            allowed[1] = pending != bytes32(0) ? ContributorCredits.CreditRootPending.selector : bytes4(0);
            _expectRevert("proposeRecoveryRoot", err, allowed);
        }
        vm.stopPrank();
    }

    function claim(uint256 nodeSeed, uint256 contributorSeed) external {
        address node = _node(nodeSeed);
        _learnFinal(node);
        (bytes32 root,,,,,,,) = pools.creditsOf(node);
        if (root == bytes32(0)) return;
        uint256 index = contributorSeed % 2;
        uint256[2] memory credits = _rootCredits[root];
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _leaf(contributors[1 - index], credits[1 - index]);
        try pools.claim(node, contributors[index], credits[index], proof) returns (uint256 paid) {
            ghostOut += paid;
            _ok("claim");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = ContributorCredits.NothingToClaim.selector;
            allowed[1] = ContributorCredits.ClaimsExceedCredited.selector; // leaves crediting more than the total
            _expectRevert("claim", err, allowed);
        }
    }

    // ------------------------------------------------------------------ node stakes

    function beginUnbonding(uint256 nodeSeed) external {
        address node = _node(nodeSeed);
        vm.prank(node);
        try nodes.beginUnbonding() {
            _ok("beginUnbonding");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](2);
            allowed[0] = NodeRegistry.NodeUnbonding.selector;
            allowed[1] = NodeRegistry.NodeNotRegistered.selector;
            _expectRevert("beginUnbonding", err, allowed);
        }
    }

    /// @notice A node tries to take its stake out, possibly while a root of its own is still disputable.
    function withdrawStake(uint256 nodeSeed) external {
        address node = _node(nodeSeed);
        bool locked = pools.hasOpenDisputes(node);
        uint256 before = token.balanceOf(node);
        vm.prank(node);
        try nodes.withdraw() {
            if (locked) withdrewDuringDispute = true;
            if (token.balanceOf(node) <= before && nodes.minStake() > 0) _violation("withdrawal paid nothing");
            _ok("withdrawStake");
            // Back in business with a fresh stake, so the run keeps exercising this node.
            _register(node, nodes.minStake());
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](4);
            allowed[0] = NodeRegistry.NodeNotUnbonding.selector;
            allowed[1] = NodeRegistry.UnbondingNotOver.selector;
            allowed[2] = locked ? NodeRegistry.StakeLocked.selector : bytes4(0);
            allowed[3] = NodeRegistry.NodeNotRegistered.selector;
            _expectRevert("withdrawStake", err, allowed);
        }
    }

    // ------------------------------------------------------------------ payouts and time

    function withdrawEarnings(uint256 whoSeed) external {
        address who = _earner(whoSeed);
        uint256 before = token.balanceOf(who);
        vm.prank(who);
        try settlement.withdrawEarnings() {
            ghostOut += token.balanceOf(who) - before;
            _ok("withdrawEarnings");
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](1);
            allowed[0] = bytes4(keccak256("NoEarnings(address)"));
            _expectRevert("withdrawEarnings", err, allowed);
        }
    }

    function passTime(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 days));
    }

    // ------------------------------------------------------------------ views for the invariants

    /// @notice Every account that can hold Settlement earnings in this run.
    function earnerCount() external pure returns (uint256) {
        return 8;
    }

    function earner(uint256 index) external view returns (address) {
        return _earner(index);
    }

    function payerAt(uint256 index) external pure returns (address) {
        return _payer(index);
    }

    function sessionKey(uint256 index) external pure returns (address) {
        return vm.addr(FIRST_SESSION_KEY + index % PAYER_COUNT);
    }

    /// @notice Bonds of challenges still open, read from the pools.
    function openChallengeBonds() external view returns (uint256 held) {
        for (uint256 i; i < _challengedNode.length; ++i) {
            for (uint256 j; j < 2; ++j) {
                (bool open, uint256 bond) = pools.challengeOf(_challengedNode[i], _challengedBatch[i], challengers[j]);
                // One (node, batch) may be listed twice (two challengers): count each open challenge once.
                if (open && _firstListing(i)) held += bond;
            }
        }
    }

    function channelKey(address payer_, address node, uint256 modelId) external pure returns (bytes32) {
        return _channel(payer_, node, modelId);
    }

    // ------------------------------------------------------------------ internals

    function _settleOne(address node, VoucherChannels.SignedVoucher memory voucher, string memory action)
        private
        returns (uint256 paid)
    {
        VoucherChannels.SignedVoucher[] memory vouchers = new VoucherChannels.SignedVoucher[](1);
        vouchers[0] = voucher;
        bytes32 channel = _channel(voucher.payer, node, voucher.modelId);
        uint256 before = settlement.redeemedOf(voucher.payer, node, voucher.modelId);
        (,,, uint256 poolBefore,,,,) = pools.creditsOf(node);
        vm.prank(node);
        try settlement.settleBatch(vouchers, bytes32(0), 0, "") {
            paid = settlement.redeemedOf(voucher.payer, node, voucher.modelId) - before;
            ghostPaid[channel] += paid;
            (,,, uint256 poolAfter,,,,) = pools.creditsOf(node);
            if (poolAfter - poolBefore > paid) batchOverCredited = true;
            _ok(action);
        } catch (bytes memory err) {
            bytes4[] memory allowed = new bytes4[](1);
            allowed[0] = nodes.isActive(node) ? bytes4(0) : ActiveNodes.NodeNotActive.selector;
            _expectRevert(action, err, allowed);
        }
    }

    function _register(address node, uint256 stake) private {
        token.mint(node, stake);
        vm.startPrank(node);
        token.approve(address(nodes), stake);
        nodes.register("peer", "http://127.0.0.1:1", 1, stake);
        vm.stopPrank();
    }

    /// @dev Mints a model to `owner` through a real training job trained by `trainer` (datanet 1 version 1 and
    /// base model 1 are published by the test's setUp).
    function _mintModel(address owner, address trainer) private {
        token.mint(owner, 1e18);
        vm.startPrank(owner);
        token.approve(address(models), 1e18);
        uint256 jobId = models.createJob(
            ModelRegistry.JobRequest(1, 1, 1, "hparams", 1e18, uint64(block.timestamp + 1 days))
        );
        vm.stopPrank();
        vm.startPrank(trainer);
        models.claimJob(jobId);
        models.submitResult(jobId, ModelRegistry.Artifacts("adapter", "evaluation", "index"));
        vm.stopPrank();
    }

    /// @dev Records the credits of the node's final root (claims see a pending root past its window as final).
    function _learnFinal(address node) private {
        (bytes32 root,,,,,,,) = pools.creditsOf(node);
        if (root == bytes32(0)) return;
        uint256[2] memory credits = _rootCredits[root];
        for (uint256 i; i < 2; ++i) {
            if (credits[i] > ghostCredited[node][contributors[i]]) ghostCredited[node][contributors[i]] = credits[i];
        }
    }

    function _firstListing(uint256 index) private view returns (bool) {
        for (uint256 k; k < index; ++k) {
            if (_challengedNode[k] == _challengedNode[index] && _challengedBatch[k] == _challengedBatch[index]) {
                return false;
            }
        }
        return true;
    }

    function _ok(string memory action) private {
        ++succeeded[keccak256(bytes(action))];
    }

    function _expectRevert(string memory action, bytes memory err, bytes4[] memory allowed) private {
        bytes4 selector = err.length >= 4 ? bytes4(err) : bytes4(0);
        for (uint256 i; i < allowed.length; ++i) {
            if (selector != bytes4(0) && selector == allowed[i]) {
                ++expectedReverts[keccak256(bytes(action))];
                return;
            }
        }
        _unexpected(action, err);
    }

    function _unexpected(string memory action, bytes memory err) private {
        ++unexpected;
        (lastUnexpected, lastUnexpectedError) = (action, err);
    }

    function _violation(string memory what) private {
        ++unexpected;
        lastUnexpected = what;
    }

    function _earner(uint256 seed) private view returns (address) {
        seed %= 8;
        if (seed < 3) return nodeAt[seed];
        if (seed < 5) return ownerAt[seed - 3];
        if (seed < 7) return challengers[seed - 5];
        return RECOVERY_PROPOSER;
    }

    function _node(uint256 seed) private view returns (address) {
        return nodeAt[seed % NODE_COUNT];
    }

    function _model(uint256 seed) private pure returns (uint256) {
        return seed % MODEL_COUNT + 1;
    }

    function _channel(address payer_, address node, uint256 modelId) private pure returns (bytes32) {
        return keccak256(abi.encode(payer_, node, modelId));
    }

    function _payer(uint256 seed) private pure returns (address) {
        return vm.addr(FIRST_PAYER_KEY + seed % PAYER_COUNT);
    }

    function _sign(uint256 key, address payer_, address node, uint256 modelId, uint64 version, uint256 cumulative)
        private
        view
        returns (VoucherChannels.SignedVoucher memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, settlement.voucherDigest(payer_, node, modelId, version, cumulative));
        bytes32 yParityAndS = bytes32(uint256(s) | (uint256(v - 27) << 255));
        return VoucherChannels.SignedVoucher(payer_, modelId, version, cumulative, r, yParityAndS);
    }

    function _leaf(address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    /// @dev StandardMerkleTree root of two leaves: the sorted pair hash.
    function _root(uint256 a, uint256 b) private view returns (bytes32) {
        (bytes32 x, bytes32 y) = (_leaf(contributors[0], a), _leaf(contributors[1], b));
        return x < y ? keccak256(abi.encode(x, y)) : keccak256(abi.encode(y, x));
    }

    /// @dev Maps `x` into [min, max] (the handler cannot inherit the test base: see SettlementHandler).
    function bound(uint256 x, uint256 min, uint256 max) private pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }
}
