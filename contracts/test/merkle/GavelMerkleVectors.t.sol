// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {Test} from "../lib/Test.sol";
import {MerkleHarness} from "./MerkleHarness.sol";
import {MerkleTree} from "./MerkleTree.sol";

/// @title GavelMerkleVectorsTest
/// @notice Differential tests against every case the prover exported in
///         tests/vectors/merkle/{trees,tensors,proofs}.json: roots recomputed in Solidity
///         equal the prover's, every valid proof verifies and every adversarial one fails.
contract GavelMerkleVectorsTest is Test {
    ////////////////////////////////////////////////////////////////
    //                          SET-UP                            //
    ////////////////////////////////////////////////////////////////

    /// @dev The harness under test.
    MerkleHarness internal h;

    /// @notice Deploys the harness.
    function setUp() public {
        h = new MerkleHarness();
    }

    ////////////////////////////////////////////////////////////////
    //                          TREES                             //
    ////////////////////////////////////////////////////////////////

    /// @notice Padded trees over 1 to 9 leaves: the tree, memory, trace and step roots, and
    ///         a checkpoint, op-level and slot proof of every leaf.
    function test_vectors_trees_succeeds() public view {
        string memory json = vm.readFile("tests/vectors/merkle/trees.json");
        assertEq(vm.parseJsonBytes32(json, ".node_of_zero_words"), GavelMerkle.zeroRoot(1), "node of zero words");
        uint256 n;
        for (; vm.keyExistsJson(json, _key(".cases", n, "")); ++n) {
            string memory k = _key(".cases", n, "");
            bytes32[] memory leaves = vm.parseJsonBytes32Array(json, string.concat(k, ".leaves"));
            assertEq(GavelMerkle.depth(leaves.length), vm.parseJsonUint(json, string.concat(k, ".depth")), "depth");
            bytes32 tree = MerkleTree.root(leaves);
            assertEq(tree, vm.parseJsonBytes32(json, string.concat(k, ".tree_root")), "tree root");
            bytes32 mem = vm.parseJsonBytes32(json, string.concat(k, ".memory_root"));
            bytes32 trace = vm.parseJsonBytes32(json, string.concat(k, ".trace_root"));
            bytes32 step = vm.parseJsonBytes32(json, string.concat(k, ".step_root_of_step_7"));
            assertEq(MerkleTree.memoryRoot(leaves), mem, "memory root");
            assertEq(MerkleTree.traceRoot(leaves), trace, "trace root");
            assertEq(MerkleTree.stepRoot(7, leaves), step, "step root");
            for (uint256 i = 0; i < leaves.length; ++i) {
                bytes32[] memory p = MerkleTree.path(leaves, i);
                uint64 cnt = uint64(leaves.length);
                assertTrue(h.verifyCheckpoint(GavelMerkle.CheckpointProof(uint64(i), cnt, leaves[i], p), trace), "cp");
                assertTrue(
                    h.verifyOpRoot(GavelMerkle.OpRootProof(7, uint32(i), uint32(cnt), leaves[i], p), step), "op root"
                );
                assertTrue(h.verifySlot(GavelMerkle.SlotProof(uint32(i), uint32(cnt), leaves[i], p), mem), "slot");
                // The same path against the wrong anchor or another step fails.
                assertTrue(!h.verifyCheckpoint(GavelMerkle.CheckpointProof(uint64(i), cnt, leaves[i], p), mem), "x");
                assertTrue(
                    !h.verifyOpRoot(GavelMerkle.OpRootProof(8, uint32(i), uint32(cnt), leaves[i], p), step), "step"
                );
            }
        }
        assertEq(n, 9, "tree cases");
    }

    ////////////////////////////////////////////////////////////////
    //                          TENSORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Tensor roots: chunk leaves, chunk tree root and shape-bound root of every
    ///         case, a proof of every chunk, and every element decoded back.
    function test_vectors_tensors_succeeds() public view {
        string memory json = vm.readFile("tests/vectors/merkle/tensors.json");
        uint256 n;
        for (; vm.keyExistsJson(json, _key(".cases", n, "")); ++n) {
            string memory k = _key(".cases", n, "");
            uint32[] memory shape = _u32s(vm.parseJsonUintArray(json, string.concat(k, ".shape")));
            int32[] memory values = _i32s(vm.parseJsonIntArray(json, string.concat(k, ".values")));
            bytes32[] memory leaves = vm.parseJsonBytes32Array(json, string.concat(k, ".chunk_leaves"));
            bytes32[] memory mine = MerkleTree.chunkLeaves(values);
            assertEq(mine.length, leaves.length, "chunk count");
            for (uint256 c = 0; c < leaves.length; ++c) {
                assertEq(mine[c], leaves[c], "chunk leaf");
            }
            bytes32 tree = MerkleTree.root(leaves);
            assertEq(tree, vm.parseJsonBytes32(json, string.concat(k, ".chunk_tree_root")), "chunk tree root");
            bytes32 root = vm.parseJsonBytes32(json, string.concat(k, ".root"));
            assertEq(MerkleTree.tensorRoot(shape, values), root, "tensor root");
            for (uint256 c = 0; c < leaves.length; ++c) {
                bytes memory data = GavelMerkle.encodeChunk(MerkleTree.chunkValues(values, c));
                GavelMerkle.ChunkProof memory p =
                    GavelMerkle.ChunkProof(shape, uint64(c), data, MerkleTree.path(leaves, c));
                assertTrue(h.verifyChunk(p, root), "chunk proof");
                assertEq(h.chunkLeaf(data), leaves[c], "calldata chunk leaf");
                for (uint256 i = 0; i < data.length / 4; ++i) {
                    assertEq(
                        int256(h.elementAt(data, i)), int256(values[c * GavelMerkle.CHUNK_ELEMENTS + i]), "element"
                    );
                }
            }
        }
        assertEq(n, 12, "tensor cases");
    }

    ////////////////////////////////////////////////////////////////
    //                          PROOFS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice Every proof case: valid ones verify, adversarial ones fail.
    function test_vectors_proofs_succeeds() public view {
        string memory json = vm.readFile("tests/vectors/merkle/proofs.json");
        uint256 n;
        uint256 invalid;
        for (; vm.keyExistsJson(json, _key(".cases", n, "")); ++n) {
            string memory k = _key(".cases", n, "");
            string memory kind = vm.parseJsonString(json, string.concat(k, ".kind"));
            bytes32 anchor = vm.parseJsonBytes32(json, string.concat(k, ".anchor"));
            bool valid = vm.parseJsonBool(json, string.concat(k, ".valid"));
            string memory p = string.concat(k, ".proof");
            bool got;
            bytes32 kh = keccak256(bytes(kind));
            if (kh == keccak256("checkpoint")) {
                got = h.verifyCheckpoint(_checkpoint(json, p), anchor);
            } else if (kh == keccak256("op_root")) {
                got = h.verifyOpRoot(_opRoot(json, p), anchor);
            } else if (kh == keccak256("slot")) {
                got = h.verifySlot(_slot(json, p), anchor);
            } else if (kh == keccak256("chunk")) {
                got = h.verifyChunk(_chunk(json, p), anchor);
            } else if (kh == keccak256("element")) {
                got = h.verifyElement(_element(json, p), anchor);
            } else {
                fail(string.concat("unknown proof kind ", kind));
            }
            string memory name = vm.parseJsonString(json, string.concat(k, ".name"));
            assertEq(got, valid, string.concat(k, ": ", name));
            if (!valid) ++invalid;
        }
        assertTrue(n >= 57, "proof cases");
        assertTrue(invalid >= 31, "adversarial cases");
    }

    ////////////////////////////////////////////////////////////////
    //                         DECODING                           //
    ////////////////////////////////////////////////////////////////

    /// @dev `.cases[i]<rest>`.
    function _key(string memory _base, uint256 _i, string memory _rest) internal pure returns (string memory k_) {
        k_ = string.concat(_base, "[", vm.toString(_i), "]", _rest);
    }

    /// @dev A checkpoint proof at `_p`.
    function _checkpoint(string memory _json, string memory _p)
        internal
        pure
        returns (GavelMerkle.CheckpointProof memory proof_)
    {
        proof_.step = uint64(vm.parseJsonUint(_json, string.concat(_p, ".step")));
        proof_.count = uint64(vm.parseJsonUint(_json, string.concat(_p, ".count")));
        proof_.root = vm.parseJsonBytes32(_json, string.concat(_p, ".root"));
        proof_.siblings = vm.parseJsonBytes32Array(_json, string.concat(_p, ".siblings"));
    }

    /// @dev An op-level root proof at `_p`.
    function _opRoot(string memory _json, string memory _p)
        internal
        pure
        returns (GavelMerkle.OpRootProof memory proof_)
    {
        proof_.step = uint64(vm.parseJsonUint(_json, string.concat(_p, ".step")));
        proof_.op = uint32(vm.parseJsonUint(_json, string.concat(_p, ".op")));
        proof_.count = uint32(vm.parseJsonUint(_json, string.concat(_p, ".count")));
        proof_.root = vm.parseJsonBytes32(_json, string.concat(_p, ".root"));
        proof_.siblings = vm.parseJsonBytes32Array(_json, string.concat(_p, ".siblings"));
    }

    /// @dev A slot proof at `_p`.
    function _slot(string memory _json, string memory _p) internal pure returns (GavelMerkle.SlotProof memory proof_) {
        proof_.slot = uint32(vm.parseJsonUint(_json, string.concat(_p, ".slot")));
        proof_.count = uint32(vm.parseJsonUint(_json, string.concat(_p, ".count")));
        proof_.root = vm.parseJsonBytes32(_json, string.concat(_p, ".root"));
        proof_.siblings = vm.parseJsonBytes32Array(_json, string.concat(_p, ".siblings"));
    }

    /// @dev A chunk proof at `_p` (values re-encoded as the hashed bytes).
    function _chunk(string memory _json, string memory _p)
        internal
        pure
        returns (GavelMerkle.ChunkProof memory proof_)
    {
        proof_.shape = _u32s(vm.parseJsonUintArray(_json, string.concat(_p, ".shape")));
        proof_.chunk = uint64(vm.parseJsonUint(_json, string.concat(_p, ".chunk")));
        proof_.data = GavelMerkle.encodeChunk(_i32s(vm.parseJsonIntArray(_json, string.concat(_p, ".values"))));
        proof_.siblings = vm.parseJsonBytes32Array(_json, string.concat(_p, ".siblings"));
    }

    /// @dev An element opening at `_p`.
    function _element(string memory _json, string memory _p)
        internal
        pure
        returns (MerkleHarness.ElementOpening memory o_)
    {
        string memory s = string.concat(_p, ".state");
        o_.isOp = keccak256(bytes(vm.parseJsonString(_json, string.concat(s, ".kind")))) == keccak256("op");
        if (o_.isOp) o_.op = _opRoot(_json, s);
        else o_.checkpoint = _checkpoint(_json, s);
        o_.slot = _slot(_json, string.concat(_p, ".slot"));
        o_.chunk = _chunk(_json, string.concat(_p, ".chunk"));
        o_.index = uint64(vm.parseJsonUint(_json, string.concat(_p, ".index")));
        o_.value = int32(vm.parseJsonInt(_json, string.concat(_p, ".value")));
    }

    /// @dev Narrows JSON integers to `uint32`.
    function _u32s(uint256[] memory _xs) internal pure returns (uint32[] memory ys_) {
        ys_ = new uint32[](_xs.length);
        for (uint256 i = 0; i < _xs.length; ++i) {
            ys_[i] = uint32(_xs[i]);
        }
    }

    /// @dev Narrows JSON integers to `int32`.
    function _i32s(int256[] memory _xs) internal pure returns (int32[] memory ys_) {
        ys_ = new int32[](_xs.length);
        for (uint256 i = 0; i < _xs.length; ++i) {
            ys_[i] = int32(_xs[i]);
        }
    }

    /// @dev bytes32 equality.
    function assertEq(bytes32 _a, bytes32 _b, string memory _e) internal pure {
        vm.assertEq(_a, _b, _e);
    }

    /// @dev bool equality.
    function assertEq(bool _a, bool _b, string memory _e) internal pure {
        vm.assertEq(_a, _b, _e);
    }
}
