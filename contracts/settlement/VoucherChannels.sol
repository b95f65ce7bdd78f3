// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ChannelFunding} from "./ChannelFunding.sol";
import {SessionKeys} from "./SessionKeys.sol";

/// @title VoucherChannels
/// @notice Payment channels from a payer to a node, paid by EIP-712 vouchers.
/// @dev A voucher `Voucher(address payer,address node,uint256 cumulativeAmount)` under the domain
/// ("Tributary", "1", chainId, this contract) promises the node `cumulativeAmount` in total over the
/// (payer, node) channel. Redeeming pays `cumulativeAmount - redeemed` and records the new total, so
/// only the latest voucher matters and none pays twice; a stale voucher pays nothing. The chain id and
/// verifying contract in the domain stop replay across chains and deployments; payer and node in the
/// struct stop replay across channels. The money comes from the channel's funds, then the payer's
/// escrow (see {ChannelFunding}).
abstract contract VoucherChannels is EIP712, ChannelFunding, SessionKeys {
    /// @notice A voucher as a node submits it. The signer (payer or session key) is recovered from the
    /// signature, which is in EIP-2098 compact form (r, yParityAndS) to keep calldata small.
    struct SignedVoucher {
        address payer;
        uint256 cumulativeAmount;
        bytes32 r;
        bytes32 yParityAndS;
    }

    /// @notice EIP-712 type hash of a voucher:
    /// keccak256("Voucher(address payer,address node,uint256 cumulativeAmount)"), spelled out because
    /// inline assembly only reads literal constants (a test checks the two agree).
    bytes32 public constant VOUCHER_TYPEHASH = 0x5e17a625d881ed23b97d1a548ef79b588b971c286d73ddeba96f15a3c100c603;

    /// @notice The EIP-712 digest a payer or session key signs for a voucher.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @param cumulativeAmount Total the voucher promises over the channel.
    /// @return The digest.
    function voucherDigest(address payer, address node, uint256 cumulativeAmount) external view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(_domainSeparatorV4(), _voucherStructHash(payer, node, cumulativeAmount));
    }

    /// @dev Redeems `vouchers` for `node`, drawing channel funds, then escrow; returns the total paid.
    /// Reverts on a bad signature, an unauthorized/expired/over-cap session key or a short escrow.
    /// No per-voucher event: the batch event and the transaction's calldata carry the details.
    function _redeemVouchers(address node, SignedVoucher[] calldata vouchers) internal returns (uint256 total) {
        bytes32 domainSeparator = _domainSeparatorV4();
        uint256 count = vouchers.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 amount = _redeemVoucher(domainSeparator, node, vouchers[i]);
            // Each amount was just taken from an escrow balance, so the sum is bounded by the token supply.
            unchecked {
                total += amount;
            }
        }
    }

    /// @dev Redeems one voucher: returns what it pays (zero if stale) after taking it from channel and escrow.
    function _redeemVoucher(bytes32 domainSeparator, address node, SignedVoucher calldata voucher)
        private
        returns (uint256 amount)
    {
        address payer = voucher.payer;
        uint256 cumulativeAmount = voucher.cumulativeAmount;
        Channel storage channel = _channelOf(payer, node);
        if (cumulativeAmount <= channel.redeemed) return 0;

        bytes32 digest =
            MessageHashUtils.toTypedDataHash(domainSeparator, _voucherStructHash(payer, node, cumulativeAmount));
        _requireVoucherSigner(payer, ECDSA.recover(digest, voucher.r, voucher.yParityAndS), cumulativeAmount);

        amount = _redeemOnChannel(channel, payer, cumulativeAmount);
    }

    /// @dev The EIP-712 struct hash, hashed in scratch memory past the free pointer so a batch of many
    /// vouchers does not grow memory (abi.encode would allocate 160 bytes per voucher).
    function _voucherStructHash(address payer, address node, uint256 cumulativeAmount)
        private
        pure
        returns (bytes32 structHash)
    {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, VOUCHER_TYPEHASH)
            mstore(add(ptr, 0x20), payer)
            mstore(add(ptr, 0x40), node)
            mstore(add(ptr, 0x60), cumulativeAmount)
            structHash := keccak256(ptr, 0x80)
        }
    }
}
