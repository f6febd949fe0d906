// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FixedPoint} from "../../src/replay/FixedPoint.sol";
import {IndexOutOfRange, LengthMismatch, RowLengthOutOfRange, ShiftOutOfRange} from "../../src/replay/ReplayErrors.sol";
import {Test} from "../lib/Test.sol";

/// @title FixedPointHarness
/// @notice Exposes the `FixedPoint` functions that revert, so that `vm.expectRevert` sees
///         the revert one call deeper than the test.
contract FixedPointHarness {
    /// @notice `FixedPoint.rshr`.
    function rshr(int64 _x, uint256 _s) external pure returns (int64 y_) {
        y_ = FixedPoint.rshr(_x, _s);
    }

    /// @notice `FixedPoint.rowMax`.
    function rowMax(int32[] memory _x) external pure returns (int32 max_) {
        max_ = FixedPoint.rowMax(_x);
    }

    /// @notice `FixedPoint.expSum`.
    function expSum(int32[] memory _x, int32 _max) external pure returns (int32 s_) {
        s_ = FixedPoint.expSum(_x, _max);
    }

    /// @notice `FixedPoint.softmaxAt`.
    function softmaxAt(int32[] memory _x, uint256 _j) external pure returns (int32 p_) {
        p_ = FixedPoint.softmaxAt(_x, _j);
    }

    /// @notice `FixedPoint.softmaxRow`.
    function softmaxRow(int32[] memory _x) external pure returns (int32[] memory p_) {
        (p_,) = FixedPoint.softmaxRow(_x);
    }

    /// @notice `FixedPoint.xentRow`.
    function xentRow(int32[] memory _x, int32[] memory _y) external pure returns (int32 loss_) {
        loss_ = FixedPoint.xentRow(_x, _y);
    }
}

/// @title FixedPointTest
/// @notice Unit and fuzz tests of the scalar primitives against independent in-Solidity
///         references (`int256` arithmetic, division-based rounding) and the spec's
///         identities. The exact outputs of the non-linear functions are pinned by the
///         vector tests (OperatorReplayVectors.t.sol).
contract FixedPointTest is Test {
    /// @dev The harness for revert tests.
    FixedPointHarness private harness;

    int256 private constant I32_MAX = type(int32).max;
    int256 private constant I32_MIN = type(int32).min;

    /// @notice Deploys the harness.
    function setUp() public {
        harness = new FixedPointHarness();
    }

    ////////////////////////////////////////////////////////////////
    //                           rshr                             //
    ////////////////////////////////////////////////////////////////

    /// @notice The examples of docs/numerics.md and the extreme shifts.
    function test_rshr_examples_succeeds() public pure {
        assertEq(FixedPoint.rshr(1, 1), 0, "0.5 -> 0");
        assertEq(FixedPoint.rshr(3, 1), 2, "1.5 -> 2");
        assertEq(FixedPoint.rshr(5, 1), 2, "2.5 -> 2");
        assertEq(FixedPoint.rshr(-1, 1), 0, "-0.5 -> 0");
        assertEq(FixedPoint.rshr(-3, 1), -2, "-1.5 -> -2");
        assertEq(FixedPoint.rshr(-5, 1), -2, "-2.5 -> -2");
        assertEq(FixedPoint.rshr(7, 2), 2, "1.75 -> 2");
        assertEq(FixedPoint.rshr(type(int64).max, 62), 2, "max >> 62");
        assertEq(FixedPoint.rshr(type(int64).min, 62), -2, "min >> 62");
        assertEq(FixedPoint.rshr(type(int64).max, 0), type(int64).max, "shift 0");
        assertEq(FixedPoint.rshr(type(int64).min, 0), type(int64).min, "shift 0, min");
    }

    /// @notice `rshr` equals round-half-even of the exact quotient, computed by division.
    function testFuzz_rshr_matchesDivision_succeeds(int64 _x, uint256 _s) public pure {
        _s = bound(_s, 0, 62);
        assertEq(FixedPoint.rshr(_x, _s), _refRshr(_x, _s), "rshr");
    }

    /// @notice Exact ties round to the even neighbour on both signs, at every shift.
    function testFuzz_rshr_tiesToEven_succeeds(int32 _q, uint256 _s) public pure {
        _s = bound(_s, 1, 31);
        // x = q * 2^s + 2^(s-1): exactly halfway between q and q + 1.
        // forge-lint: disable-next-line(unsafe-typecast) 2^s <= 2^31.
        int64 x = int64(_q) * int64(int256(1) << _s) + int64(int256(1) << (_s - 1));
        int256 even = _q % 2 == 0 ? int256(_q) : int256(_q) + 1;
        assertEq(FixedPoint.rshr(x, _s), even, "tie");
    }

    /// @notice Shifts above 62 are rejected.
    function testFuzz_rshr_shiftAbove62_reverts(int64 _x, uint256 _s) public {
        _s = bound(_s, 63, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ShiftOutOfRange.selector, _s));
        harness.rshr(_x, _s);
    }

    ////////////////////////////////////////////////////////////////
    //                SATURATION, PRODUCTS, SUMS                  //
    ////////////////////////////////////////////////////////////////

    /// @notice `sat32` clamps.
    function testFuzz_sat32_clamps_succeeds(int256 _x) public pure {
        int256 want = _x > I32_MAX ? I32_MAX : _x < I32_MIN ? I32_MIN : _x;
        assertEq(FixedPoint.sat32(_x), want, "sat32");
    }

    /// @notice `mul_wide` is the exact product.
    function testFuzz_mulWide_isExact_succeeds(int32 _a, int32 _b) public pure {
        assertEq(FixedPoint.mulWide(_a, _b), int256(_a) * int256(_b), "mulWide");
    }

    /// @notice `wadd` is addition modulo `2^64` in two's complement.
    function testFuzz_wadd_wrapsModulo64_succeeds(int64 _x, int64 _y) public pure {
        int256 sum = int256(_x) + int256(_y);
        if (sum > type(int64).max) sum -= 2 ** 64;
        if (sum < type(int64).min) sum += 2 ** 64;
        assertEq(FixedPoint.wadd(_x, _y), sum, "wadd");
    }

    /// @notice `add_sat` and `sub_sat` clamp the exact result.
    function testFuzz_addSubSat_clamp_succeeds(int32 _a, int32 _b) public pure {
        assertEq(FixedPoint.addSat(_a, _b), _clamp(int256(_a) + _b), "addSat");
        assertEq(FixedPoint.subSat(_a, _b), _clamp(int256(_a) - _b), "subSat");
    }

    /// @notice `fx_mul` is the rounded, saturated product; it commutes and 1.0 is neutral.
    function testFuzz_fxMul_matchesReference_succeeds(int32 _a, int32 _b) public pure {
        int256 want = _clamp(_refRshr(int256(_a) * _b, 16));
        assertEq(FixedPoint.fxMul(_a, _b), want, "fxMul");
        assertEq(FixedPoint.fxMul(_b, _a), want, "fxMul commutes");
        assertEq(FixedPoint.fxMul(_a, FixedPoint.ONE), _a, "times 1.0");
    }

    /// @notice `fx_mul` saturates once the Q16.16 product leaves the `int32` range.
    function testFuzz_fxMul_saturates_succeeds(int32 _a, int32 _b) public pure {
        int256 p = int256(_a) * _b;
        vm.assume(p >= 2 ** 47 || p <= -(2 ** 47) - 2 ** 16);
        assertEq(FixedPoint.fxMul(_a, _b), p > 0 ? I32_MAX : I32_MIN, "saturated");
    }

    /// @notice Fixed saturation points of `fx_mul`.
    function test_fxMul_edges_succeeds() public pure {
        assertEq(FixedPoint.fxMul(type(int32).max, type(int32).max), I32_MAX, "max * max");
        assertEq(FixedPoint.fxMul(type(int32).min, type(int32).max), I32_MIN, "min * max");
        assertEq(FixedPoint.fxMul(type(int32).min, type(int32).min), I32_MAX, "min * min");
        assertEq(FixedPoint.fxMul(-65_536, 32_768), -32_768, "-1 * 0.5");
        // 11863283^2 / 2^16 is just below 2^31; 11863284 is the first that saturates.
        assertEq(FixedPoint.fxMul(11_863_283, 11_863_283), 2_147_483_574, "largest square");
        assertEq(FixedPoint.fxMul(-11_863_284, -11_863_284), I32_MAX, "first saturating square");
    }

    /// @notice `fx_from_acc` is the rounded, saturated accumulator.
    function testFuzz_fxFromAcc_matchesReference_succeeds(int64 _acc) public pure {
        assertEq(FixedPoint.fxFromAcc(_acc), _clamp(_refRshr(_acc, 16)), "fxFromAcc");
    }

    ////////////////////////////////////////////////////////////////
    //                         exp and ln                         //
    ////////////////////////////////////////////////////////////////

    /// @notice Known values of `exp_neg` (from the Rust reference).
    function test_expNeg_values_succeeds() public pure {
        assertEq(FixedPoint.expNeg(0), 65_536, "e^0");
        assertEq(FixedPoint.expNeg(type(int32).max), 65_536, "positive is 0");
        assertEq(FixedPoint.expNeg(-1), 65_535, "e^-ulp");
        assertEq(FixedPoint.expNeg(-32_768), 39_750, "e^-0.5");
        assertEq(FixedPoint.expNeg(-65_536), 24_109, "e^-1");
        assertEq(FixedPoint.expNeg(FixedPoint.EXP_CUTOFF), 0, "cut-off");
        assertEq(FixedPoint.expNeg(FixedPoint.EXP_CUTOFF + 1), 0, "just above the cut-off underflows");
        assertEq(FixedPoint.expNeg(type(int32).min), 0, "min");
    }

    /// @notice The Yul `expNeg` equals the line-by-line transcription of numerics.rs.
    function testFuzz_expNeg_matchesSpec_succeeds(int32 _d) public pure {
        assertEq(FixedPoint.expNeg(_d), _specExpNeg(_d), "expNeg");
    }

    /// @notice Exhaustive: the Yul `expNeg` equals the transcription at every one of the
    ///         1,572,864 inputs of `(-24.0, 0]` (below the cut-off both are 0 by the first
    ///         branch). Random inputs are not enough: a wrong rounding threshold or a
    ///         coefficient off by one changes only one to three outputs of the whole domain.
    ///         Split in sixteen parts of 1.5 (98,304 inputs each), which forge runs in
    ///         parallel and which stay under the per-test gas limit.
    function test_expNeg_exhaustivePart0_succeeds() public pure {
        _sweepExpNeg(0);
    }

    /// @notice Exhaustive comparison, part 1 of 0..15.
    function test_expNeg_exhaustivePart1_succeeds() public pure {
        _sweepExpNeg(1);
    }

    /// @notice Exhaustive comparison, part 2 of 0..15.
    function test_expNeg_exhaustivePart2_succeeds() public pure {
        _sweepExpNeg(2);
    }

    /// @notice Exhaustive comparison, part 3 of 0..15.
    function test_expNeg_exhaustivePart3_succeeds() public pure {
        _sweepExpNeg(3);
    }

    /// @notice Exhaustive comparison, part 4 of 0..15.
    function test_expNeg_exhaustivePart4_succeeds() public pure {
        _sweepExpNeg(4);
    }

    /// @notice Exhaustive comparison, part 5 of 0..15.
    function test_expNeg_exhaustivePart5_succeeds() public pure {
        _sweepExpNeg(5);
    }

    /// @notice Exhaustive comparison, part 6 of 0..15.
    function test_expNeg_exhaustivePart6_succeeds() public pure {
        _sweepExpNeg(6);
    }

    /// @notice Exhaustive comparison, part 7 of 0..15.
    function test_expNeg_exhaustivePart7_succeeds() public pure {
        _sweepExpNeg(7);
    }

    /// @notice Exhaustive comparison, part 8 of 0..15.
    function test_expNeg_exhaustivePart8_succeeds() public pure {
        _sweepExpNeg(8);
    }

    /// @notice Exhaustive comparison, part 9 of 0..15.
    function test_expNeg_exhaustivePart9_succeeds() public pure {
        _sweepExpNeg(9);
    }

    /// @notice Exhaustive comparison, part 10 of 0..15.
    function test_expNeg_exhaustivePart10_succeeds() public pure {
        _sweepExpNeg(10);
    }

    /// @notice Exhaustive comparison, part 11 of 0..15.
    function test_expNeg_exhaustivePart11_succeeds() public pure {
        _sweepExpNeg(11);
    }

    /// @notice Exhaustive comparison, part 12 of 0..15.
    function test_expNeg_exhaustivePart12_succeeds() public pure {
        _sweepExpNeg(12);
    }

    /// @notice Exhaustive comparison, part 13 of 0..15.
    function test_expNeg_exhaustivePart13_succeeds() public pure {
        _sweepExpNeg(13);
    }

    /// @notice Exhaustive comparison, part 14 of 0..15.
    function test_expNeg_exhaustivePart14_succeeds() public pure {
        _sweepExpNeg(14);
    }

    /// @notice Exhaustive comparison, part 15 of 0..15.
    function test_expNeg_exhaustivePart15_succeeds() public pure {
        _sweepExpNeg(15);
    }

    /// @notice `exp_neg` is in `[0, 1.0]` and monotone (checked exhaustively offline; here
    ///         on random pairs, half of them adjacent).
    function testFuzz_expNeg_monotone_succeeds(int32 _a, uint256 _delta) public pure {
        _delta = _delta % 2 == 0 ? bound(_delta, 0, 16) : bound(_delta, 0, 2 ** 32);
        // forge-lint: disable-next-line(unsafe-typecast) delta <= 2^32.
        int256 b = int256(_a) + int256(_delta);
        if (b > I32_MAX) b = I32_MAX;
        // forge-lint: disable-next-line(unsafe-typecast) clamped above.
        (int32 ea, int32 eb) = (FixedPoint.expNeg(_a), FixedPoint.expNeg(int32(b)));
        assertTrue(ea >= 0 && eb <= 65_536, "range");
        assertTrue(ea <= eb, "monotone");
    }

    /// @notice Known values of `ln_ge1`.
    function test_lnGe1_values_succeeds() public pure {
        assertEq(FixedPoint.lnGe1(65_536), 0, "ln 1");
        assertEq(FixedPoint.lnGe1(0), 0, "below 1.0");
        assertEq(FixedPoint.lnGe1(type(int32).min), 0, "min");
        assertEq(FixedPoint.lnGe1(65_537), 1, "ln(1 + ulp)");
        assertEq(FixedPoint.lnGe1(131_072), 45_426, "ln 2");
        assertEq(FixedPoint.lnGe1(178_145), 65_536, "ln e");
        assertEq(FixedPoint.lnGe1(type(int32).max), 681_391, "ln max");
    }

    /// @notice Doubling adds `ln 2`: the mantissa is unchanged and `log2` grows by exactly 1,
    ///         so the results differ by `45426.09` before rounding.
    function testFuzz_lnGe1_doubling_succeeds(uint256 _s) public pure {
        // forge-lint: disable-next-line(unsafe-typecast) bounded below 2^30.
        int32 s = int32(int256(bound(_s, 65_536, 2 ** 30 - 1)));
        int256 diff = int256(FixedPoint.lnGe1(s * 2)) - FixedPoint.lnGe1(s);
        assertTrue(diff == 45_426 || diff == 45_427, "ln(2s) - ln(s)");
    }

    /// @notice `ln_ge1` is monotone.
    function testFuzz_lnGe1_monotone_succeeds(int32 _a, int32 _b) public pure {
        (int32 lo, int32 hi) = _a <= _b ? (_a, _b) : (_b, _a);
        assertTrue(FixedPoint.lnGe1(lo) <= FixedPoint.lnGe1(hi), "monotone");
    }

    ////////////////////////////////////////////////////////////////
    //                        ROW FUNCTIONS                       //
    ////////////////////////////////////////////////////////////////

    /// @notice `probability` is `e * 2^16 / S` rounded half up (remainder-based reference).
    function testFuzz_probability_matchesReference_succeeds(uint256 _sum, uint256 _e) public pure {
        uint256 s = bound(_sum, 65_536, 2 ** 23);
        uint256 e = bound(_e, 0, 65_536);
        uint256 n = e << 16;
        uint256 want = n / s + (2 * (n % s) >= s ? 1 : 0);
        // forge-lint: disable-next-line(unsafe-typecast) both below 2^24.
        int32 got = FixedPoint.probability(int32(int256(e)), int32(int256(s)));
        // forge-lint: disable-next-line(unsafe-typecast) want <= 2^16.
        assertEq(int256(got), int256(want), "probability");
    }

    /// @notice Rounding of `probability` at and next to one half.
    function test_probability_roundsHalfUp_succeeds() public pure {
        // 65536 / 131072 = 0.5 exactly: up.
        assertEq(FixedPoint.probability(1, 131_072), 1, "tie goes up");
        // 2^31 / 65537 = 32767.50000763: up, although the remainder is just over half.
        assertEq(FixedPoint.probability(32_768, 65_537), 32_768, "just over half");
        // 2^16 / 131073 = 0.49999: down.
        assertEq(FixedPoint.probability(1, 131_073), 0, "just under half");
        assertEq(FixedPoint.probability(65_536, 65_536), 65_536, "certain");
    }

    /// @notice Softmax probabilities are in `[0, 1.0]`, the maximum's exp is exactly 1.0 and
    ///         the row sums to 1.0 within half an ulp per element.
    function testFuzz_softmaxRow_sumsToOne_succeeds(uint256 _seed, uint256 _len) public pure {
        int32[] memory x = _row(_seed, bound(_len, 1, 128));
        (int32[] memory p, int32 sum) = FixedPoint.softmaxRow(x);
        int32 m = FixedPoint.rowMax(x);
        assertEq(FixedPoint.expSum(x, m), sum, "expSum");
        assertTrue(sum >= 65_536 && sum <= 128 * 65_536, "sum range");
        int256 total;
        for (uint256 j; j < p.length; ++j) {
            assertTrue(p[j] >= 0 && p[j] <= 65_536, "probability range");
            total += p[j];
        }
        // Each p_j is within half an ulp of e_j / S, and sum_j e_j / S = 1.
        int256 slack = int256(p.length) / 2 + 1;
        assertTrue(total >= 65_536 - slack && total <= 65_536 + slack, "sum to one");
    }

    /// @notice The one-element softmax equals the row's element.
    function testFuzz_softmaxAt_matchesRow_succeeds(uint256 _seed, uint256 _len, uint256 _j) public pure {
        int32[] memory x = _row(_seed, bound(_len, 1, 128));
        uint256 j = bound(_j, 0, x.length - 1);
        (int32[] memory p,) = FixedPoint.softmaxRow(x);
        assertEq(FixedPoint.softmaxAt(x, j), p[j], "softmaxAt");
    }

    /// @notice Cross-entropy: zero labels give 0; non-negative labels give a non-negative
    ///         loss; a one-hot label at the maximum gives `ln S`; at element `j` it gives
    ///         `sat32(ln S - (x_j - M))`.
    function testFuzz_xentRow_identities_succeeds(uint256 _seed, uint256 _len, uint256 _j) public pure {
        int32[] memory x = _row(_seed, bound(_len, 1, 128));
        uint256 j = bound(_j, 0, x.length - 1);
        int32 m = FixedPoint.rowMax(x);
        int32 ln = FixedPoint.lnGe1(FixedPoint.expSum(x, m));
        int32[] memory y = new int32[](x.length);
        assertEq(FixedPoint.xentRow(x, y), 0, "zero labels");
        y[j] = 65_536;
        assertEq(FixedPoint.xentRow(x, y), _clamp(int256(ln) - FixedPoint.subSat(x[j], m)), "one-hot");
        y[j] = 0;
        uint256 top;
        while (x[top] != m) ++top;
        y[top] = 65_536;
        assertEq(FixedPoint.xentRow(x, y), ln, "one-hot at the maximum");
        for (uint256 i; i < y.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) labels in [0, 1.0].
            y[i] = int32(int256(uint256(keccak256(abi.encode(_seed, i))) % 65_537));
        }
        assertTrue(FixedPoint.xentRow(x, y) >= 0, "non-negative");
    }

    /// @notice Rows must hold `1..128` elements.
    function test_rowFunctions_badLength_reverts() public {
        int32[] memory empty = new int32[](0);
        int32[] memory long = new int32[](129);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        harness.rowMax(empty);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        harness.rowMax(long);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        harness.expSum(long, 0);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 0, 128));
        harness.softmaxRow(empty);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        harness.softmaxAt(long, 0);
        vm.expectRevert(abi.encodeWithSelector(RowLengthOutOfRange.selector, 129, 128));
        harness.xentRow(long, long);
    }

    /// @notice `softmaxAt` rejects a position past the row; `xentRow` mismatched labels.
    function test_rowFunctions_badOperands_reverts() public {
        int32[] memory x = new int32[](3);
        vm.expectRevert(abi.encodeWithSelector(IndexOutOfRange.selector, 3, 3));
        harness.softmaxAt(x, 3);
        vm.expectRevert(abi.encodeWithSelector(LengthMismatch.selector, 3, 2));
        harness.xentRow(x, new int32[](2));
    }

    ////////////////////////////////////////////////////////////////
    //                          HELPERS                           //
    ////////////////////////////////////////////////////////////////

    /// @dev Round-half-even of `x / 2^s` by truncating division and the remainder's size
    ///      (independent of the shift-and-mask formulation under test).
    function _refRshr(int256 _x, uint256 _s) private pure returns (int256 q_) {
        int256 d = int256(1) << _s;
        q_ = _x / d;
        int256 r = _x % d;
        int256 twice = 2 * (r < 0 ? -r : r);
        if (twice > d || (twice == d && q_ % 2 != 0)) q_ += _x < 0 ? int256(-1) : int256(1);
    }

    /// @dev Compares `expNeg` with `_specExpNeg` on `d` in `(-(part + 1) * 1.5, -part * 1.5]`.
    function _sweepExpNeg(int32 _part) private pure {
        int32 hi = -_part * 98_304;
        int32 lo = hi - 98_304;
        for (int32 d = hi; d > lo;) {
            if (FixedPoint.expNeg(d) != _specExpNeg(d)) fail(string.concat("expNeg differs at ", vm.toString(d)));
            unchecked {
                --d;
            }
        }
    }

    /// @dev `exp_neg` transcribed line by line from numerics.rs on `int64`, with the
    ///      library's checked `rshr` (the reference for the Yul body of `expNeg`).
    function _specExpNeg(int32 _d) private pure returns (int32 e_) {
        int32 d = _d < 0 ? _d : int32(0);
        if (d <= FixedPoint.EXP_CUTOFF) return 0;
        int64 y = FixedPoint.rshr(FixedPoint.mulWide(d, FixedPoint.LOG2E_Q16), 16);
        int64 n = y >> 16;
        int64 f = y - n * 65_536;
        // Horner with C_7..C_0 of EXP2_POLY_Q28.
        int64 p = 4094;
        p = FixedPoint.rshr(p * f, 16) + 41_349;
        p = FixedPoint.rshr(p * f, 16) + 357_920;
        p = FixedPoint.rshr(p * f, 16) + 2_581_847;
        p = FixedPoint.rshr(p * f, 16) + 14_899_271;
        p = FixedPoint.rshr(p * f, 16) + 64_485_312;
        p = FixedPoint.rshr(p * f, 16) + 186_065_279;
        p = FixedPoint.rshr(p * f, 16) + 268_435_456;
        int64 shift = 12 - n < 62 ? 12 - n : int64(62);
        // forge-lint: disable-next-line(unsafe-typecast) shift in 12..62; the result <= 2^16.
        e_ = int32(FixedPoint.rshr(p, uint256(int256(shift))));
    }

    /// @dev Clamps into `int32`.
    function _clamp(int256 _x) private pure returns (int256 y_) {
        y_ = _x > I32_MAX ? I32_MAX : _x < I32_MIN ? I32_MIN : _x;
    }

    /// @dev A pseudo-random row of one of four kinds: full range, realistic (`|x| < 8.0`),
    ///      wide (`|x| < 64.0`, some exps underflow) or a tiny spread around a random value.
    function _row(uint256 _seed, uint256 _len) internal pure returns (int32[] memory x_) {
        x_ = new int32[](_len);
        // forge-lint: disable-start(unsafe-typecast) every value is reduced into range first.
        uint256 kind = _seed % 4;
        int256 base = int256(uint256(keccak256(abi.encode(_seed))) % 2 ** 32) - 2 ** 31;
        for (uint256 i; i < _len; ++i) {
            uint256 h = uint256(keccak256(abi.encode(_seed, i, "row")));
            int256 v;
            if (kind == 0) v = int256(h % 2 ** 32) - 2 ** 31;
            else if (kind == 1) v = int256(h % (16 * 65_536)) - 8 * 65_536;
            else if (kind == 2) v = int256(h % (128 * 65_536)) - 64 * 65_536;
            else v = _clamp(base + int256(h % 64) - 32);
            x_[i] = int32(v);
        }
        // forge-lint: disable-end(unsafe-typecast)
    }
}
