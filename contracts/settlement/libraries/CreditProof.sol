// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title CreditProof
/// @notice The contributor credit leaf and its Merkle proof, as OpenZeppelin's StandardMerkleTree for
/// ["address","uint256"] builds them, computed without allocating memory.
/// @dev Gives the same results as `keccak256(bytes.concat(keccak256(abi.encode(account, amount))))` and
/// `MerkleProof.processProofCalldata` (sorted-pair keccak256, `Hashes.commutativeKeccak256`); fuzz tests in
/// `test/contracts/settlement/CreditProof.t.sol` compare the two. A claim walks up to ~20 proof levels, and
/// the branch-free assembly loop costs about half of the generic library's per level, which is what keeps
/// a first claim in a 10,000-contributor tree under 80k gas.
library CreditProof {
    /// @dev The StandardMerkleTree leaf of (account, amount), hashed in the scratch space.
    function leaf(address account, uint256 amount) internal pure returns (bytes32 hash) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, amount)
            mstore(0x00, keccak256(0x00, 0x40))
            hash := keccak256(0x00, 0x20)
        }
    }

    /// @dev The root reached from `leafHash` by hashing each sibling of `proof` in sorted order.
    /// The ABI decoder has already checked that `proof` lies within the calldata.
    function processProof(bytes32[] calldata proof, bytes32 leafHash) internal pure returns (bytes32 root) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            root := leafHash
            let end := add(proof.offset, shl(5, proof.length))
            for { let p := proof.offset } lt(p, end) { p := add(p, 0x20) } {
                let sibling := calldataload(p)
                // The smaller word goes first: when root > sibling, root is stored at 0x20 and sibling at 0x00.
                let rootAt := shl(5, gt(root, sibling))
                mstore(rootAt, root)
                mstore(xor(rootAt, 0x20), sibling)
                root := keccak256(0x00, 0x40)
            }
        }
    }
}
