// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FixedPoint} from "./FixedPoint.sol";
import {ChunkOutOfRange, EmptyShape, IndexOutOfRange, LengthMismatch, RowLengthOutOfRange} from "./ReplayErrors.sol";

/// @title OperatorReplay
/// @notice Recomputes one output element (a row for the row-wise operators) of each of the
///         16 executor operators from the values of the input elements it reads, with the
///         integer semantics of docs/numerics.md (the Rust statement is `execute_op` in
///         executor/src/cpu.rs). The last step of a dispute opens those input elements
///         against the agreed pre-state and calls these functions; the `...Position`
///         helpers say which input elements an output element reads.
/// @dev Pure, no storage, loops bounded by `MAX_REDUCE`. Positions are row-major flat
///      indices into a slot, outermost dimension first. Values are raw `int32` (Q16.16,
///      except `gather` indices and `argmax` results, which are plain integers).
library OperatorReplay {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the operator replay.
    string internal constant version = "1.0.0";

    /// @notice The longest row, column or reduction chunk one output element reads.
    uint256 internal constant MAX_REDUCE = FixedPoint.MAX_REDUCE;

    ////////////////////////////////////////////////////////////////
    //                   ELEMENT-WISE OPERATORS                   //
    ////////////////////////////////////////////////////////////////

    /// @notice `add(a, b)`: one element, `add_sat(a, b)`.
    /// @param _a Element `e` of `a`.
    /// @param _b Element `e` of `b`.
    /// @return out_ Element `e` of the output.
    function add(int32 _a, int32 _b) internal pure returns (int32 out_) {
        out_ = FixedPoint.addSat(_a, _b);
    }

    /// @notice `sub(a, b)`: one element, `sub_sat(a, b)`.
    /// @param _a Element `e` of `a`.
    /// @param _b Element `e` of `b`.
    /// @return out_ Element `e` of the output.
    function sub(int32 _a, int32 _b) internal pure returns (int32 out_) {
        out_ = FixedPoint.subSat(_a, _b);
    }

    /// @notice `mul(a, b)`: one element, `fx_mul(a, b)`.
    /// @param _a Element `e` of `a`.
    /// @param _b Element `e` of `b`.
    /// @return out_ Element `e` of the output.
    function mul(int32 _a, int32 _b) internal pure returns (int32 out_) {
        out_ = FixedPoint.fxMul(_a, _b);
    }

    /// @notice `add_bias(a [R, N], bias [N])`: one element, `add_sat(a[r, n], bias[n])`.
    /// @param _a Element `e = r * N + n` of `a`.
    /// @param _bias Element `n` of `bias` (see `addBiasPosition`).
    /// @return out_ Element `e` of the output.
    function addBias(int32 _a, int32 _bias) internal pure returns (int32 out_) {
        out_ = FixedPoint.addSat(_a, _bias);
    }

    /// @notice `scale(a, factor)`: one element, `fx_mul(a, factor)`.
    /// @param _a Element `e` of `a`.
    /// @param _factor The operator's Q16.16 factor.
    /// @return out_ Element `e` of the output.
    function scale(int32 _a, int32 _factor) internal pure returns (int32 out_) {
        out_ = FixedPoint.fxMul(_a, _factor);
    }

    /// @notice `relu(a)`: one element, `max(a, 0)`.
    /// @param _a Element `e` of `a`.
    /// @return out_ Element `e` of the output.
    function relu(int32 _a) internal pure returns (int32 out_) {
        out_ = _a > 0 ? _a : int32(0);
    }

    /// @notice `relu_grad(pre, grad)`: one element, `grad` where `pre > 0`, else 0.
    /// @param _pre Element `e` of `pre`.
    /// @param _grad Element `e` of `grad`.
    /// @return out_ Element `e` of the output.
    function reluGrad(int32 _pre, int32 _grad) internal pure returns (int32 out_) {
        out_ = _pre > 0 ? _grad : int32(0);
    }

    /// @notice `sgd(param, grad, lr)`: one element, `sub_sat(param, fx_mul(lr, grad))`.
    /// @param _param Element `e` of `param`.
    /// @param _grad Element `e` of `grad`.
    /// @param _lr The operator's Q16.16 learning rate.
    /// @return out_ Element `e` of the output.
    function sgd(int32 _param, int32 _grad, int32 _lr) internal pure returns (int32 out_) {
        out_ = FixedPoint.subSat(_param, FixedPoint.fxMul(_lr, _grad));
    }

    /// @notice Position in `bias [N]` that element `e` of `add_bias`'s output reads.
    /// @param _e The output element's position.
    /// @param _n The row width `N` (positive).
    /// @return pos_ `e mod N`.
    function addBiasPosition(uint256 _e, uint256 _n) internal pure returns (uint256 pos_) {
        if (_n == 0) revert EmptyShape(1, _n);
        pos_ = _e % _n;
    }

    ////////////////////////////////////////////////////////////////
    //                      COPY OPERATORS                        //
    ////////////////////////////////////////////////////////////////

    /// @notice `gather(table [R, C], index [T, B]) -> [B, C]`: the position in `index` that
    ///         output row `b` reads at step `step` (row `step mod T`, column `b`).
    /// @dev Output element `e` is `(b, c) = (e / C, e mod C)`; its value is the `table`
    ///      element at `gatherTablePosition(index[gatherIndexPosition(..)], R, C, c)`.
    /// @param _step The step the operator runs in.
    /// @param _indexRows `T`, the rows of `index` (positive).
    /// @param _batch `B`, the columns of `index` (positive).
    /// @param _b The output row, below `B`.
    /// @return pos_ `(step mod T) * B + b`.
    function gatherIndexPosition(uint64 _step, uint256 _indexRows, uint256 _batch, uint256 _b)
        internal
        pure
        returns (uint256 pos_)
    {
        if (_indexRows == 0 || _batch == 0) revert EmptyShape(_indexRows, _batch);
        if (_b >= _batch) revert IndexOutOfRange(_b, _batch);
        pos_ = (uint256(_step) % _indexRows) * _batch + _b;
    }

    /// @notice `gather`: the table row an index value selects, `rem_euclid(index, R)`.
    /// @param _index The index value (a plain integer, any sign).
    /// @param _tableRows `R`, the rows of `table` (positive).
    /// @return row_ The row, in `[0, R)`.
    function gatherRow(int32 _index, uint256 _tableRows) internal pure returns (uint256 row_) {
        if (_tableRows == 0) revert EmptyShape(_tableRows, 1);
        // forge-lint: disable-next-line(unsafe-typecast) |index| as an unsigned magnitude.
        uint256 rem = uint256(_index < 0 ? -int256(_index) : int256(_index)) % _tableRows;
        row_ = _index >= 0 || rem == 0 ? rem : _tableRows - rem;
    }

    /// @notice `gather`: the position in `table [R, C]` that output element `(b, c)` copies.
    /// @param _index The value of `index` at `gatherIndexPosition(step, T, B, b)`.
    /// @param _tableRows `R` (positive).
    /// @param _cols `C` (positive).
    /// @param _c The output column, below `C`.
    /// @return pos_ `rem_euclid(index, R) * C + c`; the output element equals that value.
    function gatherTablePosition(int32 _index, uint256 _tableRows, uint256 _cols, uint256 _c)
        internal
        pure
        returns (uint256 pos_)
    {
        if (_tableRows == 0 || _cols == 0) revert EmptyShape(_tableRows, _cols);
        if (_c >= _cols) revert IndexOutOfRange(_c, _cols);
        pos_ = gatherRow(_index, _tableRows) * _cols + _c;
    }

    /// @notice `transpose(a [R, C]) -> [C, R]`: the position in `a` that output element `e`
    ///         copies.
    /// @param _e The output element's position, below `R * C`.
    /// @param _rows `R`, the rows of `a` (positive).
    /// @param _cols `C`, the columns of `a` (positive).
    /// @return pos_ `(e mod R) * C + e / R`; the output element equals that value.
    function transposeSourcePosition(uint256 _e, uint256 _rows, uint256 _cols) internal pure returns (uint256 pos_) {
        if (_rows == 0 || _cols == 0) revert EmptyShape(_rows, _cols);
        if (_e >= _rows * _cols) revert IndexOutOfRange(_e, _rows * _cols);
        pos_ = (_e % _rows) * _cols + _e / _rows;
    }

    ////////////////////////////////////////////////////////////////
    //                         REDUCTIONS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice `mat_mul`: one output element, the rounded dot product of one chunk.
    /// @dev `fx_from_acc(wsum_k mul_wide(a_k, b_k))`: products are exact in `int64` and the
    ///      sum wraps modulo `2^64` (order-independent), then it is rounded and saturated.
    /// @param _a `A[m, lo..hi)`, the chunk of the left operand's row (`1..128` values).
    /// @param _b `B[lo..hi), n]`, the chunk of the right operand's column (as many).
    /// @return out_ Output element `(s, m, n)`.
    function matMul(int32[] memory _a, int32[] memory _b) internal pure returns (int32 out_) {
        uint256 len = _a.length;
        if (len == 0 || len > MAX_REDUCE) revert RowLengthOutOfRange(len, MAX_REDUCE);
        if (_b.length != len) revert LengthMismatch(len, _b.length);
        int64 acc;
        for (uint256 k; k < len; ++k) {
            acc = FixedPoint.wadd(acc, FixedPoint.mulWide(_a[k], _b[k]));
        }
        out_ = FixedPoint.fxFromAcc(acc);
    }

    /// @notice `mat_mul`: the chunk `s` of a reduction of length `K` in chunks of `k_chunk`.
    /// @param _k The reduction length `K` (positive).
    /// @param _kChunk The chunk length, `1..128`.
    /// @param _s The chunk, below `S = ceil(K / k_chunk)`.
    /// @return lo_ The first reduction index of the chunk, `s * k_chunk`.
    /// @return hi_ One past its last, `min(K, (s + 1) * k_chunk)`.
    function matMulChunkBounds(uint256 _k, uint256 _kChunk, uint256 _s)
        internal
        pure
        returns (uint256 lo_, uint256 hi_)
    {
        if (_kChunk == 0 || _kChunk > MAX_REDUCE) {
            revert ChunkOutOfRange(_kChunk, MAX_REDUCE);
        }
        if (_k == 0) revert EmptyShape(_k, _kChunk);
        uint256 chunks = (_k + _kChunk - 1) / _kChunk;
        if (_s >= chunks) revert IndexOutOfRange(_s, chunks);
        lo_ = _s * _kChunk;
        hi_ = lo_ + _kChunk < _k ? lo_ + _kChunk : _k;
    }

    /// @notice `mat_mul`: the coordinates of output element `e` of `[S, M, N]` (or `[M, N]`).
    /// @param _e The output element's position.
    /// @param _m `M` (positive).
    /// @param _n `N` (positive).
    /// @return s_ The chunk `e / (M * N)`.
    /// @return row_ The row `(e / N) mod M`.
    /// @return col_ The column `e mod N`.
    function matMulOutputCoords(uint256 _e, uint256 _m, uint256 _n)
        internal
        pure
        returns (uint256 s_, uint256 row_, uint256 col_)
    {
        if (_m == 0 || _n == 0) revert EmptyShape(_m, _n);
        s_ = _e / (_m * _n);
        row_ = (_e / _n) % _m;
        col_ = _e % _n;
    }

    /// @notice `mat_mul`: the position of `A[row, depth]` in the left operand `a`.
    /// @param _transA Whether `A = a^T` (`a` is `[K, M]`) rather than `a` (`[M, K]`).
    /// @param _row The row of `A`, below `M`.
    /// @param _depth The reduction index, below `K`.
    /// @param _m `M`.
    /// @param _k `K`.
    /// @return pos_ `depth * M + row` if transposed, else `row * K + depth`.
    function matMulLhsPosition(bool _transA, uint256 _row, uint256 _depth, uint256 _m, uint256 _k)
        internal
        pure
        returns (uint256 pos_)
    {
        if (_row >= _m) revert IndexOutOfRange(_row, _m);
        if (_depth >= _k) revert IndexOutOfRange(_depth, _k);
        pos_ = _transA ? _depth * _m + _row : _row * _k + _depth;
    }

    /// @notice `mat_mul`: the position of `B[depth, col]` in the right operand `b`.
    /// @param _transB Whether `B = b^T` (`b` is `[N, K]`) rather than `b` (`[K, N]`).
    /// @param _depth The reduction index, below `K`.
    /// @param _col The column of `B`, below `N`.
    /// @param _k `K`.
    /// @param _n `N`.
    /// @return pos_ `col * K + depth` if transposed, else `depth * N + col`.
    function matMulRhsPosition(bool _transB, uint256 _depth, uint256 _col, uint256 _k, uint256 _n)
        internal
        pure
        returns (uint256 pos_)
    {
        if (_depth >= _k) revert IndexOutOfRange(_depth, _k);
        if (_col >= _n) revert IndexOutOfRange(_col, _n);
        pos_ = _transB ? _col * _k + _depth : _depth * _n + _col;
    }

    /// @notice `sum_rows(a [R, ...]) -> [...]`: one output element, the saturated exact sum
    ///         of a column.
    /// @param _column `a[0, j], ..., a[R - 1, j]` (`1..128` values; see `sumRowsPosition`).
    /// @return out_ Output element `j`, `sat32(sum_r a[r, j])`.
    function sumRows(int32[] memory _column) internal pure returns (int32 out_) {
        uint256 len = _column.length;
        if (len == 0 || len > MAX_REDUCE) revert RowLengthOutOfRange(len, MAX_REDUCE);
        int256 sum;
        for (uint256 r; r < len; ++r) {
            unchecked {
                sum += _column[r]; // |sum| <= 128 * 2^31
            }
        }
        out_ = FixedPoint.sat32(sum);
    }

    /// @notice `sum_rows`: the position of `a[r, j]` in `a` viewed as `[R, W]`.
    /// @param _r The row.
    /// @param _j The output element, below `W`.
    /// @param _width `W`, the product of `a`'s dimensions after the first.
    /// @return pos_ `r * W + j`.
    function sumRowsPosition(uint256 _r, uint256 _j, uint256 _width) internal pure returns (uint256 pos_) {
        if (_j >= _width) revert IndexOutOfRange(_j, _width);
        pos_ = _r * _width + _j;
    }

    ////////////////////////////////////////////////////////////////
    //                    ROW-WISE OPERATORS                      //
    ////////////////////////////////////////////////////////////////

    /// @notice The coordinates of element `e` of a `[R, N]` tensor processed row by row
    ///         (`softmax`, `softmax_xent_grad`; `xent_loss` and `argmax` output `[R]`).
    /// @param _e The element's position.
    /// @param _n The row width `N` (positive).
    /// @return row_ `e / N`; the row's elements are at `row * N .. row * N + N`.
    /// @return col_ `e mod N`.
    function rowCoords(uint256 _e, uint256 _n) internal pure returns (uint256 row_, uint256 col_) {
        if (_n == 0) revert EmptyShape(1, _n);
        row_ = _e / _n;
        col_ = _e % _n;
    }

    /// @notice `softmax(a [R, N])`: element `j` of one row, `p_j`.
    /// @param _row The row of `a` (`1..128` values).
    /// @param _j The element's position in the row.
    /// @return out_ `p_j` (Q16.16).
    function softmax(int32[] memory _row, uint256 _j) internal pure returns (int32 out_) {
        out_ = FixedPoint.softmaxAt(_row, _j);
    }

    /// @notice `softmax(a [R, N])`: a whole output row.
    /// @param _row The row of `a` (`1..128` values).
    /// @return out_ The row's probabilities.
    function softmaxRow(int32[] memory _row) internal pure returns (int32[] memory out_) {
        (out_,) = FixedPoint.softmaxRow(_row);
    }

    /// @notice `softmax_xent_grad(logits, labels, scale)`: element `j` of one row,
    ///         `fx_mul(sub_sat(p_j, y_j), scale)`.
    /// @param _logits The row of `logits` (`1..128` values).
    /// @param _j The element's position in the row.
    /// @param _label `y_j`, the element of `labels` at the same position.
    /// @param _scale The operator's Q16.16 scale.
    /// @return out_ The gradient element.
    function softmaxXentGrad(int32[] memory _logits, uint256 _j, int32 _label, int32 _scale)
        internal
        pure
        returns (int32 out_)
    {
        out_ = FixedPoint.fxMul(FixedPoint.subSat(FixedPoint.softmaxAt(_logits, _j), _label), _scale);
    }

    /// @notice `softmax_xent_grad(logits, labels, scale)`: a whole output row.
    /// @param _logits The row of `logits` (`1..128` values).
    /// @param _labels The row of `labels` (as many values).
    /// @param _scale The operator's Q16.16 scale.
    /// @return out_ The row's gradients.
    function softmaxXentGradRow(int32[] memory _logits, int32[] memory _labels, int32 _scale)
        internal
        pure
        returns (int32[] memory out_)
    {
        if (_labels.length != _logits.length) revert LengthMismatch(_logits.length, _labels.length);
        (out_,) = FixedPoint.softmaxRow(_logits);
        for (uint256 j; j < out_.length; ++j) {
            out_[j] = FixedPoint.fxMul(FixedPoint.subSat(out_[j], _labels[j]), _scale);
        }
    }

    /// @notice `xent_loss(logits [R, N], labels [R, N]) -> [R]`: the cross-entropy of one row.
    /// @param _logits The row of `logits` (`1..128` values).
    /// @param _labels The row of `labels` (as many values).
    /// @return out_ Output element `r` (Q16.16).
    function xentLoss(int32[] memory _logits, int32[] memory _labels) internal pure returns (int32 out_) {
        out_ = FixedPoint.xentRow(_logits, _labels);
    }

    /// @notice `argmax(a [R, N]) -> [R]`: the index of the first largest element of a row.
    /// @param _row The row of `a` (`1..128` values).
    /// @return out_ Output element `r`, a plain integer in `[0, N)`.
    function argmax(int32[] memory _row) internal pure returns (int32 out_) {
        uint256 len = _row.length;
        if (len == 0 || len > MAX_REDUCE) revert RowLengthOutOfRange(len, MAX_REDUCE);
        uint256 best;
        int32 top = _row[0];
        for (uint256 j = 1; j < len; ++j) {
            if (_row[j] > top) {
                top = _row[j];
                best = j;
            }
        }
        // forge-lint: disable-next-line(unsafe-typecast) best < 128.
        out_ = int32(int256(best));
    }
}
