// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title SessionKeys
/// @notice Keys a payer authorizes on-chain to sign vouchers on its behalf (a browser or server key
/// that never holds funds), each with a spending cap and an expiry.
/// @dev The cap is PER CHANNEL: a session key may sign vouchers whose cumulative amount on any one
/// (payer, node) channel is at most `cap`. Checking the signed cumulative amount against the cap needs
/// no per-key spending counter, so redeeming a session-key voucher costs one extra storage read and no
/// write. A leaked key can therefore commit at most `cap` per node it pays, until it expires or is
/// revoked. Revocation takes effect immediately (a leaked key must be stoppable at once); vouchers the
/// key signed earlier and the node has not yet redeemed become unredeemable, so nodes accepting
/// session-key vouchers should redeem regularly and prefer short expiries.
abstract contract SessionKeys {
    struct SessionKey {
        uint128 cap;
        uint64 expiresAt;
    }

    mapping(address payer => mapping(address key => SessionKey)) private _sessionKeys;

    /// @notice A payer authorized (or re-authorized) a session key.
    /// @param payer The payer.
    /// @param key The session key.
    /// @param cap Highest cumulative amount the key may sign on any one channel.
    /// @param expiresAt Unix time from which the key's vouchers are rejected.
    event SessionKeyAuthorized(address indexed payer, address indexed key, uint256 cap, uint256 expiresAt);
    /// @notice A payer revoked a session key.
    /// @param payer The payer.
    /// @param key The revoked key.
    event SessionKeyRevoked(address indexed payer, address indexed key);

    /// @notice The key is the zero address or the payer itself.
    error SessionKeyInvalid(address key);
    /// @notice A cap of zero, or one that does not fit in 128 bits.
    error SessionKeyCapInvalid(uint256 cap);
    /// @notice The expiry `expiresAt` is not in the future (now: `currentTime`) or does not fit in 64 bits.
    error SessionKeyExpiryInvalid(uint256 expiresAt, uint256 currentTime);
    /// @notice `key` is not a session key of `payer` (never authorized, or revoked).
    error SessionKeyNotFound(address payer, address key);
    /// @notice `signer` is neither `payer` nor one of its session keys.
    error VoucherSignerNotAuthorized(address payer, address signer);
    /// @notice `key` of `payer` expired at `expiresAt`.
    error SessionKeyExpired(address payer, address key, uint256 expiresAt);
    /// @notice `key` of `payer` may sign up to `cap` per channel but signed `cumulativeAmount`.
    error SessionKeyCapExceeded(address payer, address key, uint256 cap, uint256 cumulativeAmount);

    /// @notice Authorizes `key` to sign vouchers for the caller, replacing its previous cap and expiry.
    /// @dev Reverts with {SessionKeyInvalid}, {SessionKeyCapInvalid} or {SessionKeyExpiryInvalid}.
    /// @param key The session key's address.
    /// @param cap Highest cumulative amount the key may sign on any single (payer, node) channel.
    /// @param expiresAt Unix time from which the key's vouchers are rejected.
    function authorizeSessionKey(address key, uint256 cap, uint256 expiresAt) external {
        if (key == address(0) || key == msg.sender) revert SessionKeyInvalid(key);
        if (cap == 0 || cap > type(uint128).max) revert SessionKeyCapInvalid(cap);
        if (expiresAt <= block.timestamp || expiresAt > type(uint64).max) {
            revert SessionKeyExpiryInvalid(expiresAt, block.timestamp);
        }
        // Both values were range-checked above, so the narrowing casts are lossless.
        _sessionKeys[msg.sender][key] = SessionKey(uint128(cap), uint64(expiresAt));
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

    /// @notice The cap and expiry of a payer's session key (both zero if not authorized).
    /// @param payer The payer.
    /// @param key The session key.
    /// @return cap Highest cumulative amount per channel.
    /// @return expiresAt Expiry as Unix time.
    function sessionKeyOf(address payer, address key) external view returns (uint256 cap, uint256 expiresAt) {
        SessionKey memory sessionKey = _sessionKeys[payer][key];
        return (sessionKey.cap, sessionKey.expiresAt);
    }

    /// @dev Reverts unless `signer` may sign a voucher of `cumulativeAmount` on one of `payer`'s channels.
    function _requireVoucherSigner(address payer, address signer, uint256 cumulativeAmount) internal view {
        if (signer == payer) return;
        SessionKey memory sessionKey = _sessionKeys[payer][signer];
        if (sessionKey.expiresAt == 0) revert VoucherSignerNotAuthorized(payer, signer);
        if (block.timestamp >= sessionKey.expiresAt) revert SessionKeyExpired(payer, signer, sessionKey.expiresAt);
        if (cumulativeAmount > sessionKey.cap) {
            revert SessionKeyCapExceeded(payer, signer, sessionKey.cap, cumulativeAmount);
        }
    }
}
