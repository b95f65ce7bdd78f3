// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {VoucherSkipReason} from "./VoucherSkipReason.sol";

/// @title SessionKeys
/// @notice Keys a payer authorizes on-chain to sign vouchers on its behalf (a browser or server key
/// that never holds funds), each with a spending cap and an expiry.
/// @dev The cap is PER KEY, across all of the payer's channels: every redemption of a voucher the key
/// signed adds the amount it pays to the key's `spent`, and a voucher that would take `spent` above `cap`
/// is skipped. So a leaked key loses the payer at most `cap` in total, however many nodes the thief
/// registers to redeem its vouchers. The counter shares one storage word with the cap and expiry, so a
/// session-key voucher costs one extra storage read and one write. The amount counted is the redemption's
/// increment over the channel, which includes any unredeemed amount the payer (or another key) promised
/// earlier on that channel: the count can only be too high, never too low, and a node that wants the
/// key's budget counted exactly redeems the payer's own vouchers first (same batch, earlier position).
/// Revocation takes effect immediately (a leaked key must be stoppable at once); vouchers the key signed
/// earlier and the node has not yet redeemed become unredeemable, so nodes accepting session-key vouchers
/// should redeem regularly and prefer short expiries.
abstract contract SessionKeys {
    /// @dev One word: the cap, what the key's vouchers have paid since it was authorized, and the expiry.
    struct SessionKey {
        uint96 cap;
        uint96 spent;
        uint64 expiresAt;
    }

    mapping(address payer => mapping(address key => SessionKey)) private _sessionKeys;

    /// @notice A payer authorized (or re-authorized) a session key; its spending count starts at zero.
    /// @param payer The payer.
    /// @param key The session key.
    /// @param cap Most the key's vouchers may pay in total, across all channels.
    /// @param expiresAt Unix time from which the key's vouchers are rejected.
    event SessionKeyAuthorized(address indexed payer, address indexed key, uint256 cap, uint256 expiresAt);
    /// @notice A payer revoked a session key.
    /// @param payer The payer.
    /// @param key The revoked key.
    event SessionKeyRevoked(address indexed payer, address indexed key);

    /// @notice The key is the zero address or the payer itself.
    error SessionKeyInvalid(address key);
    /// @notice A cap of zero, or one that does not fit in 96 bits.
    error SessionKeyCapInvalid(uint256 cap);
    /// @notice The expiry `expiresAt` is not in the future (now: `currentTime`) or does not fit in 64 bits.
    error SessionKeyExpiryInvalid(uint256 expiresAt, uint256 currentTime);
    /// @notice `key` is not a session key of `payer` (never authorized, or revoked).
    error SessionKeyNotFound(address payer, address key);

    /// @notice Authorizes `key` to sign vouchers for the caller, replacing its previous cap and expiry and
    /// starting its spending count from zero.
    /// @dev Reverts with {SessionKeyInvalid}, {SessionKeyCapInvalid} or {SessionKeyExpiryInvalid}.
    /// @param key The session key's address.
    /// @param cap Most the key's vouchers may pay in total, across all of the caller's channels.
    /// @param expiresAt Unix time from which the key's vouchers are rejected.
    function authorizeSessionKey(address key, uint256 cap, uint256 expiresAt) external {
        if (key == address(0) || key == msg.sender) revert SessionKeyInvalid(key);
        if (cap == 0 || cap > type(uint96).max) revert SessionKeyCapInvalid(cap);
        if (expiresAt <= block.timestamp || expiresAt > type(uint64).max) {
            revert SessionKeyExpiryInvalid(expiresAt, block.timestamp);
        }
        // Both values were range-checked above, so the narrowing casts are lossless.
        _sessionKeys[msg.sender][key] = SessionKey(uint96(cap), 0, uint64(expiresAt));
        emit SessionKeyAuthorized(msg.sender, key, cap, expiresAt);
    }

    /// @notice Revokes the caller's session key `key` with immediate effect.
    /// @dev Reverts with {SessionKeyNotFound} if `key` is not authorized.
    /// @param key The session key to revoke.
    function revokeSessionKey(address key) external {
        if (_sessionKeys[msg.sender][key].expiresAt == 0) revert SessionKeyNotFound(msg.sender, key);
        delete _sessionKeys[msg.sender][key];
        emit SessionKeyRevoked(msg.sender, key);
    }

    /// @notice The cap, spending and expiry of a payer's session key (all zero if not authorized).
    /// @param payer The payer.
    /// @param key The session key.
    /// @return cap Most the key's vouchers may pay in total.
    /// @return spent What they have paid since the key was authorized.
    /// @return expiresAt Expiry as Unix time.
    function sessionKeyOf(address payer, address key)
        external
        view
        returns (uint256 cap, uint256 spent, uint256 expiresAt)
    {
        SessionKey memory sessionKey = _sessionKeys[payer][key];
        return (sessionKey.cap, sessionKey.spent, sessionKey.expiresAt);
    }

    /// @dev Whether `signer` may sign a voucher of `payer` that pays `amount` now: `None` if so, else why not.
    function _voucherSignerCheck(address payer, address signer, uint256 amount)
        internal
        view
        returns (VoucherSkipReason)
    {
        if (signer == payer) return VoucherSkipReason.None;
        SessionKey memory sessionKey = _sessionKeys[payer][signer];
        if (sessionKey.expiresAt == 0) return VoucherSkipReason.SignerNotAuthorized;
        if (block.timestamp >= sessionKey.expiresAt) return VoucherSkipReason.SessionKeyExpired;
        if (amount > sessionKey.cap - sessionKey.spent) return VoucherSkipReason.SessionKeyCapExceeded;
        return VoucherSkipReason.None;
    }

    /// @dev Counts `amount` against `signer`'s cap when it is a session key of `payer` (checked by
    /// {_voucherSignerCheck}, so the sum stays within the 96-bit cap).
    function _spendSessionKey(address payer, address signer, uint256 amount) internal {
        if (signer == payer) return;
        SessionKey storage sessionKey = _sessionKeys[payer][signer];
        sessionKey.spent += uint96(amount);
    }
}
