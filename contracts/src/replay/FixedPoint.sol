// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IndexOutOfRange, LengthMismatch, RowLengthOutOfRange, ShiftOutOfRange} from "./ReplayErrors.sol";

/// @title FixedPoint
/// @notice The scalar integer primitives of docs/numerics.md in Solidity: Q16.16 values in
///         `int32`, products widened to `int64`, wrapping `int64` accumulation, rounding
///         right shifts with ties to even, saturation to `int32`, and the integer `exp`,
///         `ln`, softmax and cross-entropy of one row. Every function is bit-identical to
///         its namesake in executor/src/numerics.rs (the Rust statement of the spec).
/// @dev Wrapping is explicit: only `wadd` (and the callers that accumulate with it) wrap,
///      inside `unchecked`; everything else is exact by the bounds noted next to it, and
///      `unchecked` is used only where those bounds make overflow impossible. Row
///      functions take rows of `1..MAX_REDUCE` elements, so every loop is bounded.
library FixedPoint {
    ////////////////////////////////////////////////////////////////
    //                         CONSTANTS                          //
    ////////////////////////////////////////////////////////////////

    /// @notice Semantic version of the replay arithmetic.
    string internal constant version = "1.0.0";

    /// @notice Fractional bits of the Q16.16 format.
    uint256 internal constant FRAC_BITS = 16;

    /// @notice The fixed-point value 1.0 (raw `2^16`).
    int32 internal constant ONE = 65_536;

    /// @notice The longest row, column or reduction chunk an operator reads (`MAX_REDUCE`).
    uint256 internal constant MAX_REDUCE = 128;

    /// @notice `round(log2(e) * 2^16)`: turns `e^x` into `2^(x * log2 e)`.
    int32 internal constant LOG2E_Q16 = 94_548;

    /// @notice `round(ln(2) * 2^31)`: turns `log2` into `ln`.
    int32 internal constant LN2_Q31 = 1_488_522_236;

    /// @notice At or below this argument (`-24.0`) `expNeg` is zero.
    int32 internal constant EXP_CUTOFF = -1_572_864;

    // The Taylor coefficients of `2^f`, `C_k = round((ln 2)^k / k! * 2^28)` for `k = 0..7`
    // (268435456, 186065279, 64485312, 14899271, 2581847, 357920, 41349, 4094), are
    // literals in `expNeg`'s Yul body.

    ////////////////////////////////////////////////////////////////
    //                      SCALAR PRIMITIVES                     //
    ////////////////////////////////////////////////////////////////

    /// @notice `sat32(x)`: clamps a wide integer into `int32`.
    /// @param _x The value.
    /// @return y_ `min(max(x, -2^31), 2^31 - 1)`.
    function sat32(int256 _x) internal pure returns (int32 y_) {
        if (_x > type(int32).max) return type(int32).max;
        if (_x < type(int32).min) return type(int32).min;
        // forge-lint: disable-next-line(unsafe-typecast) in range: clamped above.
        y_ = int32(_x);
    }

    /// @notice `mul_wide(a, b)`: the exact product of two `int32`s as an `int64`.
    /// @param _a The left factor.
    /// @param _b The right factor.
    /// @return p_ `a * b` (`|a * b| <= 2^62`, so it always fits).
    function mulWide(int32 _a, int32 _b) internal pure returns (int64 p_) {
        unchecked {
            p_ = int64(_a) * int64(_b);
        }
    }

    /// @notice `wadd(x, y)`: addition modulo `2^64` as two's-complement `int64`.
    /// @param _x The left operand.
    /// @param _y The right operand.
    /// @return s_ `x + y` wrapped into `int64`.
    function wadd(int64 _x, int64 _y) internal pure returns (int64 s_) {
        unchecked {
            s_ = _x + _y;
        }
    }

    /// @notice `rshr(x, s)`: `x / 2^s` rounded to nearest, ties to even.
    /// @dev The floor quotient is the arithmetic shift `q = x >> s`, the remainder the low
    ///      `s` bits `r` of `x`; the quotient is bumped when `r > 2^(s-1)`, or `r == 2^(s-1)`
    ///      and `q` is odd. `q + 1` cannot overflow: `q <= 2^(63 - s)`.
    /// @param _x The dividend.
    /// @param _s The shift, `0..62`; larger shifts revert with `ShiftOutOfRange`.
    /// @return y_ The rounded quotient.
    function rshr(int64 _x, uint256 _s) internal pure returns (int64 y_) {
        if (_s > 62) revert ShiftOutOfRange(_s);
        if (_s == 0) return _x;
        // forge-lint: disable-next-line(unsafe-typecast) |result| <= 2^62 for s >= 1.
        y_ = int64(_rshr(_x, _s));
    }

    /// @notice `add_sat(a, b)`: saturating addition.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return s_ `sat32(a + b)`.
    function addSat(int32 _a, int32 _b) internal pure returns (int32 s_) {
        s_ = sat32(int256(_a) + int256(_b));
    }

    /// @notice `sub_sat(a, b)`: saturating subtraction.
    /// @param _a The minuend.
    /// @param _b The subtrahend.
    /// @return d_ `sat32(a - b)`.
    function subSat(int32 _a, int32 _b) internal pure returns (int32 d_) {
        d_ = sat32(int256(_a) - int256(_b));
    }

    /// @notice `fx_mul(a, b)`: the Q16.16 product: widen, round half to even, saturate.
    /// @param _a The left factor (Q16.16).
    /// @param _b The right factor (Q16.16).
    /// @return p_ `sat32(rshr(mul_wide(a, b), 16))`.
    function fxMul(int32 _a, int32 _b) internal pure returns (int32 p_) {
        p_ = sat32(_rshr(int256(_a) * _b, FRAC_BITS));
    }

    /// @notice `fx_from_acc(x)`: rescales a wrapped `int64` sum of Q32.32 products to Q16.16.
    /// @param _acc The (wrapped) accumulator.
    /// @return y_ `sat32(rshr(acc, 16))`.
    function fxFromAcc(int64 _acc) internal pure returns (int32 y_) {
        y_ = sat32(_rshr(_acc, FRAC_BITS));
    }

    /// @notice `exp_neg(d)`: `e^d` in Q16.16 for `d <= 0` (a positive `d` is treated as 0).
    /// @dev `y = rshr(d * 94548, 16)` is `d * log2 e`; `y = n * 2^16 + f` with `f` in
    ///      `[0, 2^16)`; `2^(f / 2^16)` is the degree-7 Taylor polynomial in Q28 by Horner's
    ///      rule, `p = C_7; p = rshr(p * f, 16) + C_k` for `k = 6..0` (every intermediate
    ///      below `2^30`); the result is `rshr(p, min(12 - n, 62))`. Above the cut-off
    ///      `y >= -2269151`, so `n >= -35` and the final shift is in `12..47`. At `d >= 0` the
    ///      steps give `rshr(2^28, 12) = 65536` exactly, returned directly.
    ///      This is the hot loop of every row operator (one call per element), so the body
    ///      is Yul over the same steps, with `rshr16(v) = (v >> 16) + (low16(v) + ((v >> 16)
    ///      & 1) > 2^15)` (see `_rshr`). The tests compare it with a line-by-line Solidity
    ///      transcription of numerics.rs over the whole domain.
    /// @param _d The exponent (Q16.16).
    /// @return e_ `e^min(d, 0)` in Q16.16, in `[0, 65536]`; 0 at or below `-24.0`.
    function expNeg(int32 _d) internal pure returns (int32 e_) {
        if (_d >= 0) return ONE;
        if (_d <= EXP_CUTOFF) return 0;
        assembly ("memory-safe") {
            function rshr16(v) -> r {
                let q := sar(16, v)
                r := add(q, gt(add(and(v, 0xffff), and(q, 1)), 0x8000))
            }
            // y = rshr(d * LOG2E_Q16, 16); n = y >> 16 (floor); f = y - n * 2^16.
            let y := rshr16(mul(signextend(3, _d), 94548))
            let n := sar(16, y)
            let f := and(y, 0xffff)
            // Horner in Q28 with C_7..C_0 (EXP2_POLY_Q28 of numerics.rs).
            let p := add(rshr16(mul(4094, f)), 41349)
            p := add(rshr16(mul(p, f)), 357920)
            p := add(rshr16(mul(p, f)), 2581847)
            p := add(rshr16(mul(p, f)), 14899271)
            p := add(rshr16(mul(p, f)), 64485312)
            p := add(rshr16(mul(p, f)), 186065279)
            p := add(rshr16(mul(p, f)), 268435456)
            // rshr(p, min(12 - n, 62)).
            let s := sub(12, n)
            if gt(s, 62) { s := 62 }
            let q := sar(s, p)
            let unit := shl(s, 1)
            e_ := add(q, gt(add(and(p, sub(unit, 1)), and(q, 1)), shr(1, unit)))
        }
    }

    /// @notice `ln_ge1(s)`: `ln(s)` in Q16.16 for `s >= 1.0` (smaller inputs are treated as 1.0).
    /// @dev `log2` by normalising `s` to a Q30 mantissa in `[1, 2)` and sixteen rounds of
    ///      squaring (each yields one fractional bit, truncated), then one multiply by
    ///      `ln 2` in Q31 with a rounding shift. The mantissa stays below `2^31`, so every
    ///      square is below `2^62`.
    /// @param _s The argument (Q16.16).
    /// @return l_ `ln(max(s, 1.0))` in Q16.16, non-negative.
    function lnGe1(int32 _s) internal pure returns (int32 l_) {
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) non-negative: _s >= ONE here.
            uint256 s = _s < ONE ? uint256(65_536) : uint256(int256(_s));
            uint256 msb = 16;
            while (s >> (msb + 1) != 0) ++msb;
            // The integer part of log2, then one fractional bit per round (truncated).
            uint256 log2 = msb - FRAC_BITS;
            uint256 m = s << (30 - msb);
            for (uint256 i; i < 16; ++i) {
                m = (m * m) >> 30;
                log2 <<= 1;
                if (m >= 1 << 31) {
                    log2 |= 1;
                    m >>= 1;
                }
            }
            // forge-lint: disable-next-line(unsafe-typecast) log2 < 15 * 2^16 fits int32.
            int32 l2 = int32(int256(log2));
            // forge-lint: disable-next-line(unsafe-typecast) the result is below ln(2^15) * 2^16.
            l_ = int32(_rshr(int256(l2) * LN2_Q31, 31));
        }
    }

    ////////////////////////////////////////////////////////////////
    //                        ROW FUNCTIONS                       //
    ////////////////////////////////////////////////////////////////

    /// @notice The largest element of a row.
    /// @param _x The row, `1..128` elements.
    /// @return max_ `max_j x_j`.
    function rowMax(int32[] memory _x) internal pure returns (int32 max_) {
        _checkRow(_x.length);
        max_ = _x[0];
        for (uint256 j = 1; j < _x.length; ++j) {
            if (_x[j] > max_) max_ = _x[j];
        }
    }

    /// @notice The exponential sum `S = sum_j exp_neg(sub_sat(x_j, M))` of a row.
    /// @dev Exact: at most `128 * 2^16 = 2^23`, and at least `2^16` (the maximum's term).
    /// @param _x The row, `1..128` elements.
    /// @param _max The row's maximum, `rowMax(_x)`.
    /// @return s_ `S` in Q16.16.
    function expSum(int32[] memory _x, int32 _max) internal pure returns (int32 s_) {
        _checkRow(_x.length);
        int256 s;
        for (uint256 j; j < _x.length; ++j) {
            unchecked {
                s += expNeg(subSat(_x[j], _max));
            }
        }
        // forge-lint: disable-next-line(unsafe-typecast) 0 < s <= 2^23.
        s_ = int32(s);
    }

    /// @notice One softmax probability from its exponential and the row's sum.
    /// @param _e The element's `e_j = exp_neg(sub_sat(x_j, M))`, in `[0, 65536]`.
    /// @param _sum The row's exponential sum `S`, at least 65536.
    /// @return p_ `floor((e_j * 2^16 + floor(S / 2)) / S)`, `e_j / S` rounded half up.
    function probability(int32 _e, int32 _sum) internal pure returns (int32 p_) {
        // forge-lint: disable-next-line(unsafe-typecast) both are positive, S >= 2^16.
        (uint256 e, uint256 s) = (uint256(int256(_e)), uint256(int256(_sum)));
        // forge-lint: disable-next-line(unsafe-typecast) e <= S, so the quotient is <= 2^16.
        p_ = int32(int256(((e << FRAC_BITS) + (s >> 1)) / s));
    }

    /// @notice Softmax probability `p_j` of one element of a row.
    /// @param _x The row, `1..128` elements.
    /// @param _j The element's position in the row (reverts with `IndexOutOfRange` past it).
    /// @return p_ `p_j` in Q16.16, in `[0, 65536]`.
    function softmaxAt(int32[] memory _x, uint256 _j) internal pure returns (int32 p_) {
        int32 m = rowMax(_x);
        if (_j >= _x.length) revert IndexOutOfRange(_j, _x.length);
        p_ = probability(expNeg(subSat(_x[_j], m)), expSum(_x, m));
    }

    /// @notice The softmax of a whole row.
    /// @param _x The row, `1..128` elements.
    /// @return p_ The probabilities `p_j`, one per element.
    /// @return sum_ The exponential sum `S` (Q16.16).
    function softmaxRow(int32[] memory _x) internal pure returns (int32[] memory p_, int32 sum_) {
        int32 m = rowMax(_x);
        uint256 n = _x.length;
        p_ = new int32[](n);
        int256 s;
        for (uint256 j; j < n; ++j) {
            int32 e = expNeg(subSat(_x[j], m));
            p_[j] = e;
            unchecked {
                s += e;
            }
        }
        // forge-lint: disable-next-line(unsafe-typecast) 0 < s <= 2^23.
        sum_ = int32(s);
        for (uint256 j; j < n; ++j) {
            p_[j] = probability(p_[j], sum_);
        }
    }

    /// @notice The cross-entropy of a row of logits against (possibly soft) labels.
    /// @dev `L = ln_ge1(S)`, `t_j = sat32(L - sub_sat(x_j, M))` (`-log p_j`), and the loss
    ///      `sat32(wsum_j rshr(mul_wide(y_j, t_j), 16))` with a wrapping `int64` sum.
    /// @param _x The logits, `1..128` elements.
    /// @param _y The labels (Q16.16), as many as logits (else `LengthMismatch`).
    /// @return loss_ The loss in Q16.16.
    function xentRow(int32[] memory _x, int32[] memory _y) internal pure returns (int32 loss_) {
        if (_y.length != _x.length) revert LengthMismatch(_x.length, _y.length);
        int32 m = rowMax(_x);
        int32 l = lnGe1(expSum(_x, m));
        int64 acc;
        for (uint256 j; j < _x.length; ++j) {
            int32 t = sat32(int256(l) - int256(subSat(_x[j], m)));
            acc = wadd(acc, rshr(mulWide(_y[j], t), FRAC_BITS));
        }
        loss_ = sat32(acc);
    }

    ////////////////////////////////////////////////////////////////
    //                          INTERNAL                          //
    ////////////////////////////////////////////////////////////////

    /// @dev `rshr` without the range check, on an `int256` holding a value of magnitude
    ///      below `2^254`, for `1 <= s <= 62`. Branch-free: with `q = x >> s` (floor),
    ///      `r` the low `s` bits and `h = 2^(s-1)`, "`r > h`, or `r == h` and `q` odd" is
    ///      exactly `r + (q & 1) > h` (as `r < 2h`), so the result is `q + (r + (q & 1) > h)`.
    function _rshr(int256 _x, uint256 _s) private pure returns (int256 y_) {
        assembly ("memory-safe") {
            let q := sar(_s, _x)
            let unit := shl(_s, 1)
            let r := and(_x, sub(unit, 1))
            y_ := add(q, gt(add(r, and(q, 1)), shr(1, unit)))
        }
    }

    /// @dev Reverts unless a row length is in `1..MAX_REDUCE`.
    function _checkRow(uint256 _length) private pure {
        if (_length == 0 || _length > MAX_REDUCE) revert RowLengthOutOfRange(_length, MAX_REDUCE);
    }
}
