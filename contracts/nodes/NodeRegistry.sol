// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IStakeLock} from "../interfaces/IStakeLock.sol";

/// @title NodeRegistry
/// @notice Compute nodes register how to reach them and stake the payment token. A node is active while it
/// is registered, not unbonding and holds at least the minimum stake. Leaving takes an unbonding delay during
/// which the stake can still be slashed, so misbehaviour found late is still punished, and a node with a root of
/// its own still open to dispute cannot withdraw at all: the registry asks the stake lock (the Settlement) first,
/// so a node cannot run from a challenge.
/// @dev Governance (DEFAULT_ADMIN_ROLE) sets the minimum stake, grants SLASHER_ROLE and sets the stake lock (both
/// to the settlement contract). The whole stake unbonds at once: unbonding means leaving.
contract NodeRegistry is INodeRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to call `slash`.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    /// @notice A registered node.
    /// @param peerId libp2p peer id, for gossip and bitswap.
    /// @param endpoint Base URL of the node's OpenAI-compatible API.
    /// @param capabilities Bitmask of what the node offers (bit meanings are defined off-chain by the node software).
    /// @param stake Payment-token amount staked, including any part that is unbonding.
    /// @param unbondingEndsAt 0 while bonded; otherwise when `withdraw` becomes possible.
    struct Node {
        string peerId;
        string endpoint;
        uint256 capabilities;
        uint256 stake;
        uint64 unbondingEndsAt;
        bool registered;
    }

    /// @notice The ERC-20 staked by nodes.
    IERC20 public immutable paymentToken;
    /// @notice Seconds between `beginUnbonding` and `withdraw`.
    uint64 public immutable unbondingDelay;
    /// @notice Stake a node needs to register and to stay active.
    uint256 public minStake;
    /// @notice Asked before every withdrawal whether the node still has something disputable (zero: no lock).
    IStakeLock public stakeLock;

    mapping(address node => Node) private _nodes;

    /// @notice A node registered.
    /// @param node The node's account.
    /// @param peerId Its libp2p peer id.
    /// @param endpoint Its API base URL.
    /// @param capabilities Its capabilities bitmask.
    /// @param stake Its initial stake.
    event NodeRegistered(address indexed node, string peerId, string endpoint, uint256 capabilities, uint256 stake);
    /// @notice A node added stake.
    /// @param node The node.
    /// @param amount Tokens added.
    /// @param newStake Its stake now.
    event StakeAdded(address indexed node, uint256 amount, uint256 newStake);
    /// @notice A node started leaving.
    /// @param node The node.
    /// @param unbondingEndsAt When it can withdraw.
    event UnbondingStarted(address indexed node, uint64 unbondingEndsAt);
    /// @notice A node withdrew its stake and is no longer registered.
    /// @param node The node.
    /// @param amount Tokens returned to it.
    event StakeWithdrawn(address indexed node, uint256 amount);
    /// @notice Stake was slashed.
    /// @param node The node.
    /// @param recipient Who received the slashed tokens.
    /// @param requested Amount the slasher asked for.
    /// @param slashed Amount actually taken (capped at the stake).
    event NodeSlashed(address indexed node, address indexed recipient, uint256 requested, uint256 slashed);
    /// @notice A node changed its API endpoint.
    /// @param node The node.
    /// @param endpoint The new base URL.
    event EndpointUpdated(address indexed node, string endpoint);
    /// @notice A node changed its capabilities.
    /// @param node The node.
    /// @param capabilities The new bitmask.
    event CapabilitiesUpdated(address indexed node, uint256 capabilities);
    /// @notice Governance changed the minimum stake.
    /// @param minStake The new minimum.
    event MinStakeUpdated(uint256 minStake);

    /// @notice Governance set the stake lock.
    /// @param previousLock The lock before.
    /// @param lock The lock now (zero: none).
    event StakeLockUpdated(address indexed previousLock, address indexed lock);

    /// @notice `node` cannot withdraw: `lock` reports a credit root of its still open to dispute.
    error StakeLocked(address node, address lock);
    /// @notice `node` is already registered.
    error NodeAlreadyRegistered(address node);
    /// @notice `node` is not registered.
    error NodeNotRegistered(address node);
    /// @notice `node` is unbonding, which forbids this action; unbonding ends at `unbondingEndsAt`.
    error NodeUnbonding(address node, uint64 unbondingEndsAt);
    /// @notice `node` has not started unbonding.
    error NodeNotUnbonding(address node);
    /// @notice `node` may withdraw only at `unbondingEndsAt`.
    error UnbondingNotOver(address node, uint64 unbondingEndsAt);
    /// @notice A stake of `stake` is below the minimum `minStake`.
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    /// @notice An amount was zero.
    error ZeroAmount();
    /// @notice A required string was empty; `field` names it.
    error EmptyField(string field);
    /// @notice Slashed stake cannot be sent to the zero address.
    error ZeroRecipient();

    /// @notice Deploys the registry for one payment token.
    /// @param paymentToken_ The ERC-20 nodes stake (any standard ERC-20 without transfer fees).
    /// @param governance Receives DEFAULT_ADMIN_ROLE: sets the minimum stake and grants SLASHER_ROLE.
    /// @param minStake_ Initial minimum stake.
    /// @param unbondingDelay_ Seconds a leaving node's stake stays slashable.
    constructor(IERC20 paymentToken_, address governance, uint256 minStake_, uint64 unbondingDelay_) {
        paymentToken = paymentToken_;
        unbondingDelay = unbondingDelay_;
        minStake = minStake_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        emit MinStakeUpdated(minStake_);
    }

    /// @notice Registers the caller as a node and pulls `stake` from it.
    /// @param peerId libp2p peer id; must not be empty.
    /// @param endpoint API base URL; must not be empty.
    /// @param capabilities Bitmask of offered capabilities.
    /// @param stake Initial stake; at least `minStake`. Needs an allowance for this contract.
    /// @dev Reverts with `NodeAlreadyRegistered`, `EmptyField` or `StakeBelowMinimum`.
    function register(string calldata peerId, string calldata endpoint, uint256 capabilities, uint256 stake)
        external
        nonReentrant
    {
        Node storage node = _nodes[msg.sender];
        if (node.registered) revert NodeAlreadyRegistered(msg.sender);
        if (bytes(peerId).length == 0) revert EmptyField("peerId");
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");
        if (stake == 0 || stake < minStake) revert StakeBelowMinimum(stake, minStake);

        node.peerId = peerId;
        node.endpoint = endpoint;
        node.capabilities = capabilities;
        node.stake = stake;
        node.registered = true;
        emit NodeRegistered(msg.sender, peerId, endpoint, capabilities, stake);

        paymentToken.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @notice Adds `amount` to the caller's stake (for example to get back above the minimum after a slash).
    /// @param amount Tokens to pull; not zero. Needs an allowance for this contract.
    /// @dev Reverts with `NodeNotRegistered`, `NodeUnbonding` or `ZeroAmount`.
    function addStake(uint256 amount) external nonReentrant {
        Node storage node = _requireBonded(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 newStake = node.stake + amount;
        node.stake = newStake;
        emit StakeAdded(msg.sender, amount, newStake);

        paymentToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Starts leaving: the node becomes inactive at once and may withdraw after `unbondingDelay`.
    /// @dev Reverts with `NodeNotRegistered` or `NodeUnbonding` (already leaving).
    function beginUnbonding() external {
        Node storage node = _requireBonded(msg.sender);
        uint64 endsAt = uint64(block.timestamp) + unbondingDelay;
        node.unbondingEndsAt = endsAt;
        emit UnbondingStarted(msg.sender, endsAt);
    }

    /// @notice Withdraws the whole remaining stake after unbonding and deregisters the node.
    /// @dev Reverts with `NodeNotRegistered`, `NodeNotUnbonding`, `UnbondingNotOver` or `StakeLocked` (a root of
    /// the node is in its dispute window or under challenge: withdraw once it is final or ruled on).
    function withdraw() external nonReentrant {
        Node storage node = _nodes[msg.sender];
        if (!node.registered) revert NodeNotRegistered(msg.sender);
        uint64 endsAt = node.unbondingEndsAt;
        if (endsAt == 0) revert NodeNotUnbonding(msg.sender);
        if (block.timestamp < endsAt) revert UnbondingNotOver(msg.sender, endsAt);
        IStakeLock lock = stakeLock;
        if (address(lock) != address(0) && lock.hasOpenDisputes(msg.sender)) {
            revert StakeLocked(msg.sender, address(lock));
        }

        uint256 amount = node.stake;
        delete _nodes[msg.sender];
        emit StakeWithdrawn(msg.sender, amount);

        if (amount != 0) paymentToken.safeTransfer(msg.sender, amount);
    }

    /// @notice Replaces the caller's API endpoint.
    /// @param endpoint New base URL; must not be empty.
    /// @dev Reverts with `NodeNotRegistered` or `EmptyField`.
    function setEndpoint(string calldata endpoint) external {
        Node storage node = _requireRegistered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");
        node.endpoint = endpoint;
        emit EndpointUpdated(msg.sender, endpoint);
    }

    /// @notice Replaces the caller's capabilities bitmask.
    /// @param capabilities New bitmask.
    /// @dev Reverts with `NodeNotRegistered`.
    function setCapabilities(uint256 capabilities) external {
        Node storage node = _requireRegistered(msg.sender);
        node.capabilities = capabilities;
        emit CapabilitiesUpdated(msg.sender, capabilities);
    }

    /// @notice Sets the stake a node needs to register and stay active; nodes below it become inactive.
    /// @param minStake_ The new minimum.
    /// @dev Reverts with `AccessControlUnauthorizedAccount` unless called by governance.
    function setMinStake(uint256 minStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minStake = minStake_;
        emit MinStakeUpdated(minStake_);
    }

    /// @notice Sets the contract asked before each withdrawal whether the node has a disputable root (the
    /// Settlement). Only governance.
    /// @param lock The stake lock, or zero for none.
    /// @dev Reverts with `AccessControlUnauthorizedAccount` unless called by governance.
    function setStakeLock(IStakeLock lock) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit StakeLockUpdated(address(stakeLock), address(lock));
        stakeLock = lock;
    }

    /// @inheritdoc INodeRegistry
    /// @dev Unbonding nodes can be slashed too. Reverts with `AccessControlUnauthorizedAccount` without
    /// SLASHER_ROLE, `NodeNotRegistered` or `ZeroRecipient`.
    function slash(address node, uint256 amount, address recipient)
        external
        onlyRole(SLASHER_ROLE)
        nonReentrant
        returns (uint256 slashed)
    {
        Node storage slashedNode = _requireRegistered(node);
        if (recipient == address(0)) revert ZeroRecipient();
        uint256 stake = slashedNode.stake;
        slashed = amount < stake ? amount : stake;
        slashedNode.stake = stake - slashed;
        emit NodeSlashed(node, recipient, amount, slashed);

        if (slashed != 0) paymentToken.safeTransfer(recipient, slashed);
    }

    /// @inheritdoc INodeRegistry
    function isActive(address node) external view returns (bool) {
        Node storage registered = _nodes[node];
        return registered.registered && registered.unbondingEndsAt == 0 && registered.stake >= minStake
            && registered.stake != 0;
    }

    /// @inheritdoc INodeRegistry
    function stakeOf(address node) external view returns (uint256) {
        return _nodes[node].stake;
    }

    /// @notice Everything registered about a node.
    /// @param node The node's account.
    /// @return Its record (all zero when it is not registered).
    function getNode(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    function _requireRegistered(address account) private view returns (Node storage node) {
        node = _nodes[account];
        if (!node.registered) revert NodeNotRegistered(account);
    }

    function _requireBonded(address account) private view returns (Node storage node) {
        node = _requireRegistered(account);
        if (node.unbondingEndsAt != 0) revert NodeUnbonding(account, node.unbondingEndsAt);
    }
}
