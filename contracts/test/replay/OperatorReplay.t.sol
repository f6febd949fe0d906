// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorEvaluator} from "../../src/replay/OperatorEvaluator.sol";
import {OperatorReplay} from "../../src/replay/OperatorReplay.sol";
import {
    ChunkOutOfRange,
    EmptyShape,
    IndexOutOfRange,
    LengthMismatch,
    RowLengthOutOfRange
} from "../../src/replay/ReplayErrors.sol";
import {Test} from "../lib/Test.sol";

/// @title OperatorReplayTest
/// @notice Unit, fuzz and revert tests of the operators and position helpers, through the
///         deployed `OperatorEvaluator` (the exact outputs are pinned by
///         OperatorReplayVectors.t.sol; here: references, identities and every revert).
contract OperatorReplayTest is Test {
    /// @dev The evaluator under test.
    OperatorEvaluator private eval;

    int32 private constant MAX = type(int32).max;
    int32 private constant MIN = type(int32).min;

    /// @notice Deploys the evaluator.
    function setUp() public {
        eval = new OperatorEvaluator();
    }

    ////////////////////////////////////////////////////////////////
    //                   ELEMENT-WISE OPERATORS                   //
    ////////////////////////////////////////////////////////////////

    /// @notice Fixed values of the element-wise operators, saturation included.
    function test_elementwise_values_succeeds() public view {
        assertEq(eval.add(MAX, 1), MAX, "add saturates");
        assertEq(eval.add(MIN, -1), MIN, "add saturates low");
        assertEq(eval.sub(MIN, 1), MIN, "sub saturates");
        assertEq(eval.sub(0, MIN), MAX, "sub saturates high");
        assertEq(eval.mul(98_304, 98_304), 147_456, "1.5 * 1.5");
        assertEq(eval.mul(3, 32_768), 2, "1.5 ulp rounds to even");
        assertEq(eval.mul(1, 32_768), 0, "0.5 ulp rounds to even");
        assertEq(eval.addBias(MAX - 1, 2), MAX, "add_bias saturates");
        assertEq(eval.scale(-65_536, 2048), -2048, "scale by 1/32");
        assertEq(eval.relu(-1), 0, "relu negative");
        assertEq(eval.relu(0), 0, "relu zero");
        assertEq(eval.relu(MAX), MAX, "relu positive");
        assertEq(eval.reluGrad(0, 7), 0, "relu_grad at 0");
        assertEq(eval.reluGrad(1, 7), 7, "relu_grad positive");
        assertEq(eval.reluGrad(MIN, MAX), 0, "relu_grad negative");
        assertEq(eval.sgd(65_536, 65_536, 6554), 58_982, "1.0 - 0.1 * 1.0");
        assertEq(eval.sgd(MIN, MAX, MAX), MIN, "sgd saturates");
    }

    /// @notice `sgd` is `sub` of `mul`, `scale` is `mul`, `add_bias` is `add`.
    function testFuzz_elementwise_compositions_succeeds(int32 _a, int32 _b, int32 _c) public view {
        assertEq(eval.sgd(_a, _b, _c), eval.sub(_a, eval.mul(_c, _b)), "sgd");
        assertEq(eval.scale(_a, _b), eval.mul(_a, _b), "scale");
        assertEq(eval.addBias(_a, _b), eval.add(_a, _b), "add_bias");
        assertEq(eval.relu(_a), _a > 0 ? _a : int32(0), "relu");
    }

    /// @notice The ABI decoder rejects a word outside `int32`.
    function test_add_wordOutsideInt32_reverts() public {
        (bool ok,) = address(eval).call(abi.encodeWithSelector(OperatorEvaluator.add.selector, int256(2) ** 31, 0));
        assertTrue(!ok, "accepted 2^31 as an int32");
        (ok,) = address(eval).call(abi.encodeWithSelector(OperatorEvaluator.add.selector, int256(MAX), 0));
        assertTrue(ok, "rejected int32 max");
    }

    /// @notice `add_bias` position.
    function testFuzz_addBiasPosition_isRemainder_succeeds(uint256 _e, uint256 _n) public view {
        _n = bound(_n, 1, type(uint32).max);
        assertEq(eval.addBiasPosition(_e, _n), _e % _n, "e mod N");
    }

    ////////////////////////////////////////////////////////////////
    //                      COPY OPERATORS                        //
    ////////////////////////////////////////////////////////////////

    /// @notice `gatherRow` is the Euclidean remainder: in `[0, R)` and congruent to the index.
    function testFuzz_gatherRow_remEuclid_succeeds(int32 _index, uint256 _rows) public pure {
        _rows = bound(_rows, 1, type(uint32).max);
        uint256 row = OperatorReplay.gatherRow(_index, _rows);
        assertTrue(row < _rows, "row in range");
        // forge-lint: disable-next-line(unsafe-typecast) rows < 2^32.
        assertEq((int256(_index) - int256(row)) % int256(_rows), 0, "congruent");
    }

    /// @notice Fixed values of `gatherRow`.
    function test_gatherRow_values_succeeds() public pure {
        assertEq(OperatorReplay.gatherRow(-1, 5), 4, "-1 mod 5");
        assertEq(OperatorReplay.gatherRow(-5, 5), 0, "-5 mod 5");
        assertEq(OperatorReplay.gatherRow(-6, 5), 4, "-6 mod 5");
        assertEq(OperatorReplay.gatherRow(MIN, 7), 5, "-2^31 mod 7");
        assertEq(OperatorReplay.gatherRow(MAX, 7), 1, "2^31 - 1 mod 7");
        assertEq(OperatorReplay.gatherRow(MIN, 1), 0, "one-row table");
    }

    /// @notice `gather` positions: index row `step mod T`, table row from the index value.
    function testFuzz_gatherPositions_succeeds(uint64 _step, uint256 _t, uint256 _b, uint256 _batch) public view {
        _t = bound(_t, 1, 1 << 20);
        _batch = bound(_batch, 1, 1 << 10);
        _b = bound(_b, 0, _batch - 1);
        assertEq(eval.gatherIndexPosition(_step, _t, _batch, _b), (_step % _t) * _batch + _b, "index position");
        assertEq(eval.gatherTablePosition(-1, 10, 3, 2), 9 * 3 + 2, "table position");
    }

    /// @notice `transpose` reads `a[r, c]` for output element `(c, r)`.
    function testFuzz_transposeSourcePosition_inverse_succeeds(uint256 _rows, uint256 _cols, uint256 _r, uint256 _c)
        public
        view
    {
        _rows = bound(_rows, 1, 1 << 16);
        _cols = bound(_cols, 1, 1 << 16);
        _r = bound(_r, 0, _rows - 1);
        _c = bound(_c, 0, _cols - 1);
        assertEq(eval.transposeSourcePosition(_c * _rows + _r, _rows, _cols), _r * _cols + _c, "a[r, c]");
    }

    /// @notice Malformed `gather` and `transpose` positions.
    function test_copyPositions_malformed_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 0, 4));
        eval.gatherIndexPosition(0, 0, 4, 0);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 3, 0));
        eval.gatherIndexPosition(0, 3, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 4, 4));
        eval.gatherIndexPosition(0, 3, 4, 4);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 0, 2));
        eval.gatherTablePosition(0, 0, 2, 0);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 5, 0));
        eval.gatherTablePosition(0, 5, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 2, 2));
        eval.gatherTablePosition(0, 5, 2, 2);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 0, 3));
        eval.transposeSourcePosition(0, 0, 3);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 6, 6));
        eval.transposeSourcePosition(6, 2, 3);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 1, 0));
        eval.addBiasPosition(3, 0);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 1, 0));
        eval.rowCoords(3, 0);
    }

    ////////////////////////////////////////////////////////////////
    //                         REDUCTIONS                         //
    ////////////////////////////////////////////////////////////////

    /// @notice `mat_mul` equals the `int256` dot product wrapped to `int64`, rounded half to
    ///         even (by division) and saturated; values are biased to the extremes so that
    ///         the accumulator wraps.
    function testFuzz_matMul_matchesWideReference_succeeds(uint256 _seed, uint256 _len) public view {
        uint256 len = bound(_len, 1, 128);
        int32[] memory a = _extremeRow(_seed, len, "a");
        int32[] memory b = _extremeRow(_seed, len, "b");
        int256 sum;
        for (uint256 k; k < len; ++k) {
            sum += int256(a[k]) * b[k];
        }
        // forge-lint: disable-next-line(unsafe-typecast) wraps to int64 on purpose.
        int256 wrapped = int64(sum);
        int256 d = 65_536;
        int256 q = wrapped / d;
        int256 r = wrapped % d;
        int256 twice = 2 * (r < 0 ? -r : r);
        if (twice > d || (twice == d && q % 2 != 0)) q += wrapped < 0 ? int256(-1) : int256(1);
        int256 want = q > MAX ? int256(MAX) : q < MIN ? int256(MIN) : q;
        assertEq(eval.matMul(a, b), want, "matMul");
    }

    /// @notice `128 * 2^62` wraps the accumulator to exactly 0.
    function test_matMul_wrapsToZero_succeeds() public view {
        int32[] memory a = new int32[](128);
        for (uint256 k; k < 128; ++k) {
            a[k] = MIN;
        }
        assertEq(eval.matMul(a, a), 0, "128 * 2^62 mod 2^64");
    }

    /// @notice The chunks of a reduction partition `[0, K)` in order.
    function testFuzz_matMulChunkBounds_partition_succeeds(uint256 _k, uint256 _kChunk) public {
        uint256 k = bound(_k, 1, 1024);
        uint256 kc = bound(_kChunk, 1, 128);
        uint256 next;
        uint256 s;
        while (next < k) {
            (uint256 lo, uint256 hi) = eval.matMulChunkBounds(k, kc, s);
            assertEq(lo, next, "contiguous");
            assertTrue(hi > lo && hi - lo <= kc, "chunk length");
            next = hi;
            ++s;
        }
        assertEq(next, k, "covers K");
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, s, s));
        eval.matMulChunkBounds(k, kc, s);
    }

    /// @notice `mat_mul` coordinates and operand positions for all four transpositions.
    function test_matMulPositions_values_succeeds() public view {
        (uint256 s, uint256 row, uint256 col) = eval.matMulOutputCoords(2 * 12 + 1 * 4 + 3, 3, 4);
        assertEq(s, 2, "chunk");
        assertEq(row, 1, "row");
        assertEq(col, 3, "col");
        // A [M=3, K=5]: a is [3, 5], or [5, 3] when transposed.
        assertEq(eval.matMulLhsPosition(false, 2, 4, 3, 5), 2 * 5 + 4, "A = a");
        assertEq(eval.matMulLhsPosition(true, 2, 4, 3, 5), 4 * 3 + 2, "A = a^T");
        // B [K=5, N=4]: b is [5, 4], or [4, 5] when transposed.
        assertEq(eval.matMulRhsPosition(false, 4, 3, 5, 4), 4 * 4 + 3, "B = b");
        assertEq(eval.matMulRhsPosition(true, 4, 3, 5, 4), 3 * 5 + 4, "B = b^T");
    }

    /// @notice Malformed `mat_mul` calls.
    function test_matMul_malformed_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        eval.matMul(new int32[](0), new int32[](0));
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        eval.matMul(new int32[](129), new int32[](129));
        vm.expectRevert(abi.encodeWithSelector(LengthMismatch.selector, 3, 2));
        eval.matMul(new int32[](3), new int32[](2));
        vm.expectRevert(abi.encodeWithSelector(ChunkOutOfRange.selector, 0, 128));
        eval.matMulChunkBounds(10, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(ChunkOutOfRange.selector, 129, 128));
        eval.matMulChunkBounds(10, 129, 0);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 0, 4));
        eval.matMulChunkBounds(0, 4, 0);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 3, 3));
        eval.matMulChunkBounds(10, 4, 3);
        vm.expectRevert(abi.encodeWithSelector(EmptyShape.selector, 0, 4));
        eval.matMulOutputCoords(0, 0, 4);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 3, 3));
        eval.matMulLhsPosition(false, 3, 0, 3, 5);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 5, 5));
        eval.matMulLhsPosition(true, 0, 5, 3, 5);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 5, 5));
        eval.matMulRhsPosition(false, 5, 0, 5, 4);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 4, 4));
        eval.matMulRhsPosition(true, 0, 4, 5, 4);
    }

    /// @notice `sum_rows` is the saturated exact sum (no intermediate `int32` overflow).
    function testFuzz_sumRows_matchesExactSum_succeeds(uint256 _seed, uint256 _len) public view {
        int32[] memory column = _extremeRow(_seed, bound(_len, 1, 128), "col");
        int256 sum;
        for (uint256 r; r < column.length; ++r) {
            sum += column[r];
        }
        int256 want = sum > MAX ? int256(MAX) : sum < MIN ? int256(MIN) : sum;
        assertEq(eval.sumRows(column), want, "sumRows");
    }

    /// @notice `MAX + MIN + 1` is 0 even though `MAX + 1` alone would overflow.
    function test_sumRows_exactBeforeSaturation_succeeds() public view {
        int32[] memory column = new int32[](3);
        (column[0], column[1], column[2]) = (MAX, 1, MIN);
        assertEq(eval.sumRows(column), 0, "exact");
        assertEq(eval.sumRowsPosition(3, 2, 5), 17, "a[3, 2] of [R, 5]");
    }

    /// @notice Malformed `sum_rows` calls.
    function test_sumRows_malformed_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        eval.sumRows(new int32[](0));
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        eval.sumRows(new int32[](129));
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 5, 5));
        eval.sumRowsPosition(0, 5, 5);
    }

    ////////////////////////////////////////////////////////////////
    //                    ROW-WISE OPERATORS                      //
    ////////////////////////////////////////////////////////////////

    /// @notice The one-element forms equal the row forms.
    function testFuzz_rowOps_elementMatchesRow_succeeds(uint256 _seed, uint256 _len, uint256 _j) public view {
        int32[] memory x = _extremeRow(_seed, bound(_len, 1, 128), "x");
        int32[] memory y = _extremeRow(_seed, x.length, "y");
        uint256 j = bound(_j, 0, x.length - 1);
        // forge-lint: disable-next-line(unsafe-typecast) any int32 scale.
        int32 scale = int32(int256(uint256(keccak256(abi.encode(_seed))) % 2 ** 32) - 2 ** 31);
        assertEq(eval.softmax(x, j), eval.softmaxRow(x)[j], "softmax");
        assertEq(eval.softmaxXentGrad(x, j, y[j], scale), eval.softmaxXentGradRow(x, y, scale)[j], "grad");
        (uint256 r, uint256 c) = eval.rowCoords(_seed % 2 ** 32, x.length);
        assertEq(r * x.length + c, _seed % 2 ** 32, "rowCoords");
    }

    /// @notice `argmax` returns the first position of the maximum.
    function testFuzz_argmax_firstMaximum_succeeds(uint256 _seed, uint256 _len) public view {
        int32[] memory x = _extremeRow(_seed, bound(_len, 1, 128), "x");
        // forge-lint: disable-next-line(unsafe-typecast) the result is a row position.
        uint256 best = uint256(int256(eval.argmax(x)));
        assertTrue(best < x.length, "in range");
        for (uint256 j; j < x.length; ++j) {
            if (j < best) assertTrue(x[j] < x[best], "an earlier element is as large");
            else assertTrue(x[j] <= x[best], "a later element is larger");
        }
    }

    /// @notice Malformed row operator calls.
    function test_rowOps_malformed_reverts() public {
        int32[] memory empty = new int32[](0);
        int32[] memory long = new int32[](129);
        int32[] memory three = new int32[](3);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        eval.softmax(empty, 0);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        eval.softmaxRow(long);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 3, 3));
        eval.softmax(three, 3);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 7, 3));
        eval.softmaxXentGrad(three, 7, 0, 65_536);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        eval.softmaxXentGrad(long, 0, 0, 65_536);
        vm.expectRevert(abi.encodeWithSelector(LengthMismatch.selector, 3, 0));
        eval.softmaxXentGradRow(three, empty, 65_536);
        vm.expectRevert(abi.encodeWithSelector(LengthMismatch.selector, 3, 129));
        eval.xentLoss(three, long);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        eval.xentLoss(empty, empty);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        eval.argmax(empty);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        eval.argmax(long);
    }

    /// @notice The version constants.
    function test_version_succeeds() public view {
        vm.assertEq(eval.version(), "1.0.0", "evaluator version");
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev A pseudo-random row biased to the extremes: a third `MIN`/`MAX`/`±1`, a third
    ///      full range, a third realistic Q16.16, with repeats (argmax ties).
    function _extremeRow(uint256 _seed, uint256 _len, string memory _tag) private pure returns (int32[] memory x_) {
        x_ = new int32[](_len);
        // forge-lint: disable-start(unsafe-typecast) every value is reduced into range first.
        for (uint256 i; i < _len; ++i) {
            uint256 h = uint256(keccak256(abi.encode(_seed, i, _tag)));
            uint256 kind = h % 3;
            h >>= 8;
            if (kind == 0) {
                int32[4] memory edges = [MIN, MAX, int32(1), int32(-1)];
                x_[i] = edges[h % 4];
            } else if (kind == 1) {
                x_[i] = int32(int256(h % 2 ** 32) - 2 ** 31);
            } else {
                x_[i] = int32(int256(h % (16 * 65_536)) - 8 * 65_536);
            }
        }
        // forge-lint: disable-end(unsafe-typecast)
    }
}
