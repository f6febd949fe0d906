// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorReplay} from "./OperatorReplay.sol";

/// @title OperatorEvaluator
/// @notice The deployable form of `OperatorReplay`: one external pure function per
///         operator (one output element, or one row for the row-wise operators) and per
///         position helper. The dispute game calls it for its last step, so that the game
///         itself stays well under the contract size limit; nodes can `eth_call` it to
///         check a replay before they play it.
/// @dev Stateless and pure: deploy once and share. Every function forwards to the
///      library of the same name; see `OperatorReplay` and docs/contracts.md for the
///      semantics. Element values are `int32`, so the ABI decoder rejects out-of-range
///      words.
contract OperatorEvaluator {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the evaluator.
    string public constant version = "1.0.0";

    ////////////////////////////////////////////////////////////////
    //                   ELEMENT-WISE OPERATORS                   //
    ////////////////////////////////////////////////////////////////

    /// @notice `add`: one element, `add_sat(a, b)`.
    /// @param _a Element `e` of `a`.
    /// @param _b Element `e` of `b`.
    /// @return out_ Element `e` of the output.
    function add(int32 _a, int32 _b) external pure returns (int32 out_) {
        out_ = OperatorReplay.add(_a, _b);
    }

    /// @notice `sub`: one element, `sub_sat(a, b)`.
    /// @param _a Element `e` of `a`.
    /// @param _b Element `e` of `b`.
    /// @return out_ Element `e` of the output.
    function sub(int32 _a, int32 _b) external pure returns (int32 out_) {
        out_ = OperatorReplay.sub(_a, _b);
    }

    /// @notice `mul`: one element, `fx_mul(a, b)`.
    /// @param _a Element `e` of `a`.
    /// @param _b Element `e` of `b`.
    /// @return out_ Element `e` of the output.
    function mul(int32 _a, int32 _b) external pure returns (int32 out_) {
        out_ = OperatorReplay.mul(_a, _b);
    }

    /// @notice `add_bias`: one element, `add_sat(a[r, n], bias[n])`.
    /// @param _a Element `e` of `a`.
    /// @param _bias Element `addBiasPosition(e, N)` of `bias`.
    /// @return out_ Element `e` of the output.
    function addBias(int32 _a, int32 _bias) external pure returns (int32 out_) {
        out_ = OperatorReplay.addBias(_a, _bias);
    }

    /// @notice `scale`: one element, `fx_mul(a, factor)`.
    /// @param _a Element `e` of `a`.
    /// @param _factor The operator's Q16.16 factor.
    /// @return out_ Element `e` of the output.
    function scale(int32 _a, int32 _factor) external pure returns (int32 out_) {
        out_ = OperatorReplay.scale(_a, _factor);
    }

    /// @notice `relu`: one element, `max(a, 0)`.
    /// @param _a Element `e` of `a`.
    /// @return out_ Element `e` of the output.
    function relu(int32 _a) external pure returns (int32 out_) {
        out_ = OperatorReplay.relu(_a);
    }

    /// @notice `relu_grad`: one element, `grad` where `pre > 0`, else 0.
    /// @param _pre Element `e` of `pre`.
    /// @param _grad Element `e` of `grad`.
    /// @return out_ Element `e` of the output.
    function reluGrad(int32 _pre, int32 _grad) external pure returns (int32 out_) {
        out_ = OperatorReplay.reluGrad(_pre, _grad);
    }

    /// @notice `sgd`: one element, `sub_sat(param, fx_mul(lr, grad))`.
    /// @param _param Element `e` of `param`.
    /// @param _grad Element `e` of `grad`.
    /// @param _lr The operator's Q16.16 learning rate.
    /// @return out_ Element `e` of the output.
    function sgd(int32 _param, int32 _grad, int32 _lr) external pure returns (int32 out_) {
        out_ = OperatorReplay.sgd(_param, _grad, _lr);
    }

    /// @notice `add_bias`: the position in `bias [N]` that output element `e` reads.
    /// @param _e The output element's position.
    /// @param _n The row width `N`.
    /// @return pos_ `e mod N`.
    function addBiasPosition(uint256 _e, uint256 _n) external pure returns (uint256 pos_) {
        pos_ = OperatorReplay.addBiasPosition(_e, _n);
    }

    ////////////////////////////////////////////////////////////////
    //                      COPY OPERATORS                        //
    ////////////////////////////////////////////////////////////////

    /// @notice `gather`: the position in `index [T, B]` that output row `b` reads.
    /// @param _step The step the operator runs in.
    /// @param _indexRows `T`.
    /// @param _batch `B`.
    /// @param _b The output row.
    /// @return pos_ `(step mod T) * B + b`.
    function gatherIndexPosition(uint64 _step, uint256 _indexRows, uint256 _batch, uint256 _b)
        external
        pure
        returns (uint256 pos_)
    {
        pos_ = OperatorReplay.gatherIndexPosition(_step, _indexRows, _batch, _b);
    }

    /// @notice `gather`: the position in `table [R, C]` that output element `(b, c)` copies.
    /// @param _index The index value read at `gatherIndexPosition`.
    /// @param _tableRows `R`.
    /// @param _cols `C`.
    /// @param _c The output column.
    /// @return pos_ `rem_euclid(index, R) * C + c`.
    function gatherTablePosition(int32 _index, uint256 _tableRows, uint256 _cols, uint256 _c)
        external
        pure
        returns (uint256 pos_)
    {
        pos_ = OperatorReplay.gatherTablePosition(_index, _tableRows, _cols, _c);
    }

    /// @notice `transpose(a [R, C])`: the position in `a` that output element `e` copies.
    /// @param _e The output element's position.
    /// @param _rows `R`.
    /// @param _cols `C`.
    /// @return pos_ `(e mod R) * C + e / R`.
    function transposeSourcePosition(uint256 _e, uint256 _rows, uint256 _cols) external pure returns (uint256 pos_) {
        pos_ = OperatorReplay.transposeSourcePosition(_e, _rows, _cols);
    }

    ////////////////////////////////////////////////////////////////
    //                         REDUCTIONS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice `mat_mul`: one output element, the rounded wrapping dot product of a chunk.
    /// @param _a The chunk of the left operand's row (`1..128` values).
    /// @param _b The chunk of the right operand's column (as many).
    /// @return out_ The output element.
    function matMul(int32[] calldata _a, int32[] calldata _b) external pure returns (int32 out_) {
        out_ = OperatorReplay.matMul(_a, _b);
    }

    /// @notice `mat_mul`: the reduction range of chunk `s`.
    /// @param _k The reduction length `K`.
    /// @param _kChunk The chunk length.
    /// @param _s The chunk.
    /// @return lo_ `s * k_chunk`.
    /// @return hi_ `min(K, (s + 1) * k_chunk)`.
    function matMulChunkBounds(uint256 _k, uint256 _kChunk, uint256 _s)
        external
        pure
        returns (uint256 lo_, uint256 hi_)
    {
        (lo_, hi_) = OperatorReplay.matMulChunkBounds(_k, _kChunk, _s);
    }

    /// @notice `mat_mul`: the coordinates of output element `e`.
    /// @param _e The output element's position.
    /// @param _m `M`.
    /// @param _n `N`.
    /// @return s_ The chunk.
    /// @return row_ The row.
    /// @return col_ The column.
    function matMulOutputCoords(uint256 _e, uint256 _m, uint256 _n)
        external
        pure
        returns (uint256 s_, uint256 row_, uint256 col_)
    {
        (s_, row_, col_) = OperatorReplay.matMulOutputCoords(_e, _m, _n);
    }

    /// @notice `mat_mul`: the position of `A[row, depth]` in `a`.
    /// @param _transA Whether `A = a^T`.
    /// @param _row The row of `A`.
    /// @param _depth The reduction index.
    /// @param _m `M`.
    /// @param _k `K`.
    /// @return pos_ The position in `a`.
    function matMulLhsPosition(bool _transA, uint256 _row, uint256 _depth, uint256 _m, uint256 _k)
        external
        pure
        returns (uint256 pos_)
    {
        pos_ = OperatorReplay.matMulLhsPosition(_transA, _row, _depth, _m, _k);
    }

    /// @notice `mat_mul`: the position of `B[depth, col]` in `b`.
    /// @param _transB Whether `B = b^T`.
    /// @param _depth The reduction index.
    /// @param _col The column of `B`.
    /// @param _k `K`.
    /// @param _n `N`.
    /// @return pos_ The position in `b`.
    function matMulRhsPosition(bool _transB, uint256 _depth, uint256 _col, uint256 _k, uint256 _n)
        external
        pure
        returns (uint256 pos_)
    {
        pos_ = OperatorReplay.matMulRhsPosition(_transB, _depth, _col, _k, _n);
    }

    /// @notice `sum_rows`: one output element, the saturated exact sum of a column.
    /// @param _column The column (`1..128` values).
    /// @return out_ The output element.
    function sumRows(int32[] calldata _column) external pure returns (int32 out_) {
        out_ = OperatorReplay.sumRows(_column);
    }

    /// @notice `sum_rows`: the position of `a[r, j]`.
    /// @param _r The row.
    /// @param _j The output element.
    /// @param _width The width `W`.
    /// @return pos_ `r * W + j`.
    function sumRowsPosition(uint256 _r, uint256 _j, uint256 _width) external pure returns (uint256 pos_) {
        pos_ = OperatorReplay.sumRowsPosition(_r, _j, _width);
    }

    ////////////////////////////////////////////////////////////////
    //                    ROW-WISE OPERATORS                      //
    ////////////////////////////////////////////////////////////////

    /// @notice The row and column of element `e` of a `[R, N]` tensor.
    /// @param _e The element's position.
    /// @param _n The row width `N`.
    /// @return row_ `e / N`.
    /// @return col_ `e mod N`.
    function rowCoords(uint256 _e, uint256 _n) external pure returns (uint256 row_, uint256 col_) {
        (row_, col_) = OperatorReplay.rowCoords(_e, _n);
    }

    /// @notice `softmax`: element `j` of one row.
    /// @param _row The row (`1..128` values).
    /// @param _j The element's position in the row.
    /// @return out_ `p_j`.
    function softmax(int32[] calldata _row, uint256 _j) external pure returns (int32 out_) {
        out_ = OperatorReplay.softmax(_row, _j);
    }

    /// @notice `softmax`: a whole output row.
    /// @param _row The row (`1..128` values).
    /// @return out_ The probabilities.
    function softmaxRow(int32[] calldata _row) external pure returns (int32[] memory out_) {
        out_ = OperatorReplay.softmaxRow(_row);
    }

    /// @notice `softmax_xent_grad`: element `j` of one row.
    /// @param _logits The row of logits (`1..128` values).
    /// @param _j The element's position in the row.
    /// @param _label The label at the same position.
    /// @param _scale The operator's Q16.16 scale.
    /// @return out_ `fx_mul(sub_sat(p_j, y_j), scale)`.
    function softmaxXentGrad(int32[] calldata _logits, uint256 _j, int32 _label, int32 _scale)
        external
        pure
        returns (int32 out_)
    {
        out_ = OperatorReplay.softmaxXentGrad(_logits, _j, _label, _scale);
    }

    /// @notice `softmax_xent_grad`: a whole output row.
    /// @param _logits The row of logits (`1..128` values).
    /// @param _labels The row of labels (as many).
    /// @param _scale The operator's Q16.16 scale.
    /// @return out_ The gradients.
    function softmaxXentGradRow(int32[] calldata _logits, int32[] calldata _labels, int32 _scale)
        external
        pure
        returns (int32[] memory out_)
    {
        out_ = OperatorReplay.softmaxXentGradRow(_logits, _labels, _scale);
    }

    /// @notice `xent_loss`: the cross-entropy of one row.
    /// @param _logits The row of logits (`1..128` values).
    /// @param _labels The row of labels (as many).
    /// @return out_ The loss (Q16.16).
    function xentLoss(int32[] calldata _logits, int32[] calldata _labels) external pure returns (int32 out_) {
        out_ = OperatorReplay.xentLoss(_logits, _labels);
    }

    /// @notice `argmax`: the index of the first largest element of a row.
    /// @param _row The row (`1..128` values).
    /// @return out_ The index, a plain integer.
    function argmax(int32[] calldata _row) external pure returns (int32 out_) {
        out_ = OperatorReplay.argmax(_row);
    }
}
