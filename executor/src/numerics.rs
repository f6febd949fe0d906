//! Scalar integer primitives: the single Rust statement of `docs/numerics.md`.
//!
//! Every operator of the executor is written in terms of these functions, and the
//! WGSL kernels and the Solidity evaluator reproduce them. Nothing here touches a
//! float: the same inputs give the same bits on every machine.

/// Fractional bits of the Q16.16 fixed-point format.
pub const FRAC_BITS: u32 = 16;

/// The fixed-point value 1.0 (raw `2^16`).
pub const ONE: i32 = 1 << FRAC_BITS;

/// `round(log2(e) * 2^16)`, used to turn `e^x` into `2^(x * log2 e)`.
pub const LOG2E_Q16: i32 = 94_548;

/// `round(ln(2) * 2^31)`, used to turn `log2` into `ln`.
pub const LN2_Q31: i32 = 1_488_522_236;

/// Below this argument (`-24.0`), `exp` is zero: `e^-24` is far under half an ulp.
pub const EXP_CUTOFF: i32 = -(24 << FRAC_BITS);

/// Taylor coefficients of `2^f = sum (ln 2)^k / k! * f^k` for `k = 0..=7`, each
/// `round(c_k * 2^28)`.
pub const EXP2_POLY_Q28: [i32; 8] =
    [268_435_456, 186_065_279, 64_485_312, 14_899_271, 2_581_847, 357_920, 41_349, 4_094];

/// Clamps a wide value into `i32` (saturation).
#[inline]
pub fn sat32(x: i64) -> i32 {
    x.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// Two's-complement product of two `i32`s, exact in `i64`.
#[inline]
pub fn mul_wide(a: i32, b: i32) -> i64 {
    a as i64 * b as i64
}

/// `x / 2^s` rounded to the nearest integer, ties to even, for `s` in `0..=62`.
///
/// Written without any intermediate that can overflow: the floor quotient is an
/// arithmetic shift, the remainder is the low `s` bits.
#[inline]
pub fn shr_round_even(x: i64, s: u32) -> i64 {
    debug_assert!(s <= 62, "shift {s} out of range");
    if s == 0 {
        return x;
    }
    let q = x >> s;
    let r = (x as u64) & ((1u64 << s) - 1);
    let half = 1u64 << (s - 1);
    if r > half || (r == half && (q & 1) == 1) { q + 1 } else { q }
}

/// Saturating addition.
#[inline]
pub fn add_sat(a: i32, b: i32) -> i32 {
    sat32(a as i64 + b as i64)
}

/// Saturating subtraction.
#[inline]
pub fn sub_sat(a: i32, b: i32) -> i32 {
    sat32(a as i64 - b as i64)
}

/// Q16.16 product: widen, round half to even, saturate.
#[inline]
pub fn fx_mul(a: i32, b: i32) -> i32 {
    sat32(shr_round_even(mul_wide(a, b), FRAC_BITS))
}

/// Rescales a wrapped `i64` accumulator of Q32.32 products back to Q16.16.
#[inline]
pub fn fx_from_acc(acc: i64) -> i32 {
    sat32(shr_round_even(acc, FRAC_BITS))
}

/// `e^d` in Q16.16 for `d <= 0` (a positive `d` is treated as 0).
///
/// `e^d = 2^y` with `y = d * log2 e` rounded to Q16.16; `y = n + f` with integer
/// `n <= 0` and `f` in `[0, 1)`; `2^f` is a degree-7 polynomial evaluated by Horner's
/// rule in Q28, and the result is shifted right by `12 - n` with rounding.
pub fn exp_neg(d: i32) -> i32 {
    let d = d.min(0);
    if d <= EXP_CUTOFF {
        return 0;
    }
    let y = shr_round_even(mul_wide(d, LOG2E_Q16), FRAC_BITS);
    let n = y >> FRAC_BITS;
    let f = (y - (n << FRAC_BITS)) as i32;
    let mut p = EXP2_POLY_Q28[7];
    for k in (0..7).rev() {
        p = shr_round_even(mul_wide(p, f), FRAC_BITS) as i32 + EXP2_POLY_Q28[k];
    }
    let shift = (12 - n).min(62) as u32;
    shr_round_even(p as i64, shift) as i32
}

/// `ln(s)` in Q16.16 for a Q16.16 `s` in `[1.0, 2^15)` (raw `[65536, 2^31)`); values
/// below 1.0 are treated as 1.0.
///
/// `log2` by normalising to a Q30 mantissa in `[1, 2)` and 16 rounds of squaring
/// (each round yields one fractional bit, floor), then one multiply by `ln 2`.
pub fn ln_ge1(s: i32) -> i32 {
    let s = s.max(ONE) as u32;
    let msb = 31 - s.leading_zeros();
    let int_part = (msb - FRAC_BITS) as i64;
    let mut m = (s as u64) << (30 - msb);
    let mut frac = 0i64;
    for i in 0..16 {
        m = (m * m) >> 30;
        if m >= 1 << 31 {
            frac |= 1 << (15 - i);
            m >>= 1;
        }
    }
    let log2 = ((int_part << FRAC_BITS) | frac) as i32;
    shr_round_even(mul_wide(log2, LN2_Q31), 31) as i32
}

/// Softmax of one row: writes Q16.16 probabilities into `out` and returns the
/// exponential sum `S` (Q16.16, at least 1.0) used by the cross-entropy.
///
/// `p_j = floor((e_j * 2^16 + floor(S / 2)) / S)` with `e_j = exp_neg(x_j - max)`.
pub fn softmax_row(x: &[i32], out: &mut [i32]) -> i32 {
    // Each exponential is computed once: first into `out`, then divided in place.
    let m = row_max(x);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp_neg(sub_sat(v, m));
    }
    let s = out.iter().map(|&e| e as i64).sum::<i64>() as i32;
    for o in out.iter_mut() {
        *o = ((((*o as u64) << FRAC_BITS) + (s as u64 >> 1)) / s as u64) as i32;
    }
    s
}

/// Largest element of a non-empty row.
#[inline]
pub fn row_max(x: &[i32]) -> i32 {
    x.iter().copied().max().unwrap_or(0)
}

/// `S = sum_j exp_neg(x_j - max)`, exact (the row length is bounded, so it fits).
pub fn exp_sum_row(x: &[i32]) -> i32 {
    let m = row_max(x);
    x.iter().map(|&v| exp_neg(sub_sat(v, m)) as i64).sum::<i64>() as i32
}

/// Cross-entropy of one row against (possibly soft) labels, Q16.16:
/// `sat32(sum_j round(y_j * sat32(ln S - (x_j - max))))`.
pub fn xent_row(x: &[i32], y: &[i32]) -> i32 {
    let m = row_max(x);
    let l = ln_ge1(exp_sum_row(x));
    let mut acc = 0i64;
    for (&v, &t) in x.iter().zip(y) {
        let nll = sat32(l as i64 - sub_sat(v, m) as i64);
        acc = acc.wrapping_add(shr_round_even(mul_wide(t, nll), FRAC_BITS));
    }
    sat32(acc)
}

/// Converts a decimal value to Q16.16, rounding to nearest (ties away from zero) and
/// saturating. Used only when compiling a job spec, never inside an operator.
pub fn fx_from_f64(v: f64) -> i32 {
    let scaled = (v * ONE as f64).round();
    if scaled.is_nan() { 0 } else { scaled.clamp(i32::MIN as f64, i32::MAX as f64) as i32 }
}

/// Converts Q16.16 to `f64` (exact). For reports and the float reference only.
pub fn fx_to_f64(v: i32) -> f64 {
    v as f64 / ONE as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_even_ties() {
        assert_eq!(shr_round_even(1, 1), 0); // 0.5 -> 0
        assert_eq!(shr_round_even(3, 1), 2); // 1.5 -> 2
        assert_eq!(shr_round_even(5, 1), 2); // 2.5 -> 2
        assert_eq!(shr_round_even(-1, 1), 0); // -0.5 -> 0
        assert_eq!(shr_round_even(-3, 1), -2); // -1.5 -> -2
        assert_eq!(shr_round_even(-5, 1), -2); // -2.5 -> -2
        assert_eq!(shr_round_even(7, 2), 2); // 1.75 -> 2
        assert_eq!(shr_round_even(i64::MAX, 62), 2);
        assert_eq!(shr_round_even(i64::MIN, 62), -2);
    }

    #[test]
    fn fx_mul_saturates() {
        assert_eq!(fx_mul(ONE, ONE), ONE);
        assert_eq!(fx_mul(i32::MAX, i32::MAX), i32::MAX);
        assert_eq!(fx_mul(i32::MIN, i32::MAX), i32::MIN);
        assert_eq!(fx_mul(-ONE, ONE / 2), -ONE / 2);
    }

    #[test]
    fn exp_is_accurate() {
        assert_eq!(exp_neg(0), ONE);
        assert_eq!(exp_neg(i32::MIN), 0);
        for i in 0..2000 {
            let d = -i * 400;
            let got = fx_to_f64(exp_neg(d));
            let want = fx_to_f64(d).exp();
            assert!((got - want).abs() < 3.0 / ONE as f64, "exp({d}) = {got}, want {want}");
        }
    }

    #[test]
    fn exp_is_monotone() {
        let mut prev = 0;
        for d in (-(25 << 16)..=0).step_by(97) {
            let e = exp_neg(d);
            assert!(e >= prev, "exp not monotone at {d}");
            prev = e;
        }
    }

    #[test]
    fn ln_is_accurate() {
        assert_eq!(ln_ge1(ONE), 0);
        for s in (ONE..i32::MAX - 10_000_000).step_by(10_000_019) {
            let got = fx_to_f64(ln_ge1(s));
            let want = fx_to_f64(s).ln();
            assert!((got - want).abs() < 3.0 / ONE as f64, "ln({s}) = {got}, want {want}");
        }
    }

    #[test]
    fn softmax_sums_to_one() {
        let row = [ONE, 2 * ONE, -3 * ONE, 0, 5 * ONE / 2];
        let mut p = [0; 5];
        softmax_row(&row, &mut p);
        let total: i32 = p.iter().sum();
        assert!((total - ONE).abs() <= 3, "total {total}");
    }

    #[test]
    fn xent_matches_float() {
        let row = [ONE, 2 * ONE, -3 * ONE, 0];
        let y = [0, ONE, 0, 0];
        let got = fx_to_f64(xent_row(&row, &y));
        let lse = row.iter().map(|&v| fx_to_f64(v).exp()).sum::<f64>().ln();
        let want = lse - 2.0;
        assert!((got - want).abs() < 4.0 / ONE as f64, "{got} vs {want}");
    }
}
