// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// The errors of the operator replay (FixedPoint, OperatorReplay, OperatorEvaluator), in
// one place. Every operator is total on its element values (docs/numerics.md), so these
// fire only on malformed calls: wrong lengths, shapes or positions, never on a value.

/// @notice A rounding shift outside `0..62` was requested (`rshr` is defined only there).
/// @param shift The requested shift.
error ShiftOutOfRange(uint256 shift);

/// @notice A row (softmax, cross-entropy, argmax), column (`sum_rows`) or reduction
///         chunk (`mat_mul`) is empty or longer than the reduction bound.
/// @param length The length passed.
/// @param max The bound, `MAX_REDUCE` (128).
error RowLengthOutOfRange(uint256 length, uint256 max);

/// @notice Two operands that must have the same length do not.
/// @param expected The length of the first operand.
/// @param actual The length of the second operand.
error LengthMismatch(uint256 expected, uint256 actual);

/// @notice A position or coordinate is outside the dimension it indexes.
/// @param index The position passed.
/// @param length The size of the dimension (the position must be below it).
error IndexOutOfRange(uint256 index, uint256 length);

/// @notice A tensor dimension that must be positive is zero.
/// @param rows The outer dimension passed.
/// @param cols The inner dimension passed.
error EmptyShape(uint256 rows, uint256 cols);

/// @notice A `mat_mul` reduction chunk length outside `1..MAX_REDUCE`.
/// @param kChunk The chunk length passed.
/// @param max The bound, `MAX_REDUCE` (128).
error ChunkOutOfRange(uint256 kChunk, uint256 max);
