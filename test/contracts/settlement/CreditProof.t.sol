// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {TestBase} from "../utils/TestBase.sol";
import {CreditProof} from "../../../contracts/settlement/libraries/CreditProof.sol";

/// @notice The assembly credit leaf and proof walk agree with OpenZeppelin's plain implementations (the
/// StandardMerkleTree leaf and `MerkleProof.processProofCalldata`) for every input.
contract CreditProofTest is TestBase {
    /// @dev External so the proof reaches the library as calldata, as it does in a claim.
    function walk(bytes32[] calldata proof, bytes32 leaf) external pure returns (bytes32) {
        return CreditProof.processProof(proof, leaf);
    }

    function walkReference(bytes32[] calldata proof, bytes32 leaf) external pure returns (bytes32) {
        return MerkleProof.processProofCalldata(proof, leaf);
    }

    function testFuzz_leafIsTheStandardMerkleTreeLeaf(address account, uint256 amount) public pure {
        bytes32 expected = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        assertEq(CreditProof.leaf(account, amount), expected, "leaf");
    }

    function testFuzz_proofWalkMatchesOpenZeppelin(bytes32[] calldata proof, bytes32 leaf) public view {
        assertEq(this.walk(proof, leaf), this.walkReference(proof, leaf), "root");
    }

    /// @dev Siblings equal to the running hash, and siblings just above and below it, exercise the ordering.
    function testFuzz_orderingAtTies(bytes32 leaf, uint8 depth) public view {
        bytes32[] memory proof = new bytes32[](bound(depth, 1, 24));
        bytes32 running = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            uint256 pick = uint256(running) % 3;
            proof[i] = pick == 0 ? running : pick == 1 ? bytes32(uint256(running) ^ 1) : bytes32(~uint256(running));
            running = MerkleProof.processProof(_prefix(proof, i + 1), leaf);
        }
        assertEq(this.walk(proof, leaf), this.walkReference(proof, leaf), "root");
    }

    function testEmptyProofIsTheLeaf() public view {
        bytes32 leaf = CreditProof.leaf(address(this), 1);
        assertEq(this.walk(new bytes32[](0), leaf), leaf, "root of a one-leaf tree");
    }

    /// @dev A two-level tree built by hand: every leaf's proof reaches the same root.
    function testEveryLeafOfAFourLeafTreeReachesTheRoot() public view {
        bytes32[4] memory leaves;
        for (uint256 i = 0; i < 4; ++i) leaves[i] = CreditProof.leaf(address(uint160(i + 1)), (i + 1) * 1e18);
        bytes32 left = _pair(leaves[0], leaves[1]);
        bytes32 right = _pair(leaves[2], leaves[3]);
        bytes32 root = _pair(left, right);
        for (uint256 i = 0; i < 4; ++i) {
            bytes32[] memory proof = new bytes32[](2);
            proof[0] = leaves[i ^ 1];
            proof[1] = i < 2 ? right : left;
            assertEq(this.walk(proof, leaves[i]), root, "root");
        }
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _prefix(bytes32[] memory proof, uint256 length) private pure returns (bytes32[] memory prefix) {
        prefix = new bytes32[](length);
        for (uint256 i = 0; i < length; ++i) prefix[i] = proof[i];
    }
}
