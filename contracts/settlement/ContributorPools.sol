// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ActiveNodes} from "./ActiveNodes.sol";
import {BatchDisputes} from "./BatchDisputes.sol";
import {ContributorCredits} from "./ContributorCredits.sol";
import {PaymentTokenHolder} from "./PaymentTokenHolder.sol";

/// @title IEarningsLedger
/// @notice The one call the pools make back into the Settlement: bonds owed to an account become Settlement
/// earnings, so every party withdraws what it earned in one place.
interface IEarningsLedger {
    /// @notice Credits `amount`, already transferred to the Settlement, to `account`'s earnings.
    /// @param account Who earned it.
    /// @param amount Token units.
    function creditEarnings(address account, uint256 amount) external;
}

/// @title ContributorPools
/// @notice The contributor side of settlement, split from the {Settlement} to keep each contract under the
/// EIP-170 code size limit with a margin: each node's contributor pool, its cumulative credit roots and their
/// claims ({ContributorCredits}), challenges, rulings, slashing, the stake lock and recovery roots
/// ({BatchDisputes}). The Settlement creates this contract in its constructor and is the only account that
/// adds to pools and proposes a node's own roots ({recordBatch}, {addToPool}); everything else (claims,
/// challenges, recovery roots) is called here directly.
/// @dev Token conservation: this contract's token balance equals the unclaimed pools (pool - claimed per node)
/// plus open challenge bonds and pending recovery bonds. The Settlement moves a batch's contributor share here
/// before it records it, and bonds owed as earnings go back to the Settlement with the credit.
contract ContributorPools is BatchDisputes {
    /// @notice Deployment parameters, passed on by the Settlement's constructor.
    /// @param token The payment ERC-20 (the Settlement's).
    /// @param nodes The NodeRegistry (this contract needs its SLASHER_ROLE and is its stake lock).
    /// @param governance Owner: sets the arbiter, bond and slash amount.
    /// @param arbiter Resolves challenges.
    /// @param disputeWindow Seconds a credit root can be challenged.
    /// @param challengeBond Bond a challenger posts.
    /// @param slashAmount Stake slashed when a challenge is upheld.
    struct Params {
        IERC20 token;
        INodeRegistry nodes;
        address governance;
        address arbiter;
        uint256 disputeWindow;
        uint256 challengeBond;
        uint256 slashAmount;
    }

    /// @notice The Settlement that created this contract: the only account that adds to pools and records
    /// batches.
    address public immutable settlement;
    /// @notice Number of batch ids given out (settled batches and recovery roots); ids are 1..batchCount.
    uint64 public batchCount;

    /// @notice `caller` is not the Settlement.
    error NotSettlement(address caller);

    constructor(Params memory params)
        PaymentTokenHolder(params.token)
        Ownable(params.governance)
        ContributorCredits(params.disputeWindow)
        ActiveNodes(params.nodes)
        BatchDisputes(params.arbiter, params.challengeBond, params.slashAmount)
    {
        if (address(params.nodes) == address(0)) revert ZeroAddress();
        settlement = msg.sender;
    }

    modifier onlySettlement() {
        if (msg.sender != settlement) revert NotSettlement(msg.sender);
        _;
    }

    /// @notice Records a settled batch of `node`: adds its contributor share (already transferred here) to the
    /// node's pool and, with a nonzero `creditRoot`, proposes the node's new cumulative credit root.
    /// @dev Only the Settlement. Reverts with the credit-root errors ({CreditRootPending},
    /// {CreditTotalDecreased}, {CreditTotalExceedsPool}).
    /// @param node The settling node.
    /// @param poolAmount Token units the batch adds to the node's contributor pool.
    /// @param creditRoot The proposed root (zero: none).
    /// @param totalCredit Cumulative credit the root declares.
    /// @return batchId The batch's id.
    /// @return disputeUntil End of the root's dispute window (zero without a root).
    function recordBatch(address node, uint256 poolAmount, bytes32 creditRoot, uint256 totalCredit)
        external
        onlySettlement
        returns (uint64 batchId, uint256 disputeUntil)
    {
        batchId = ++batchCount;
        _addToPool(node, poolAmount);
        if (creditRoot != bytes32(0)) disputeUntil = _proposeCreditRoot(node, batchId, creditRoot, totalCredit);
    }

    /// @notice Adds `amount` (already transferred here) to `node`'s contributor pool: the contributor share of
    /// an on-chain inference fee.
    /// @dev Only the Settlement.
    /// @param node The serving node.
    /// @param amount Token units added.
    function addToPool(address node, uint256 amount) external onlySettlement {
        _addToPool(node, amount);
    }

    /// @dev Recovery roots take their ids from the batch counter, so a root is challenged by one kind of id.
    function _newBatchId() internal override returns (uint64) {
        return ++batchCount;
    }

    /// @dev Bonds owed as earnings go to the Settlement with the credit, so they are withdrawn with the rest.
    function _creditEarnings(address account, uint256 amount) internal override {
        if (amount == 0) return;
        _pushTokens(settlement, amount);
        IEarningsLedger(settlement).creditEarnings(account, amount);
    }
}
