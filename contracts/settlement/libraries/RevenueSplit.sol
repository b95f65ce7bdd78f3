// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title RevenueSplit
/// @notice Splits one model's revenue into protocol fee, owner share, contributor pool and node share.
/// @dev The node share is computed as the remainder, so the rounding dust of the other shares (at most
/// 2 units per split) goes to the node that served the requests: the parts always sum to the revenue,
/// nothing is lost or created. `mulDiv` keeps the arithmetic exact for every uint256 revenue.
library RevenueSplit {
    /// @notice Basis-point denominator: 10,000 bps == 100 %.
    uint256 internal constant BPS = 10_000;

    struct Shares {
        uint256 protocolFee;
        uint256 owner;
        uint256 contributors;
        uint256 node;
    }

    /// @notice The shares of a model's revenue; the node receives the rest, i.e. its `nodeBps` plus dust.
    /// @param revenue The amount to split.
    /// @param protocolFeeBps Protocol fee in basis points, taken first.
    /// @param ownerBps Model owner share of the rest.
    /// @param contributorBps Contributor share of the rest.
    /// @return shares The four parts; they always sum to `revenue`.
    /// @dev Callers guarantee `protocolFeeBps <= BPS` and `ownerBps + contributorBps <= BPS`.
    function split(uint256 revenue, uint256 protocolFeeBps, uint256 ownerBps, uint256 contributorBps)
        internal
        pure
        returns (Shares memory shares)
    {
        shares.protocolFee = Math.mulDiv(revenue, protocolFeeBps, BPS);
        uint256 net = revenue - shares.protocolFee;
        shares.owner = Math.mulDiv(net, ownerBps, BPS);
        shares.contributors = Math.mulDiv(net, contributorBps, BPS);
        shares.node = net - shares.owner - shares.contributors;
    }
}
