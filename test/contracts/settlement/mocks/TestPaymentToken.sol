// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Payment token for settlement tests: anyone can mint.
contract TestPaymentToken is ERC20 {
    constructor() ERC20("Test Payment Token", "TPT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
