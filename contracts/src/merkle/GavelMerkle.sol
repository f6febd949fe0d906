// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title GavelMerkle
/// @notice The prover's commitment scheme (prover/src/merkle.rs, commit.rs, proof.rs) in
///         Solidity, bit for bit: tensor roots over 512-element chunks of little-endian
///         `i32` bound to the shape, memory roots over slot roots, trace roots over
///         checkpoints `h_0..h_N`, step roots over the op-level roots `M_{i,0..K}`, and
///         the op table of a program (gavel's on-chain addition, docs/contracts.md).
/// @dev Every preimage starts with a one-byte domain tag. An inner node is
///      `keccak256(0x01 ‖ left ‖ right)`; a tree over `n` leaves has depth
///      `ceil(log2 n)` and pads with zero-word leaves, so a path is exactly `depth(n)`
///      siblings, bottom up. Every function is pure and bounded: a path has at most 64
///      siblings, a chunk at most `CHUNK_ELEMENTS` elements. Functions return
///      `(ok, root)` rather than revert, so that a caller can turn a bad proof into its
///      own error (a dispute game reverts the move; a test checks the adversarial vectors).
library GavelMerkle {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Elements per chunk (the leaves of a tensor tree): 2 KiB of little-endian `i32`.
    uint256 internal constant CHUNK_ELEMENTS = 512;

    /// @notice Bytes per chunk.
    uint256 internal constant CHUNK_BYTES = 2048;

    /// @notice Largest tensor rank the commitment encodes.
    uint256 internal constant MAX_RANK = 3;

    /// @notice Largest path length (a tree of `2^64` leaves).
    uint256 internal constant MAX_DEPTH = 64;

    /// @notice Tag of a chunk leaf: `keccak256(0x00 ‖ little-endian elements)`.
    uint8 internal constant TAG_CHUNK = 0x00;

    /// @notice Tag of an inner node.
    uint8 internal constant TAG_NODE = 0x01;

    /// @notice Tag of a tensor root: `keccak256(0x02 ‖ d0 ‖ d1 ‖ d2 ‖ chunk tree root)`.
    uint8 internal constant TAG_TENSOR = 0x02;

    /// @notice Tag of a memory root: `keccak256(0x03 ‖ slot count u32 ‖ slot tree root)`.
    uint8 internal constant TAG_MEMORY = 0x03;

    /// @notice Tag of a trace root: `keccak256(0x04 ‖ checkpoint count u64 ‖ tree root)`.
    uint8 internal constant TAG_TRACE = 0x04;

    /// @notice Tag of a step root: `keccak256(0x05 ‖ step u64 ‖ count u32 ‖ tree root)`.
    uint8 internal constant TAG_STEP = 0x05;

    /// @notice Tag of an op descriptor leaf: `keccak256(0x06 ‖ abi.encode(descriptor))`.
    uint8 internal constant TAG_OP = 0x06;

    /// @notice Tag of a program root:
    ///         `keccak256(0x07 ‖ h_0 ‖ slot count u32 ‖ op count u32 ‖ op tree root)`.
    uint8 internal constant TAG_PROGRAM = 0x07;

    ////////////////////////////////////////////////////////////////
    //                           TYPES                            //
    ////////////////////////////////////////////////////////////////

    /// @notice `h_step` in a trace root (prover `CheckpointProof`).
    /// @param step The step `i` (0 is the initial memory).
    /// @param count Checkpoints in the trace, `N + 1`.
    /// @param root `h_i`.
    /// @param siblings Siblings, bottom up.
    struct CheckpointProof {
        uint64 step;
        uint64 count;
        bytes32 root;
        bytes32[] siblings;
    }

    /// @notice `M_{step,op}` in a step root (prover `OpRootProof`).
    /// @param step The step `i`.
    /// @param op Operators run, `j` in `0..=K`.
    /// @param count Op-level roots of the step, `K + 1`.
    /// @param root `M_{i,j}`.
    /// @param siblings Siblings, bottom up.
    struct OpRootProof {
        uint64 step;
        uint32 op;
        uint32 count;
        bytes32 root;
        bytes32[] siblings;
    }

    /// @notice A slot's root in a memory root (prover `SlotProof`).
    /// @param slot The slot id.
    /// @param count Slots in the memory.
    /// @param root The slot's tensor root.
    /// @param siblings Siblings, bottom up.
    struct SlotProof {
        uint32 slot;
        uint32 count;
        bytes32 root;
        bytes32[] siblings;
    }

    /// @notice One chunk of a tensor in its root (prover `ChunkProof`), with the elements
    ///         as the bytes that are hashed: 4 little-endian bytes per element.
    /// @param shape The tensor's shape, 1 to 3 non-zero dimensions.
    /// @param chunk The chunk index.
    /// @param data The chunk's elements, little-endian `i32` (2048 bytes, fewer in the
    ///        last chunk).
    /// @param siblings Siblings, bottom up.
    struct ChunkProof {
        uint32[] shape;
        uint64 chunk;
        bytes data;
        bytes32[] siblings;
    }

    ////////////////////////////////////////////////////////////////
    //                      TREE PRIMITIVES                       //
    ////////////////////////////////////////////////////////////////

    /// @notice Depth of a tree over `_n` leaves: `ceil(log2 n)`, 0 for one leaf.
    /// @param _n The leaf count.
    /// @return depth_ The path length.
    function depth(uint256 _n) internal pure returns (uint256 depth_) {
        if (_n <= 1) return 0;
        uint256 x = _n - 1;
        while (x != 0) {
            ++depth_;
            x >>= 1;
        }
    }

    /// @notice An inner node: `keccak256(0x01 ‖ _left ‖ _right)`.
    /// @param _left The left child.
    /// @param _right The right child.
    /// @return node_ The parent.
    function node(bytes32 _left, bytes32 _right) internal pure returns (bytes32 node_) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), _left)
            mstore(add(p, 33), _right)
            node_ := keccak256(p, 65)
        }
    }

    /// @notice The root of a subtree of height `_h` whose leaves are all padding.
    /// @param _h The height (0: the zero word).
    /// @return zero_ The padding root.
    function zeroRoot(uint256 _h) internal pure returns (bytes32 zero_) {
        for (uint256 i = 0; i < _h; ++i) {
            zero_ = node(zero_, zero_);
        }
    }

    /// @notice Folds a path: the root that `_leaf` at `_index` hashes up to.
    /// @dev No checks: see `foldChecked`.
    /// @param _leaf The leaf.
    /// @param _index Its index.
    /// @param _siblings Siblings, bottom up.
    /// @return root_ The tree root.
    function foldPath(bytes32 _leaf, uint256 _index, bytes32[] calldata _siblings)
        internal
        pure
        returns (bytes32 root_)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            let acc := _leaf
            let idx := _index
            let off := _siblings.offset
            let end := add(off, shl(5, _siblings.length))
            for {} lt(off, end) { off := add(off, 32) } {
                switch and(idx, 1)
                case 0 {
                    mstore(add(p, 1), acc)
                    mstore(add(p, 33), calldataload(off))
                }
                default {
                    mstore(add(p, 1), calldataload(off))
                    mstore(add(p, 33), acc)
                }
                acc := keccak256(p, 65)
                idx := shr(1, idx)
            }
            root_ := acc
        }
    }

    /// @notice Checks a tree's size, the index and the path length, then folds the path.
    /// @param _leaf The leaf.
    /// @param _index Its index.
    /// @param _count Leaves in the tree (at least 1).
    /// @param _siblings Siblings, bottom up.
    /// @return ok_ False if the tree is empty, the index out of range or the path length
    ///         not `depth(_count)`.
    /// @return root_ The tree root (zero when `ok_` is false).
    function foldChecked(bytes32 _leaf, uint256 _index, uint256 _count, bytes32[] calldata _siblings)
        internal
        pure
        returns (bool ok_, bytes32 root_)
    {
        if (_count == 0 || _index >= _count || _siblings.length != depth(_count)) return (false, bytes32(0));
        return (true, foldPath(_leaf, _index, _siblings));
    }

    ////////////////////////////////////////////////////////////////
    //                       ROOT WRAPPERS                        //
    ////////////////////////////////////////////////////////////////

    /// @notice A memory root from its slot count and slot tree root.
    /// @param _count Slots.
    /// @param _tree The slot tree's root.
    /// @return root_ `keccak256(0x03 ‖ count (u32 BE) ‖ tree)`.
    function wrapMemory(uint32 _count, bytes32 _tree) internal pure returns (bytes32 root_) {
        root_ = keccak256(abi.encodePacked(TAG_MEMORY, _count, _tree));
    }

    /// @notice A trace root from its checkpoint count and checkpoint tree root.
    /// @param _count Checkpoints (`N + 1`).
    /// @param _tree The checkpoint tree's root.
    /// @return root_ `keccak256(0x04 ‖ count (u64 BE) ‖ tree)`.
    function wrapTrace(uint64 _count, bytes32 _tree) internal pure returns (bytes32 root_) {
        root_ = keccak256(abi.encodePacked(TAG_TRACE, _count, _tree));
    }

    /// @notice A step root from its step, op-level root count and tree root.
    /// @param _step The step `i`.
    /// @param _count Op-level roots (`K + 1`).
    /// @param _tree The op-level tree's root.
    /// @return root_ `keccak256(0x05 ‖ step (u64 BE) ‖ count (u32 BE) ‖ tree)`.
    function wrapStep(uint64 _step, uint32 _count, bytes32 _tree) internal pure returns (bytes32 root_) {
        root_ = keccak256(abi.encodePacked(TAG_STEP, _step, _count, _tree));
    }

    /// @notice A program root: the initial memory and the op table (docs/contracts.md).
    /// @param _initialMemory `h_0`.
    /// @param _slots Slots of the program.
    /// @param _ops Operators of the step body (`K`).
    /// @param _tree The op descriptor tree's root.
    /// @return root_ `keccak256(0x07 ‖ h_0 ‖ slots (u32 BE) ‖ ops (u32 BE) ‖ tree)`.
    function wrapProgram(bytes32 _initialMemory, uint32 _slots, uint32 _ops, bytes32 _tree)
        internal
        pure
        returns (bytes32 root_)
    {
        root_ = keccak256(abi.encodePacked(TAG_PROGRAM, _initialMemory, _slots, _ops, _tree));
    }

    /// @notice The number of elements of a shape the commitment can encode.
    /// @param _shape 1 to 3 non-zero dimensions.
    /// @return ok_ False for another rank or a zero dimension.
    /// @return len_ The product of the dimensions.
    function shapeLength(uint32[] calldata _shape) internal pure returns (bool ok_, uint256 len_) {
        uint256 rank = _shape.length;
        if (rank == 0 || rank > MAX_RANK) return (false, 0);
        len_ = 1;
        for (uint256 i = 0; i < rank; ++i) {
            uint256 d = _shape[i];
            if (d == 0) return (false, 0);
            len_ *= d;
        }
        ok_ = true;
    }

    /// @notice A tensor root from its shape and chunk tree root.
    /// @dev The shape must have 1 to 3 dimensions (not checked here).
    /// @param _shape The shape.
    /// @param _tree The chunk tree's root.
    /// @return root_ `keccak256(0x02 ‖ d0 ‖ d1 ‖ d2 ‖ tree)`, dimensions as big-endian
    ///         `u32`, absent ones 0.
    function wrapTensor(uint32[] calldata _shape, bytes32 _tree) internal pure returns (bytes32 root_) {
        uint32 d0 = _shape[0];
        uint32 d1 = _shape.length > 1 ? _shape[1] : 0;
        uint32 d2 = _shape.length > 2 ? _shape[2] : 0;
        root_ = keccak256(abi.encodePacked(TAG_TENSOR, d0, d1, d2, _tree));
    }

    /// @notice The number of chunks of a tensor of `_len` elements.
    /// @param _len Elements.
    /// @return chunks_ `ceil(len / 512)`.
    function chunkCount(uint256 _len) internal pure returns (uint256 chunks_) {
        chunks_ = (_len + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS;
    }

    /// @notice The leaf of a chunk: `keccak256(0x00 ‖ _data)`.
    /// @param _data The chunk's little-endian bytes.
    /// @return leaf_ The leaf.
    function chunkLeaf(bytes calldata _data) internal pure returns (bytes32 leaf_) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            calldatacopy(add(p, 1), _data.offset, _data.length)
            leaf_ := keccak256(p, add(_data.length, 1))
        }
    }

    /// @notice The leaf of a chunk held in memory.
    /// @param _data The chunk's little-endian bytes.
    /// @return leaf_ `keccak256(0x00 ‖ _data)`.
    function chunkLeafMemory(bytes memory _data) internal pure returns (bytes32 leaf_) {
        leaf_ = keccak256(abi.encodePacked(TAG_CHUNK, _data));
    }

    ////////////////////////////////////////////////////////////////
    //                          PROOFS                            //
    ////////////////////////////////////////////////////////////////

    /// @notice The trace root a checkpoint proof hashes up to.
    /// @param _proof The proof.
    /// @return ok_ False if malformed (index, count or path length).
    /// @return root_ The trace root.
    function checkpointAnchor(CheckpointProof calldata _proof) internal pure returns (bool ok_, bytes32 root_) {
        bytes32 tree;
        (ok_, tree) = foldChecked(_proof.root, _proof.step, _proof.count, _proof.siblings);
        if (ok_) root_ = wrapTrace(_proof.count, tree);
    }

    /// @notice Whether a checkpoint proof verifies against a trace root.
    /// @param _proof The proof.
    /// @param _traceRoot The trace root.
    /// @return valid_ True if well formed and it hashes to `_traceRoot`.
    function verifyCheckpoint(CheckpointProof calldata _proof, bytes32 _traceRoot) internal pure returns (bool valid_) {
        (bool ok, bytes32 root) = checkpointAnchor(_proof);
        valid_ = ok && root == _traceRoot;
    }

    /// @notice The step root an op-level root proof hashes up to.
    /// @param _proof The proof.
    /// @return ok_ False if malformed.
    /// @return root_ The step root.
    function opRootAnchor(OpRootProof calldata _proof) internal pure returns (bool ok_, bytes32 root_) {
        bytes32 tree;
        (ok_, tree) = foldChecked(_proof.root, _proof.op, _proof.count, _proof.siblings);
        if (ok_) root_ = wrapStep(_proof.step, _proof.count, tree);
    }

    /// @notice Whether an op-level root proof verifies against a step root.
    /// @param _proof The proof.
    /// @param _stepRoot The step root.
    /// @return valid_ True if well formed and it hashes to `_stepRoot`.
    function verifyOpRoot(OpRootProof calldata _proof, bytes32 _stepRoot) internal pure returns (bool valid_) {
        (bool ok, bytes32 root) = opRootAnchor(_proof);
        valid_ = ok && root == _stepRoot;
    }

    /// @notice The memory root a slot proof hashes up to.
    /// @param _proof The proof.
    /// @return ok_ False if malformed.
    /// @return root_ The memory root.
    function slotAnchor(SlotProof calldata _proof) internal pure returns (bool ok_, bytes32 root_) {
        (ok_, root_) = slotAnchorWith(_proof, _proof.root);
    }

    /// @notice The memory root the slot proof's path gives with another slot root in its
    ///         place: the memory after the slot was written (same siblings).
    /// @param _proof The proof (its `root` is ignored).
    /// @param _slotRoot The slot root to put in its place.
    /// @return ok_ False if malformed.
    /// @return root_ The memory root.
    function slotAnchorWith(SlotProof calldata _proof, bytes32 _slotRoot)
        internal
        pure
        returns (bool ok_, bytes32 root_)
    {
        bytes32 tree;
        (ok_, tree) = foldChecked(_slotRoot, _proof.slot, _proof.count, _proof.siblings);
        if (ok_) root_ = wrapMemory(_proof.count, tree);
    }

    /// @notice Whether a slot proof verifies against a memory root.
    /// @param _proof The proof.
    /// @param _memoryRoot The memory root (`h_i` or `M_{i,j}`).
    /// @return valid_ True if well formed and it hashes to `_memoryRoot`.
    function verifySlot(SlotProof calldata _proof, bytes32 _memoryRoot) internal pure returns (bool valid_) {
        (bool ok, bytes32 root) = slotAnchor(_proof);
        valid_ = ok && root == _memoryRoot;
    }

    /// @notice The tensor root a chunk proof hashes up to, with the shape bound.
    /// @param _proof The proof.
    /// @return ok_ False for a bad shape, a chunk out of range, a chunk of the wrong
    ///         length (512 elements, the remainder in the last chunk) or a bad path.
    /// @return root_ The tensor root.
    function chunkAnchor(ChunkProof calldata _proof) internal pure returns (bool ok_, bytes32 root_) {
        uint256 len;
        (ok_, len) = shapeLength(_proof.shape);
        if (!ok_) return (false, bytes32(0));
        uint256 chunks = chunkCount(len);
        uint256 chunk = _proof.chunk;
        if (chunk >= chunks) return (false, bytes32(0));
        uint256 rest = len - chunk * CHUNK_ELEMENTS;
        uint256 want = rest < CHUNK_ELEMENTS ? rest : CHUNK_ELEMENTS;
        if (_proof.data.length != want * 4) return (false, bytes32(0));
        bytes32 tree;
        (ok_, tree) = foldChecked(chunkLeaf(_proof.data), chunk, chunks, _proof.siblings);
        if (ok_) root_ = wrapTensor(_proof.shape, tree);
    }

    /// @notice Whether a chunk proof verifies against a tensor (slot) root.
    /// @param _proof The proof.
    /// @param _tensorRoot The tensor root.
    /// @return valid_ True if well formed and it hashes to `_tensorRoot`.
    function verifyChunk(ChunkProof calldata _proof, bytes32 _tensorRoot) internal pure returns (bool valid_) {
        (bool ok, bytes32 root) = chunkAnchor(_proof);
        valid_ = ok && root == _tensorRoot;
    }

    ////////////////////////////////////////////////////////////////
    //                         ELEMENTS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice Element `_i` of a chunk: 4 little-endian bytes, sign-extended.
    /// @dev The caller checks `4 * _i + 4 <= _data.length`; past the end reads zeros.
    /// @param _data The chunk's bytes.
    /// @param _i The element's index within the chunk.
    /// @return value_ The element.
    function elementAt(bytes calldata _data, uint256 _i) internal pure returns (int32 value_) {
        uint256 w;
        assembly ("memory-safe") {
            w := shr(224, calldataload(add(_data.offset, shl(2, _i))))
        }
        value_ = _fromLittleEndian(w);
    }

    /// @notice Element `_i` of a chunk held in memory.
    /// @param _data The chunk's bytes.
    /// @param _i The element's index within the chunk (`4 * _i + 4 <= _data.length`).
    /// @return value_ The element.
    function elementAtMemory(bytes memory _data, uint256 _i) internal pure returns (int32 value_) {
        uint256 w;
        assembly ("memory-safe") {
            w := shr(224, mload(add(add(_data, 32), shl(2, _i))))
        }
        value_ = _fromLittleEndian(w);
    }

    /// @notice Encodes elements as a chunk's bytes (4 little-endian bytes each).
    /// @param _values The elements (at most 512 for one chunk).
    /// @return data_ The bytes.
    function encodeChunk(int32[] memory _values) internal pure returns (bytes memory data_) {
        uint256 n = _values.length;
        data_ = new bytes(4 * n);
        for (uint256 i = 0; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) the two's-complement bits.
            uint32 v = uint32(_values[i]);
            // forge-lint: disable-next-line(unsafe-typecast)
            data_[4 * i] = bytes1(uint8(v));
            // forge-lint: disable-next-line(unsafe-typecast)
            data_[4 * i + 1] = bytes1(uint8(v >> 8));
            // forge-lint: disable-next-line(unsafe-typecast)
            data_[4 * i + 2] = bytes1(uint8(v >> 16));
            // forge-lint: disable-next-line(unsafe-typecast)
            data_[4 * i + 3] = bytes1(uint8(v >> 24));
        }
    }

    /// @dev Byte-swaps a 32-bit big-endian read and sign-extends it.
    function _fromLittleEndian(uint256 _w) private pure returns (int32 value_) {
        // forge-lint: disable-next-line(unsafe-typecast) _w < 2^32, so the swap fits 32 bits.
        uint32 le = uint32(((_w & 0xff) << 24) | ((_w & 0xff00) << 8) | ((_w >> 8) & 0xff00) | ((_w >> 24) & 0xff));
        // forge-lint: disable-next-line(unsafe-typecast) reinterpreting the bits sign-extends.
        value_ = int32(le);
    }
}
