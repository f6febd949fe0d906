// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {GavelMerkle} from "../../src/merkle/GavelMerkle.sol";

/// @title MerkleHarness
/// @notice Exposes `GavelMerkle` with calldata arguments, as a game sees them, so that the
///         tests and the gas figures exercise the same code paths.
contract MerkleHarness {
    /// @notice An element opening (prover `ElementOpening`): state, slot, chunk, element.
    /// @param isOp True if the state is an op-level root `M_{i,j}`, false for `h_i`.
    /// @param checkpoint The state when it is a checkpoint.
    /// @param op The state when it is an op-level root.
    /// @param slot The slot in the state's memory.
    /// @param chunk The chunk in the slot.
    /// @param index The element's flat index in the tensor.
    /// @param value The element.
    struct ElementOpening {
        bool isOp;
        GavelMerkle.CheckpointProof checkpoint;
        GavelMerkle.OpRootProof op;
        GavelMerkle.SlotProof slot;
        GavelMerkle.ChunkProof chunk;
        uint64 index;
        int32 value;
    }

    /// @notice See `GavelMerkle.verifyCheckpoint`.
    function verifyCheckpoint(GavelMerkle.CheckpointProof calldata _proof, bytes32 _anchor)
        external
        pure
        returns (bool valid_)
    {
        valid_ = GavelMerkle.verifyCheckpoint(_proof, _anchor);
    }

    /// @notice See `GavelMerkle.verifyOpRoot`.
    function verifyOpRoot(GavelMerkle.OpRootProof calldata _proof, bytes32 _anchor)
        external
        pure
        returns (bool valid_)
    {
        valid_ = GavelMerkle.verifyOpRoot(_proof, _anchor);
    }

    /// @notice See `GavelMerkle.verifySlot`.
    function verifySlot(GavelMerkle.SlotProof calldata _proof, bytes32 _anchor) external pure returns (bool valid_) {
        valid_ = GavelMerkle.verifySlot(_proof, _anchor);
    }

    /// @notice See `GavelMerkle.verifyChunk`.
    function verifyChunk(GavelMerkle.ChunkProof calldata _proof, bytes32 _anchor) external pure returns (bool valid_) {
        valid_ = GavelMerkle.verifyChunk(_proof, _anchor);
    }

    /// @notice See `GavelMerkle.elementAt`.
    function elementAt(bytes calldata _data, uint256 _i) external pure returns (int32 value_) {
        value_ = GavelMerkle.elementAt(_data, _i);
    }

    /// @notice See `GavelMerkle.chunkLeaf`.
    function chunkLeaf(bytes calldata _data) external pure returns (bytes32 leaf_) {
        leaf_ = GavelMerkle.chunkLeaf(_data);
    }

    /// @notice See `GavelMerkle.slotAnchorWith`.
    function slotAnchorWith(GavelMerkle.SlotProof calldata _proof, bytes32 _slotRoot)
        external
        pure
        returns (bool ok_, bytes32 root_)
    {
        (ok_, root_) = GavelMerkle.slotAnchorWith(_proof, _slotRoot);
    }

    /// @notice Every link of an element opening, as prover `ElementOpening::verify`.
    /// @param _o The opening.
    /// @param _anchor A trace root (checkpoint state) or a step root (op-level state).
    /// @return valid_ True if every link holds.
    function verifyElement(ElementOpening calldata _o, bytes32 _anchor) external pure returns (bool valid_) {
        bytes32 state;
        if (_o.isOp) {
            if (!GavelMerkle.verifyOpRoot(_o.op, _anchor)) return false;
            state = _o.op.root;
        } else {
            if (!GavelMerkle.verifyCheckpoint(_o.checkpoint, _anchor)) return false;
            state = _o.checkpoint.root;
        }
        if (!GavelMerkle.verifySlot(_o.slot, state)) return false;
        if (!GavelMerkle.verifyChunk(_o.chunk, _o.slot.root)) return false;
        if (_o.index / GavelMerkle.CHUNK_ELEMENTS != _o.chunk.chunk) return false;
        (, uint256 len) = GavelMerkle.shapeLength(_o.chunk.shape);
        if (_o.index >= len) return false;
        valid_ = GavelMerkle.elementAt(_o.chunk.data, _o.index % GavelMerkle.CHUNK_ELEMENTS) == _o.value;
    }
}
