// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestBase} from "../utils/TestBase.sol";
import {PaymentEscrow} from "../../../contracts/settlement/PaymentEscrow.sol";
import {PaymentTokenHolder} from "../../../contracts/settlement/PaymentTokenHolder.sol";
import {TestPaymentToken} from "./mocks/TestPaymentToken.sol";

/// @notice Exposes the escrow debit that voucher redemptions use.
contract EscrowDebitHarness is PaymentEscrow {
    constructor(IERC20 token) PaymentTokenHolder(token) PaymentEscrow(1 days) {}

    function debit(address payer, uint256 amount) external {
        _debitEscrow(payer, amount);
    }
}

/// @notice The escrow debit refuses to overdraw on its own. Redemptions check funds before they debit (a short
/// voucher is skipped), so no Settlement path reaches this guard today: it is the second line that keeps the
/// unchecked subtraction after it from wrapping if a future caller forgets the first.
contract EscrowDebitTest is TestBase {
    EscrowDebitHarness private escrow;
    TestPaymentToken private token;
    address private constant PAYER = address(0xB0B);

    function setUp() public {
        token = new TestPaymentToken();
        escrow = new EscrowDebitHarness(IERC20(address(token)));
        token.mint(address(this), 10);
        token.approve(address(escrow), 10);
        escrow.depositFor(PAYER, 10);
    }

    function testDebitWithinTheBalance() public {
        escrow.debit(PAYER, 4);
        assertEq(escrow.escrowBalanceOf(PAYER), 6, "balance after the debit");
    }

    function testFuzz_debitNeverOverdraws(uint256 amount) public {
        amount = bound(amount, 11, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(PaymentEscrow.InsufficientEscrow.selector, PAYER, 10, amount));
        escrow.debit(PAYER, amount);
    }
}
