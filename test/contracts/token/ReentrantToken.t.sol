// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Unit-test fake: an ERC-20 that, once armed, calls back into `target` from inside every transfer,
/// the way a malicious or hook-carrying token could. Used to check the registries' reentrancy guards.
/// @dev In a `.t.sol` file so Hardhat emits its artifact for the tests that deploy it.
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _callback;

    constructor() ERC20("Reentrant", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Makes the next transfers call `target` with `callback` (empty `callback` disarms).
    function arm(address target, bytes calldata callback) external {
        _target = target;
        _callback = callback;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        bytes memory callback = _callback;
        if (callback.length != 0) {
            delete _callback; // one reentry attempt per arming
            (bool ok, bytes memory reason) = _target.call(callback);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }
}
