// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ChannelFunding} from "./ChannelFunding.sol";
import {SessionKeys} from "./SessionKeys.sol";
import {VoucherSkipReason} from "./VoucherSkipReason.sol";

/// @title VoucherChannels
/// @notice Payment channels from a payer to a node for one model, paid by EIP-712 vouchers.
/// @dev A voucher `Voucher(address payer,address node,uint256 modelId,uint64 termsVersion,uint256
/// cumulativeAmount)` under the domain ("Tributary", "1", chainId, this contract) promises the node
/// `cumulativeAmount` in total over the (payer, node, modelId) channel, under version `termsVersion` of the
/// model's terms. Redeeming pays `cumulativeAmount - redeemed` and records the new total, so only the
/// latest voucher matters and none pays twice; a stale voucher pays nothing. The chain id and verifying
/// contract in the domain stop replay across chains and deployments; payer, node and model in the struct
/// stop replay across channels, and the model in the signed struct is what makes the revenue go to the
/// model the payer paid for (the node cannot book it to another). The money comes from the channel's funds,
/// then the payer's escrow (see {ChannelFunding}). A voucher that cannot be redeemed is skipped with a
/// {VoucherSkipReason}, never reverting the batch it is in.
abstract contract VoucherChannels is EIP712, ChannelFunding, SessionKeys {
    /// @notice A voucher as a node submits it. The signer (payer or session key) is recovered from the
    /// signature, which is in EIP-2098 compact form (r, yParityAndS) to keep calldata small.
    struct SignedVoucher {
        address payer;
        uint256 modelId;
        uint64 termsVersion;
        uint256 cumulativeAmount;
        bytes32 r;
        bytes32 yParityAndS;
    }

    /// @notice EIP-712 type hash of a voucher: keccak256("Voucher(address payer,address node,uint256 modelId,
    /// uint64 termsVersion,uint256 cumulativeAmount)") (no space or line break in the real string), spelled
    /// out because inline assembly only reads literal constants (a test checks the two agree).
    bytes32 public constant VOUCHER_TYPEHASH = 0xeadd6e128aabe10fa5943a6e85d2280a829064a52bbb5167b72c7d4b6029c945;

    /// @notice The EIP-712 digest a payer or session key signs for a voucher.
    /// @param payer The channel's payer.
    /// @param node The channel's node.
    /// @param modelId The channel's model.
    /// @param termsVersion The model's terms version the payment is made under.
    /// @param cumulativeAmount Total the voucher promises over the channel.
    /// @return The digest.
    function voucherDigest(
        address payer,
        address node,
        uint256 modelId,
        uint64 termsVersion,
        uint256 cumulativeAmount
    ) external view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(
            _domainSeparatorV4(), _voucherStructHash(payer, node, modelId, termsVersion, cumulativeAmount)
        );
    }

    /// @dev Redeems one voucher for `node`: returns what it pays after taking it from the channel and the
    /// escrow, or zero and why it was skipped (nothing changes then). No event for a redemption: the batch
    /// event and the transaction's calldata carry the details.
    function _redeemVoucher(bytes32 domainSeparator, address node, SignedVoucher calldata voucher)
        internal
        returns (uint256 amount, VoucherSkipReason reason)
    {
        address payer = voucher.payer;
        uint256 cumulativeAmount = voucher.cumulativeAmount;
        Channel storage channel = _channelOf(payer, node, voucher.modelId);
        Channel memory state = channel;
        if (cumulativeAmount <= state.redeemed) return (0, VoucherSkipReason.Stale);

        bytes32 digest = MessageHashUtils.toTypedDataHash(
            domainSeparator,
            _voucherStructHash(payer, node, voucher.modelId, voucher.termsVersion, cumulativeAmount)
        );
        (address signer, ECDSA.RecoverError recoverError,) = ECDSA.tryRecover(digest, voucher.r, voucher.yParityAndS);
        if (recoverError != ECDSA.RecoverError.NoError) return (0, VoucherSkipReason.InvalidSignature);
        reason = _voucherSignerCheck(payer, signer, cumulativeAmount - state.redeemed);
        if (reason != VoucherSkipReason.None) return (0, reason);
        if (!_canRedeemOnChannel(state, payer, cumulativeAmount)) return (0, VoucherSkipReason.InsufficientFunds);

        amount = _redeemOnChannel(channel, state, payer, cumulativeAmount);
        _spendSessionKey(payer, signer, amount);
    }

    /// @dev The EIP-712 struct hash, hashed in scratch memory past the free pointer so a batch of many
    /// vouchers does not grow memory (abi.encode would allocate 224 bytes per voucher).
    function _voucherStructHash(
        address payer,
        address node,
        uint256 modelId,
        uint64 termsVersion,
        uint256 cumulativeAmount
    ) private pure returns (bytes32 structHash) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, VOUCHER_TYPEHASH)
            mstore(add(ptr, 0x20), payer)
            mstore(add(ptr, 0x40), node)
            mstore(add(ptr, 0x60), modelId)
            mstore(add(ptr, 0x80), termsVersion)
            mstore(add(ptr, 0xa0), cumulativeAmount)
            structHash := keccak256(ptr, 0xc0)
        }
    }
}
