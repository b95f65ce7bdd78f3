// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Why `settleBatch` skipped a voucher instead of redeeming it (the `reason` of `VoucherSkipped`).
/// A skipped voucher changes nothing; the rest of the batch settles. Values are stable: nodes decode them.
/// - `None` (0): not skipped (never emitted).
/// - `Stale` (1): its cumulative amount is not above what the channel already redeemed.
/// - `InvalidSignature` (2): the signature does not recover (malformed, or a malleable high-s twin).
/// - `SignerNotAuthorized` (3): the signer is neither the payer nor one of its session keys (never
///   authorized, revoked, or the voucher was signed for another chain, contract or channel).
/// - `SessionKeyExpired` (4): the signing session key has expired.
/// - `SessionKeyCapExceeded` (5): the increment would take the session key's spending above its cap.
/// - `InsufficientFunds` (6): the channel's funds plus the payer's escrow do not cover the increment.
/// - `TermsUnavailable` (7): the model or its terms version does not exist, or its terms are inconsistent.
/// - `TermsSuperseded` (8): the terms version was superseded longer ago than the withdrawal delay.
enum VoucherSkipReason {
    None,
    Stale,
    InvalidSignature,
    SignerNotAuthorized,
    SessionKeyExpired,
    SessionKeyCapExceeded,
    InsufficientFunds,
    TermsUnavailable,
    TermsSuperseded
}
