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
///      reads (at most `MAX_CHUNKS` per input); positions are row-major flat indices and
///      come from the `...Position` helpers of `OperatorReplay`. Every loop is bounded by
///      `MAX_CHUNKS` or by `OperatorReplay.MAX_REDUCE` (128).
contract OneStepReplay {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version.
    string public constant version = "0.1.0";

    /// @notice Most chunks one input may open (a reduction reads at most 128 elements).
    uint256 public constant MAX_CHUNKS = 128;

    ////////////////////////////////////////////////////////////////
    //                           TYPES                            //
    ////////////////////////////////////////////////////////////////

    /// @notice One input of the disputed op, opened in the agreed pre-state.
    /// @param slot The input's slot in the pre-state memory.
    /// @param chunks The chunks of it that the element reads (any order, no duplicates
    ///        needed), each proven against `slot.root` with the input's shape.
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

    /// @notice An input opens more than `MAX_CHUNKS` chunks.
    /// @param input The input.
    /// @param chunks The chunks given.
    error TooManyChunks(uint256 input, uint256 chunks);

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
        uint8 kind = _op.kind;
        uint256 nIn = _arity(kind);
        if (_op.inputs.length != nIn || _op.shapes.length != nIn + 1) revert BadDescriptor(kind);
        if (_inputs.length != nIn) revert InputCount(nIn, _inputs.length);
        (bool ok, uint256 outLen) = GavelMerkle.shapeLength(_op.shapes[0]);
        if (!ok) revert BadDescriptor(kind);
        if (_e >= outLen) revert ElementOutOfRange(_e, outLen);
        for (uint256 j = 0; j < nIn; ++j) {
            _verify(_op, j, _preState, _slots, _inputs[j]);
        }
        value_ = _compute(_op, _step, _e, _inputs);
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

    /// @dev Checks input `_j`'s slot and chunks.
    function _verify(OpDescriptor calldata _op, uint256 _j, bytes32 _preState, uint32 _slots, InputOpening calldata _in)
        internal
        pure
    {
        GavelMerkle.SlotProof calldata s = _in.slot;
        if (s.slot != _op.inputs[_j] || s.count != _slots || !GavelMerkle.verifySlot(s, _preState)) revert BadSlot(_j);
        uint256 n = _in.chunks.length;
        if (n > MAX_CHUNKS) revert TooManyChunks(_j, n);
        bytes32 shape = keccak256(abi.encode(_op.shapes[1 + _j]));
        for (uint256 c = 0; c < n; ++c) {
            GavelMerkle.ChunkProof calldata p = _in.chunks[c];
            if (keccak256(abi.encode(p.shape)) != shape || !GavelMerkle.verifyChunk(p, s.root)) {
                revert BadChunk(_j, p.chunk);
            }
        }
    }

    /// @dev Element `_pos` of input `_j` from its opened chunks.
    function _read(InputOpening[] calldata _inputs, uint256 _j, uint256 _pos) internal pure returns (int32 v_) {
        GavelMerkle.ChunkProof[] calldata chunks = _inputs[_j].chunks;
        uint256 want = _pos / GavelMerkle.CHUNK_ELEMENTS;
        for (uint256 c = 0; c < chunks.length; ++c) {
            if (chunks[c].chunk == want) {
                return GavelMerkle.elementAt(chunks[c].data, _pos % GavelMerkle.CHUNK_ELEMENTS);
            }
        }
        revert MissingElement(_j, _pos);
    }

    /// @dev Dimension `_i` of shape `_s` (1 when absent).
    function _dim(uint32[] calldata _s, uint256 _i) internal pure returns (uint256 d_) {
        d_ = _i < _s.length ? _s[_i] : 1;
    }

    /// @dev The operator's output element.
    function _compute(OpDescriptor calldata _op, uint64 _step, uint256 _e, InputOpening[] calldata _in)
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
    function _gather(OpDescriptor calldata _op, uint64 _step, uint256 _e, InputOpening[] calldata _in)
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
    function _matMul(OpDescriptor calldata _op, uint256 _e, InputOpening[] calldata _in)
        internal
        pure
        returns (int32 v_)
    {
        MatMulAt memory at = _matMulAt(_op, _e);
        uint256 len = at.hi - at.lo;
        int32[] memory x = new int32[](len);
        int32[] memory y = new int32[](len);
        for (uint256 i = 0; i < len; ++i) {
            uint256 d = at.lo + i;
            x[i] = _read(_in, 0, OperatorReplay.matMulLhsPosition(_op.transA, at.row, d, at.m, at.k));
            y[i] = _read(_in, 1, OperatorReplay.matMulRhsPosition(_op.transB, d, at.col, at.k, at.n));
        }
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
    function _sumRows(OpDescriptor calldata _op, uint256 _e, InputOpening[] calldata _in)
        internal
        pure
        returns (int32 v_)
    {
        (uint256 rows, uint256 width) = _rowsAndWidth(_op.shapes[1]);
        if (rows > OperatorReplay.MAX_REDUCE) revert BadDescriptor(_op.kind);
        int32[] memory column = new int32[](rows);
        for (uint256 r = 0; r < rows; ++r) {
            column[r] = _read(_in, 0, OperatorReplay.sumRowsPosition(r, _e, width));
        }
        v_ = OperatorReplay.sumRows(column);
    }

    /// @dev `R` and the product of the other dimensions.
    function _rowsAndWidth(uint32[] calldata _a) internal pure returns (uint256 rows_, uint256 width_) {
        (, uint256 len) = GavelMerkle.shapeLength(_a);
        rows_ = _a[0];
        width_ = len / rows_;
    }

    /// @dev `softmax`, `softmax_xent_grad`, `xent_loss`, `argmax`: rows of `[R, N]`.
    function _rowWise(OpDescriptor calldata _op, uint256 _e, InputOpening[] calldata _in)
        internal
        pure
        returns (int32 v_)
    {
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
    function _row(InputOpening[] calldata _in, uint256 _j, uint256 _start, uint256 _n)
        internal
        pure
        returns (int32[] memory row_)
    {
        row_ = new int32[](_n);
        for (uint256 i = 0; i < _n; ++i) {
            row_[i] = _read(_in, _j, _start + i);
        }
    }
}
