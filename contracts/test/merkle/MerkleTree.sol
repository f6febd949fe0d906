// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";

/// @title MerkleTree
/// @notice Test-side tree builder: roots and paths of padded trees held in memory, the
///         same construction as prover/src/merkle.rs (`root`, `levels`, `path`). The game
///         suites build honest and lying traces with it.
library MerkleTree {
    /// @notice The root of the tree over `_leaves` (zero word for none).
    /// @param _leaves The leaves.
    /// @return root_ The root.
    function root(bytes32[] memory _leaves) internal pure returns (bytes32 root_) {
        uint256 n = _leaves.length;
        if (n == 0) return bytes32(0);
        bytes32[] memory level = _leaves;
        bytes32 pad;
        while (n > 1) {
            uint256 m = (n + 1) / 2;
            bytes32[] memory next = new bytes32[](m);
            for (uint256 i = 0; i < m; ++i) {
                bytes32 r = 2 * i + 1 < n ? level[2 * i + 1] : pad;
                next[i] = GavelMerkle.node(level[2 * i], r);
            }
            pad = GavelMerkle.node(pad, pad);
            level = next;
            n = m;
        }
        root_ = level[0];
    }

    /// @notice The siblings of leaf `_index`, bottom up.
    /// @param _leaves The leaves.
    /// @param _index The leaf.
    /// @return path_ `depth(n)` siblings.
    function path(bytes32[] memory _leaves, uint256 _index) internal pure returns (bytes32[] memory path_) {
        uint256 n = _leaves.length;
        path_ = new bytes32[](GavelMerkle.depth(n));
        bytes32[] memory level = _leaves;
        bytes32 pad;
        uint256 idx = _index;
        for (uint256 h = 0; h < path_.length; ++h) {
            uint256 sib = idx ^ 1;
            path_[h] = sib < n ? level[sib] : pad;
            uint256 m = (n + 1) / 2;
            bytes32[] memory next = new bytes32[](m);
            for (uint256 i = 0; i < m; ++i) {
                bytes32 r = 2 * i + 1 < n ? level[2 * i + 1] : pad;
                next[i] = GavelMerkle.node(level[2 * i], r);
            }
            pad = GavelMerkle.node(pad, pad);
            level = next;
            n = m;
            idx >>= 1;
        }
    }

    /// @notice The root of a tensor of `_shape` holding `_values`.
    /// @param _shape The shape (1 to 3 non-zero dimensions).
    /// @param _values The elements, row-major.
    /// @return root_ The tensor root.
    function tensorRoot(uint32[] memory _shape, int32[] memory _values) internal pure returns (bytes32 root_) {
        root_ = wrapTensorMemory(_shape, root(chunkLeaves(_values)));
    }

    /// @notice The chunk leaves of a tensor.
    /// @param _values The elements.
    /// @return leaves_ One leaf per 512 elements (the last chunk may be shorter).
    function chunkLeaves(int32[] memory _values) internal pure returns (bytes32[] memory leaves_) {
        uint256 chunks = GavelMerkle.chunkCount(_values.length);
        leaves_ = new bytes32[](chunks);
        for (uint256 c = 0; c < chunks; ++c) {
            leaves_[c] = GavelMerkle.chunkLeafMemory(GavelMerkle.encodeChunk(chunkValues(_values, c)));
        }
    }

    /// @notice The elements of chunk `_chunk`.
    /// @param _values The tensor's elements.
    /// @param _chunk The chunk.
    /// @return out_ Its elements.
    function chunkValues(int32[] memory _values, uint256 _chunk) internal pure returns (int32[] memory out_) {
        uint256 lo = _chunk * GavelMerkle.CHUNK_ELEMENTS;
        uint256 hi = lo + GavelMerkle.CHUNK_ELEMENTS;
        if (hi > _values.length) hi = _values.length;
        out_ = new int32[](hi - lo);
        for (uint256 i = lo; i < hi; ++i) {
            out_[i - lo] = _values[i];
        }
    }

    /// @notice `wrapTensor` for a shape in memory.
    /// @param _shape The shape.
    /// @param _tree The chunk tree root.
    /// @return root_ The tensor root.
    function wrapTensorMemory(uint32[] memory _shape, bytes32 _tree) internal pure returns (bytes32 root_) {
        uint32 d1 = _shape.length > 1 ? _shape[1] : 0;
        uint32 d2 = _shape.length > 2 ? _shape[2] : 0;
        root_ = keccak256(abi.encodePacked(GavelMerkle.TAG_TENSOR, _shape[0], d1, d2, _tree));
    }

    /// @notice The memory root over slot roots.
    /// @param _slots The slot roots.
    /// @return root_ The memory root.
    function memoryRoot(bytes32[] memory _slots) internal pure returns (bytes32 root_) {
        root_ = GavelMerkle.wrapMemory(uint32(_slots.length), root(_slots));
    }

    /// @notice The trace root over checkpoints.
    /// @param _checkpoints `h_0..h_N`.
    /// @return root_ The trace root.
    function traceRoot(bytes32[] memory _checkpoints) internal pure returns (bytes32 root_) {
        root_ = GavelMerkle.wrapTrace(uint64(_checkpoints.length), root(_checkpoints));
    }

    /// @notice The step root over op-level roots.
    /// @param _step The step.
    /// @param _opRoots `M_{i,0..K}`.
    /// @return root_ The step root.
    function stepRoot(uint64 _step, bytes32[] memory _opRoots) internal pure returns (bytes32 root_) {
        root_ = GavelMerkle.wrapStep(_step, uint32(_opRoots.length), root(_opRoots));
    }
}
