// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {GavelMerkle} from "../merkle/GavelMerkle.sol";
import {OperatorReplay} from "../replay/OperatorReplay.sol";
import {OpDescriptor, OpKind} from "./GameTypes.sol";

/// @title OneStepReplay
/// @notice The last step of a dispute for one output element of any operator: opens the
///         input elements that element reads against the agreed pre-state memory root and
///         recomputes it with `OperatorReplay` (docs/contracts.md, "One-element replay").
///         Deployed once, stateless; the game calls it with a static call, and nodes can
///         `eth_call` it to check a replay before they send it.
/// @dev Each input is opened once (its slot in the pre-state) with the chunks the element
///      reads, at most `MAX_REPLAY_CHUNKS` over all inputs (the program rule of
///      docs/program.md, "The replay bound", that keeps every replay under 1.5M gas);
///      positions are row-major flat indices and come from the `...Position` helpers of
///      `OperatorReplay`. Every loop is bounded by `MAX_REPLAY_CHUNKS` or by
///      `OperatorReplay.MAX_REDUCE` (128).
contract OneStepReplay {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version.
    string public constant version = "0.2.0";

    /// @notice Most chunks one replay may open, over all its inputs: the bound the program
    ///         validator enforces on every operator (`MAX_REPLAY_CHUNKS` in
    ///         executor/src/program.rs), which keeps the worst replay under 1.5M gas.
    uint256 public constant MAX_REPLAY_CHUNKS = 16;

    ////////////////////////////////////////////////////////////////
    //                           TYPES                            //
    ////////////////////////////////////////////////////////////////

    /// @notice One input of the disputed op, opened in the agreed pre-state.
    /// @param slot The input's slot in the pre-state memory.
    /// @param chunks The chunks of it that the element reads, each proven against
    ///        `slot.root` with the input's shape: any order (ascending is cheapest to read),
    ///        and every one counts towards `MAX_REPLAY_CHUNKS`, so no duplicates.
    struct InputOpening {
        GavelMerkle.SlotProof slot;
        GavelMerkle.ChunkProof[] chunks;
    }

    ////////////////////////////////////////////////////////////////
    //                           ERRORS                           //
    ////////////////////////////////////////////////////////////////

    /// @notice The descriptor's inputs or shapes do not fit its operator.
    /// @param kind The operator.
    error BadDescriptor(uint8 kind);

    /// @notice Not one opening per input.
    /// @param expected Inputs of the operator.
    /// @param actual Openings given.
    error InputCount(uint256 expected, uint256 actual);

    /// @notice The openings hold more than `MAX_REPLAY_CHUNKS` chunks in total.
    /// @param chunks The chunks given, over all inputs.
    /// @param max `MAX_REPLAY_CHUNKS`.
    error TooManyChunks(uint256 chunks, uint256 max);

    /// @notice An input's slot proof is not the descriptor's slot in the pre-state.
    /// @param input The input.
    error BadSlot(uint256 input);

    /// @notice An input's chunk does not open against its slot root with its shape.
    /// @param input The input.
    /// @param chunk The chunk index.
    error BadChunk(uint256 input, uint64 chunk);

    /// @notice A position the element reads is in no opened chunk.
    /// @param input The input.
    /// @param position The position.
    error MissingElement(uint256 input, uint256 position);

    /// @notice The output element is past the output's length.
    /// @param element The element.
    /// @param length The output's length.
    error ElementOutOfRange(uint256 element, uint256 length);

    ////////////////////////////////////////////////////////////////
    //                          EXTERNAL                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Recomputes output element `_e` of op `_op` run in step `_step` from inputs
    ///         opened against the pre-state memory root `_preState`.
    /// @param _op The op's descriptor (already opened against the program by the caller).
    /// @param _step The step the op runs in (`gather` reads index row `step mod T`).
    /// @param _e The flat output position.
    /// @param _preState The agreed memory root before the op.
    /// @param _slots The program's slot count.
    /// @param _inputs One opening per input, in argument order.
    /// @return value_ The output element.
    function replayElement(
        OpDescriptor calldata _op,
        uint64 _step,
        uint256 _e,
        bytes32 _preState,
        uint32 _slots,
        InputOpening[] calldata _inputs
    ) external pure returns (int32 value_) {
        _check(_op, _e, _inputs);
        value_ = _compute(_op, _step, _e, _open(_op, _preState, _slots, _inputs));
    }

    ////////////////////////////////////////////////////////////////
    //                          INTERNAL                          //
    ////////////////////////////////////////////////////////////////

    /// @dev Inputs per operator.
    function _arity(uint8 _kind) internal pure returns (uint256 n_) {
        if (
            _kind == OpKind.SUM_ROWS || _kind == OpKind.SCALE || _kind == OpKind.RELU || _kind == OpKind.TRANSPOSE
                || _kind == OpKind.SOFTMAX || _kind == OpKind.ARGMAX
        ) return 1;
        if (_kind > OpKind.ARGMAX) revert BadDescriptor(_kind);
        return 2;
    }

    /// @dev Checks the descriptor, the element and the number of openings and chunks.
    function _check(OpDescriptor calldata _op, uint256 _e, InputOpening[] calldata _inputs) internal pure {
        uint8 kind = _op.kind;
        uint256 nIn = _arity(kind);
        if (_op.inputs.length != nIn || _op.shapes.length != nIn + 1) revert BadDescriptor(kind);
        if (_inputs.length != nIn) revert InputCount(nIn, _inputs.length);
        uint256 total;
        for (uint256 j = 0; j < nIn; ++j) {
            total += _inputs[j].chunks.length;
        }
        if (total > MAX_REPLAY_CHUNKS) revert TooManyChunks(total, MAX_REPLAY_CHUNKS);
        (bool ok, uint256 outLen) = GavelMerkle.shapeLength(_op.shapes[0]);
        if (!ok) revert BadDescriptor(kind);
        if (_e >= outLen) revert ElementOutOfRange(_e, outLen);
    }

    /// @dev Checks every input's slot and chunks; returns where the chunks are.
    ///      `at_[j][c]` is the `c`-th chunk of input `j` as `index << 64 | calldata offset of
    ///      its bytes`.
    function _open(OpDescriptor calldata _op, bytes32 _preState, uint32 _slots, InputOpening[] calldata _inputs)
        internal
        pure
        returns (uint256[][] memory at_)
    {
        uint256 nIn = _inputs.length;
        at_ = new uint256[][](nIn);
        for (uint256 j = 0; j < nIn; ++j) {
            GavelMerkle.SlotProof calldata s = _inputs[j].slot;
            if (s.slot != _op.inputs[j] || s.count != _slots || !GavelMerkle.verifySlot(s, _preState)) {
                revert BadSlot(j);
            }
            at_[j] = _verify(_op.shapes[1 + j], j, s.root, _inputs[j].chunks);
        }
    }

    /// @dev Checks input `_j`'s chunks against its slot root `_root`; returns where they
    ///      are. The tensor root is `wrapTensor(shape, tree)`: every chunk must fold up to
    ///      the same chunk tree, and that tree is wrapped with the shape once (the checks of
    ///      `GavelMerkle.verifyChunk` on each chunk, with the shape hashed once per input).
    function _verify(uint32[] calldata _shape, uint256 _j, bytes32 _root, GavelMerkle.ChunkProof[] calldata _chunks)
        internal
        pure
        returns (uint256[] memory at_)
    {
        at_ = new uint256[](_chunks.length);
        if (_chunks.length == 0) return at_;
        uint256 len;
        {
            bool ok;
            (ok, len) = GavelMerkle.shapeLength(_shape);
            if (!ok) revert BadChunk(_j, _chunks[0].chunk);
        }
        bytes32 tree;
        for (uint256 c = 0; c < at_.length; ++c) {
            bytes32 t;
            (t, at_[c]) = _chunkTree(_chunks[c], _shape, len, _j);
            if (c == 0) {
                if (GavelMerkle.wrapTensor(_shape, t) != _root) revert BadChunk(_j, _chunks[0].chunk);
                tree = t;
            } else if (t != tree) {
                revert BadChunk(_j, _chunks[c].chunk);
            }
        }
    }

    /// @dev The chunk tree root a chunk proof of input `_j` (of `_len` elements, shape
    ///      `_shape`) folds up to, and the chunk as `index << 64 | offset of its bytes`.
    function _chunkTree(GavelMerkle.ChunkProof calldata _p, uint32[] calldata _shape, uint256 _len, uint256 _j)
        internal
        pure
        returns (bytes32 tree_, uint256 at_)
    {
        uint256 chunk = _p.chunk;
        uint256 chunks = GavelMerkle.chunkCount(_len);
        if (chunk >= chunks || !_sameShape(_p.shape, _shape) || _p.siblings.length != GavelMerkle.depth(chunks)) {
            revert BadChunk(_j, _p.chunk);
        }
        uint256 rest = _len - chunk * GavelMerkle.CHUNK_ELEMENTS;
        bytes calldata data = _p.data;
        if (data.length != 4 * (rest < GavelMerkle.CHUNK_ELEMENTS ? rest : GavelMerkle.CHUNK_ELEMENTS)) {
            revert BadChunk(_j, _p.chunk);
        }
        tree_ = GavelMerkle.foldPath(GavelMerkle.chunkLeaf(data), chunk, _p.siblings);
        uint256 offset;
        assembly ("memory-safe") {
            offset := data.offset
        }
        at_ = (chunk << 64) | offset;
    }

    /// @dev Whether two calldata shapes are equal.
    function _sameShape(uint32[] calldata _a, uint32[] calldata _b) internal pure returns (bool same_) {
        uint256 n = _a.length;
        if (n != _b.length) return false;
        for (uint256 i = 0; i < n; ++i) {
            if (_a[i] != _b[i]) return false;
        }
        return true;
    }

    /// @dev Element `_pos` of input `_j` from its opened chunks.
    function _read(uint256[][] memory _in, uint256 _j, uint256 _pos) internal pure returns (int32 v_) {
        v_ = _strided(_in, _j, _pos, 0, 1)[0];
    }

    /// @dev Elements `_start + i * _stride` of input `_j` for `i < _n`, from its opened
    ///      chunks (`_in[_j]`, as `_open` returns them). The search for a position's chunk
    ///      starts at the chunk of the one before, so reads that walk the chunks in the
    ///      order they were opened cost one comparison each.
    function _strided(uint256[][] memory _in, uint256 _j, uint256 _start, uint256 _stride, uint256 _n)
        internal
        pure
        returns (int32[] memory v_)
    {
        v_ = new int32[](_n);
        uint256[] memory list = _in[_j];
        bool missing;
        uint256 pos = _start;
        assembly ("memory-safe") {
            let n := mload(list)
            let base := add(list, 0x20)
            let out := add(v_, 0x20)
            let c := 0
            let cur := not(0)
            let offset := 0
            for { let i := 0 } lt(i, _n) { i := add(i, 1) } {
                let want := shr(9, pos)
                if iszero(eq(want, cur)) {
                    // Search every opened chunk once, from the cursor on.
                    let found := 0
                    for { let t := 0 } lt(t, n) { t := add(t, 1) } {
                        let w := mload(add(base, shl(5, c)))
                        if eq(shr(64, w), want) {
                            found := 1
                            cur := want
                            offset := and(w, 0xffffffffffffffff)
                            break
                        }
                        c := add(c, 1)
                        if eq(c, n) { c := 0 }
                    }
                    if iszero(found) {
                        missing := 1
                        break
                    }
                }
                // 4 little-endian bytes at (pos mod 512) of the chunk, byte-swapped and
                // sign-extended (GavelMerkle.elementAt).
                let x := shr(224, calldataload(add(offset, shl(2, and(pos, 511)))))
                x := or(or(shl(24, and(x, 0xff)), shl(8, and(x, 0xff00))), or(and(shr(8, x), 0xff00), shr(24, x)))
                mstore(add(out, shl(5, i)), signextend(3, x))
                pos := add(pos, _stride)
            }
        }
        if (missing) revert MissingElement(_j, pos);
    }

    /// @dev Dimension `_i` of shape `_s` (1 when absent).
    function _dim(uint32[] calldata _s, uint256 _i) internal pure returns (uint256 d_) {
        d_ = _i < _s.length ? _s[_i] : 1;
    }

    /// @dev The operator's output element.
    function _compute(OpDescriptor calldata _op, uint64 _step, uint256 _e, uint256[][] memory _in)
        internal
        pure
        returns (int32 v_)
    {
        uint8 k = _op.kind;
        if (k == OpKind.ADD) return OperatorReplay.add(_read(_in, 0, _e), _read(_in, 1, _e));
        if (k == OpKind.SUB) return OperatorReplay.sub(_read(_in, 0, _e), _read(_in, 1, _e));
        if (k == OpKind.MUL) return OperatorReplay.mul(_read(_in, 0, _e), _read(_in, 1, _e));
        if (k == OpKind.SCALE) return OperatorReplay.scale(_read(_in, 0, _e), _op.param);
        if (k == OpKind.RELU) return OperatorReplay.relu(_read(_in, 0, _e));
        if (k == OpKind.RELU_GRAD) return OperatorReplay.reluGrad(_read(_in, 0, _e), _read(_in, 1, _e));
        if (k == OpKind.SGD) return OperatorReplay.sgd(_read(_in, 0, _e), _read(_in, 1, _e), _op.param);
        if (k == OpKind.ADD_BIAS) {
            uint256 n = _dim(_op.shapes[2], 0);
            return OperatorReplay.addBias(_read(_in, 0, _e), _read(_in, 1, OperatorReplay.addBiasPosition(_e, n)));
        }
        if (k == OpKind.TRANSPOSE) {
            uint32[] calldata a = _op.shapes[1];
            return _read(_in, 0, OperatorReplay.transposeSourcePosition(_e, _dim(a, 0), _dim(a, 1)));
        }
        if (k == OpKind.GATHER) return _gather(_op, _step, _e, _in);
        if (k == OpKind.MAT_MUL) return _matMul(_op, _e, _in);
        if (k == OpKind.SUM_ROWS) return _sumRows(_op, _e, _in);
        return _rowWise(_op, _e, _in);
    }

    /// @dev `gather(table [R, C], index [T, B])`.
    function _gather(OpDescriptor calldata _op, uint64 _step, uint256 _e, uint256[][] memory _in)
        internal
        pure
        returns (int32 v_)
    {
        uint256 cols = _dim(_op.shapes[1], 1);
        int32 idx = _read(_in, 1, _gatherIndexPosition(_op.shapes[2], _step, _e / cols));
        v_ = _read(_in, 0, OperatorReplay.gatherTablePosition(idx, _dim(_op.shapes[1], 0), cols, _e % cols));
    }

    /// @dev `gather`: where output row `_b` reads its index.
    function _gatherIndexPosition(uint32[] calldata _index, uint64 _step, uint256 _b)
        internal
        pure
        returns (uint256 pos_)
    {
        pos_ = OperatorReplay.gatherIndexPosition(_step, _dim(_index, 0), _dim(_index, 1), _b);
    }

    /// @dev `mat_mul`'s sizes and the coordinates of one output element.
    struct MatMulAt {
        uint256 m;
        uint256 k;
        uint256 n;
        uint256 row;
        uint256 col;
        uint256 lo;
        uint256 hi;
    }

    /// @dev `mat_mul(a, b)`: the chunked dot product of output element `e`.
    function _matMul(OpDescriptor calldata _op, uint256 _e, uint256[][] memory _in) internal pure returns (int32 v_) {
        MatMulAt memory at = _matMulAt(_op, _e);
        uint256 len = at.hi - at.lo;
        // Along the reduction, `a`'s positions step by 1 (or M for `a^T`) and `b`'s by N
        // (or 1 for `b^T`), from those of the chunk's first index.
        int32[] memory x = _strided(
            _in, 0, OperatorReplay.matMulLhsPosition(_op.transA, at.row, at.lo, at.m, at.k), _op.transA ? at.m : 1, len
        );
        int32[] memory y = _strided(
            _in, 1, OperatorReplay.matMulRhsPosition(_op.transB, at.lo, at.col, at.k, at.n), _op.transB ? 1 : at.n, len
        );
        v_ = OperatorReplay.matMul(x, y);
    }

    /// @dev `A [M, K]` is `a` or `a^T`, `B [K, N]` is `b` or `b^T`; element `e` is
    ///      `(s, row, col)` and reduces over `[lo, hi)`.
    function _matMulAt(OpDescriptor calldata _op, uint256 _e) internal pure returns (MatMulAt memory at_) {
        uint32[] calldata a = _op.shapes[1];
        at_.m = _op.transA ? _dim(a, 1) : _dim(a, 0);
        at_.k = _op.transA ? _dim(a, 0) : _dim(a, 1);
        at_.n = _op.transB ? _dim(_op.shapes[2], 0) : _dim(_op.shapes[2], 1);
        uint256 s;
        (s, at_.row, at_.col) = OperatorReplay.matMulOutputCoords(_e, at_.m, at_.n);
        (at_.lo, at_.hi) = OperatorReplay.matMulChunkBounds(at_.k, _op.kChunk, s);
    }

    /// @dev `sum_rows(a [R, ...])`: column `e`.
    function _sumRows(OpDescriptor calldata _op, uint256 _e, uint256[][] memory _in) internal pure returns (int32 v_) {
        (uint256 rows, uint256 width) = _rowsAndWidth(_op.shapes[1]);
        if (rows > OperatorReplay.MAX_REDUCE) revert BadDescriptor(_op.kind);
        v_ = OperatorReplay.sumRows(_strided(_in, 0, OperatorReplay.sumRowsPosition(0, _e, width), width, rows));
    }

    /// @dev `R` and the product of the other dimensions.
    function _rowsAndWidth(uint32[] calldata _a) internal pure returns (uint256 rows_, uint256 width_) {
        (, uint256 len) = GavelMerkle.shapeLength(_a);
        rows_ = _a[0];
        width_ = len / rows_;
    }

    /// @dev `softmax`, `softmax_xent_grad`, `xent_loss`, `argmax`: rows of `[R, N]`.
    function _rowWise(OpDescriptor calldata _op, uint256 _e, uint256[][] memory _in) internal pure returns (int32 v_) {
        uint8 k = _op.kind;
        uint256 n = _dim(_op.shapes[1], 1);
        if (n == 0 || n > OperatorReplay.MAX_REDUCE) revert BadDescriptor(k);
        // softmax and its gradient: element (r, j) of an [R, N] output; the others: row e.
        (uint256 r, uint256 j) = (k == OpKind.SOFTMAX || k == OpKind.SOFTMAX_XENT_GRAD) ? (_e / n, _e % n) : (_e, 0);
        int32[] memory row = _row(_in, 0, r * n, n);
        if (k == OpKind.SOFTMAX) return OperatorReplay.softmax(row, j);
        if (k == OpKind.ARGMAX) return OperatorReplay.argmax(row);
        if (k == OpKind.SOFTMAX_XENT_GRAD) {
            return OperatorReplay.softmaxXentGrad(row, j, _read(_in, 1, _e), _op.param);
        }
        return OperatorReplay.xentLoss(row, _row(_in, 1, r * n, n));
    }

    /// @dev `_n` consecutive elements of input `_j` from `_start`.
    function _row(uint256[][] memory _in, uint256 _j, uint256 _start, uint256 _n)
        internal
        pure
        returns (int32[] memory row_)
    {
        row_ = _strided(_in, _j, _start, 1, _n);
    }
}
