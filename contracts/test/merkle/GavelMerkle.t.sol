// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";
import {Test, console} from "../lib/Test.sol";
import {MerkleHarness} from "./MerkleHarness.sol";
import {MerkleTree} from "./MerkleTree.sol";

/// @title GavelMerkleTest
/// @notice Unit and fuzz tests of every `GavelMerkle` function and of every way a proof
///         can be malformed, and the gas of each proof type (docs/benchmarks.md).
contract GavelMerkleTest is Test {
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
    //                         PRIMITIVES                         //
    ////////////////////////////////////////////////////////////////

    /// @notice `depth` is `ceil(log2 n)`.
    function test_depth_succeeds() public pure {
        uint256[10] memory ns = [uint256(0), 1, 2, 3, 4, 5, 8, 9, 1 << 20, (1 << 20) + 1];
        uint256[10] memory ds = [uint256(0), 0, 1, 2, 2, 3, 3, 4, 20, 21];
        for (uint256 i = 0; i < ns.length; ++i) {
            assertEq(GavelMerkle.depth(ns[i]), ds[i], "depth");
        }
        assertEq(GavelMerkle.depth(type(uint64).max), 64, "depth of 2^64 - 1");
    }

    /// @notice `depth(n)` is the least `d` with `2^d >= n`.
    function testFuzz_depth_succeeds(uint64 _n) public pure {
        uint256 n = bound(_n, 2, type(uint64).max);
        uint256 d = GavelMerkle.depth(n);
        assertTrue((uint256(1) << d) >= n && (uint256(1) << (d - 1)) < n, "ceil log2");
    }

    /// @notice `node` is the tagged hash and is ordered.
    function testFuzz_node_succeeds(bytes32 _a, bytes32 _b) public pure {
        assertTrue(GavelMerkle.node(_a, _b) == keccak256(abi.encodePacked(uint8(1), _a, _b)), "tagged");
        if (_a != _b) assertTrue(GavelMerkle.node(_a, _b) != GavelMerkle.node(_b, _a), "ordered");
    }

    /// @notice `zeroRoot` doubles up from the zero word.
    function test_zeroRoot_succeeds() public pure {
        assertTrue(GavelMerkle.zeroRoot(0) == bytes32(0), "height 0");
        assertTrue(GavelMerkle.zeroRoot(2) == GavelMerkle.node(GavelMerkle.zeroRoot(1), GavelMerkle.zeroRoot(1)), "2");
    }

    /// @notice Encoding then decoding any element gives it back, little-endian.
    function testFuzz_elementAt_roundTrip_succeeds(int32 _a, int32 _b, int32 _c) public view {
        int32[] memory v = new int32[](3);
        (v[0], v[1], v[2]) = (_a, _b, _c);
        bytes memory data = GavelMerkle.encodeChunk(v);
        assertEq(data.length, 12, "4 bytes each");
        assertEq(uint256(uint8(data[4])), uint256(uint32(_b)) & 0xff, "little-endian low byte first");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(int256(h.elementAt(data, i)), int256(v[i]), "calldata");
            assertEq(int256(GavelMerkle.elementAtMemory(data, i)), int256(v[i]), "memory");
        }
    }

    /// @notice Sign extension of the edge values.
    function test_elementAt_signExtends_succeeds() public view {
        bytes memory data = hex"ffffffff00000080ffffff7f01000000";
        assertEq(int256(h.elementAt(data, 0)), -1, "-1");
        assertEq(int256(h.elementAt(data, 1)), type(int32).min, "min");
        assertEq(int256(h.elementAt(data, 2)), type(int32).max, "max");
        assertEq(int256(h.elementAt(data, 3)), 1, "1");
    }

    /// @notice The calldata and memory chunk leaves agree.
    function testFuzz_chunkLeaf_succeeds(bytes calldata _data) public view {
        assertTrue(h.chunkLeaf(_data) == GavelMerkle.chunkLeafMemory(_data), "leaf");
        assertTrue(h.chunkLeaf(_data) == keccak256(abi.encodePacked(uint8(0), _data)), "tagged");
    }

    ////////////////////////////////////////////////////////////////
    //                      MALFORMED PROOFS                      //
    ////////////////////////////////////////////////////////////////

    /// @notice Every leaf of a random tree proves, and the same path fails at any other
    ///         index, against another count of another depth, or with a sibling changed.
    function testFuzz_verifyCheckpoint_succeeds(uint8 _n, uint8 _i, uint8 _j, bytes32 _salt) public view {
        uint256 n = bound(_n, 1, 40);
        uint256 i = bound(_i, 0, n - 1);
        bytes32[] memory leaves = _leaves(n, _salt);
        bytes32 root = MerkleTree.traceRoot(leaves);
        bytes32[] memory p = MerkleTree.path(leaves, i);
        assertTrue(h.verifyCheckpoint(GavelMerkle.CheckpointProof(uint64(i), uint64(n), leaves[i], p), root), "ok");
        uint256 j = bound(_j, 0, 63);
        if (j != i && leaves[j % n] != leaves[i]) {
            assertTrue(
                !h.verifyCheckpoint(GavelMerkle.CheckpointProof(uint64(j), uint64(n), leaves[i], p), root), "index"
            );
        }
        assertTrue(
            !h.verifyCheckpoint(GavelMerkle.CheckpointProof(uint64(i), uint64(2 * n + 1), leaves[i], p), root), "n"
        );
        if (p.length > 0) {
            p[j % p.length] ^= bytes32(uint256(1));
            assertTrue(!h.verifyCheckpoint(GavelMerkle.CheckpointProof(uint64(i), uint64(n), leaves[i], p), root), "s");
        }
    }

    /// @notice An empty tree, an index past the count and a wrong path length are
    ///         rejected before any hashing.
    function test_verify_malformed_fails() public view {
        bytes32[] memory none = new bytes32[](0);
        bytes32[] memory one = new bytes32[](1);
        assertTrue(!h.verifyCheckpoint(GavelMerkle.CheckpointProof(0, 0, bytes32(0), none), bytes32(0)), "empty");
        bytes32 single = GavelMerkle.wrapTrace(1, bytes32(uint256(7)));
        assertTrue(h.verifyCheckpoint(GavelMerkle.CheckpointProof(0, 1, bytes32(uint256(7)), none), single), "1 leaf");
        assertTrue(!h.verifyCheckpoint(GavelMerkle.CheckpointProof(1, 1, bytes32(uint256(7)), none), single), "idx");
        assertTrue(!h.verifyCheckpoint(GavelMerkle.CheckpointProof(0, 1, bytes32(uint256(7)), one), single), "len");
        assertTrue(!h.verifyOpRoot(GavelMerkle.OpRootProof(0, 2, 2, bytes32(0), one), bytes32(0)), "op idx");
        assertTrue(!h.verifySlot(GavelMerkle.SlotProof(0, 0, bytes32(0), none), bytes32(0)), "slot empty");
        (bool ok,) = h.slotAnchorWith(GavelMerkle.SlotProof(3, 3, bytes32(0), none), bytes32(0));
        assertTrue(!ok, "slot index");
    }

    /// @notice A slot proof's path with another slot root gives the memory with that slot
    ///         replaced, and only that.
    function testFuzz_slotAnchorWith_succeeds(uint8 _n, uint8 _i, bytes32 _salt, bytes32 _new) public view {
        uint256 n = bound(_n, 1, 20);
        uint256 i = bound(_i, 0, n - 1);
        bytes32[] memory slots = _leaves(n, _salt);
        bytes32[] memory p = MerkleTree.path(slots, i);
        GavelMerkle.SlotProof memory sp = GavelMerkle.SlotProof(uint32(i), uint32(n), slots[i], p);
        assertTrue(h.verifySlot(sp, MerkleTree.memoryRoot(slots)), "pre");
        slots[i] = _new;
        (bool ok, bytes32 post) = h.slotAnchorWith(sp, _new);
        assertTrue(ok && post == MerkleTree.memoryRoot(slots), "post");
    }

    /// @notice Chunk proofs: bad ranks, zero dimensions, a chunk past the end, and a chunk
    ///         of the wrong length all fail; a shape of the same length but other
    ///         dimensions fails (the shape is bound).
    function test_verifyChunk_malformed_fails() public view {
        int32[] memory v = new int32[](600);
        for (uint256 i = 0; i < 600; ++i) {
            v[i] = int32(int256(i)) - 300;
        }
        uint32[] memory shape = _shape2(2, 300);
        bytes32 root = MerkleTree.tensorRoot(shape, v);
        bytes32[] memory leaves = MerkleTree.chunkLeaves(v);
        bytes memory c1 = GavelMerkle.encodeChunk(MerkleTree.chunkValues(v, 1));
        bytes32[] memory p1 = MerkleTree.path(leaves, 1);
        assertTrue(h.verifyChunk(GavelMerkle.ChunkProof(shape, 1, c1, p1), root), "valid");
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(_shape2(3, 200), 1, c1, p1), root), "other dims");
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(new uint32[](0), 1, c1, p1), root), "rank 0");
        uint32[] memory four = new uint32[](4);
        (four[0], four[1], four[2], four[3]) = (1, 1, 2, 300);
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(four, 1, c1, p1), root), "rank 4");
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(_shape2(0, 300), 1, c1, p1), root), "zero dim");
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(shape, 2, c1, p1), root), "past the end");
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(shape, 1, bytes.concat(c1, hex"00000000"), p1), root), "long");
        assertTrue(!h.verifyChunk(GavelMerkle.ChunkProof(shape, 0, c1, p1), root), "relabelled");
    }

    ////////////////////////////////////////////////////////////////
    //                            GAS                             //
    ////////////////////////////////////////////////////////////////

    /// @notice Gas of each proof type at realistic sizes (logged; docs/benchmarks.md):
    ///         a checkpoint in a trace of 2^20 + 1, an op-level root among 65, a slot among
    ///         40, a full chunk in a tensor of 2^26 elements (2^17 chunks).
    function test_gas_proofs_succeeds() public view {
        bytes32 leaf = keccak256("leaf");
        bytes32[] memory p = _leaves(21, "trace");
        GavelMerkle.CheckpointProof memory cp = GavelMerkle.CheckpointProof(12_345, (1 << 20) + 1, leaf, p);
        (, bytes32 tr) = _anchorCheckpoint(cp);
        assertTrue(h.verifyCheckpoint(cp, tr), "checkpoint");
        console.log("gas: checkpoint proof, depth 21", vm.lastCallGas().gasTotalUsed);

        GavelMerkle.OpRootProof memory op = GavelMerkle.OpRootProof(9, 17, 65, leaf, _leaves(7, "ops"));
        bytes32 sr = _anchorOp(op);
        assertTrue(h.verifyOpRoot(op, sr), "op");
        console.log("gas: op-level root proof, depth 7", vm.lastCallGas().gasTotalUsed);

        GavelMerkle.SlotProof memory sp = GavelMerkle.SlotProof(5, 40, leaf, _leaves(6, "slots"));
        (, bytes32 mr) = h.slotAnchorWith(sp, leaf);
        assertTrue(h.verifySlot(sp, mr), "slot");
        console.log("gas: slot proof, depth 6", vm.lastCallGas().gasTotalUsed);

        int32[] memory v = new int32[](512);
        for (uint256 i = 0; i < 512; ++i) {
            v[i] = int32(int256(i * 7919)) - 1_000_000;
        }
        uint32[] memory shape = _shape2(8192, 8192);
        GavelMerkle.ChunkProof memory chp =
            GavelMerkle.ChunkProof(shape, 99_999, GavelMerkle.encodeChunk(v), _leaves(17, "chunks"));
        bytes32 tensor = _anchorChunk(chp);
        assertTrue(h.verifyChunk(chp, tensor), "chunk");
        console.log("gas: full chunk proof (2 KiB), depth 17", vm.lastCallGas().gasTotalUsed);
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev `_n` distinct pseudo-random words.
    function _leaves(uint256 _n, bytes32 _salt) internal pure returns (bytes32[] memory l_) {
        l_ = new bytes32[](_n);
        for (uint256 i = 0; i < _n; ++i) {
            l_[i] = keccak256(abi.encode(_salt, i));
        }
    }

    /// @dev A rank-2 shape.
    function _shape2(uint32 _a, uint32 _b) internal pure returns (uint32[] memory s_) {
        s_ = new uint32[](2);
        (s_[0], s_[1]) = (_a, _b);
    }

    /// @dev The trace root of a checkpoint proof, folded in memory.
    function _anchorCheckpoint(GavelMerkle.CheckpointProof memory _p) internal pure returns (bool, bytes32) {
        return (true, GavelMerkle.wrapTrace(_p.count, _foldMem(_p.root, _p.step, _p.siblings)));
    }

    /// @dev The step root of an op-level proof.
    function _anchorOp(GavelMerkle.OpRootProof memory _p) internal pure returns (bytes32) {
        return GavelMerkle.wrapStep(_p.step, _p.count, _foldMem(_p.root, _p.op, _p.siblings));
    }

    /// @dev The tensor root of a chunk proof.
    function _anchorChunk(GavelMerkle.ChunkProof memory _p) internal pure returns (bytes32) {
        bytes32 tree = _foldMem(GavelMerkle.chunkLeafMemory(_p.data), _p.chunk, _p.siblings);
        return MerkleTree.wrapTensorMemory(_p.shape, tree);
    }

    /// @dev A path folded in memory.
    function _foldMem(bytes32 _leaf, uint256 _i, bytes32[] memory _s) internal pure returns (bytes32 acc_) {
        acc_ = _leaf;
        for (uint256 k = 0; k < _s.length; ++k) {
            acc_ = (_i >> k) & 1 == 0 ? GavelMerkle.node(acc_, _s[k]) : GavelMerkle.node(_s[k], acc_);
        }
    }
}
