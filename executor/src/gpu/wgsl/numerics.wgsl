// The scalar semantics of numerics.rs, written once on the 64-bit helpers of the
// prelude. The constants (FRAC_BITS, ONE, LOG2E_Q16, LN2_Q31, EXP_CUTOFF,
// EXP2_POLY_Q28) are generated from numerics.rs when the shader is assembled.

// Truncation to 32 bits (`as i32`); only used where the value is known to fit.
fn w_to_i32(x: W) -> i32 { return i32(w_lo(x)); }

fn add_sat(a: i32, b: i32) -> i32 { return sat32(add64(w_i32(a), w_i32(b))); }

fn sub_sat(a: i32, b: i32) -> i32 { return sat32(sub64(w_i32(a), w_i32(b))); }

fn fx_mul(a: i32, b: i32) -> i32 { return sat32(shr_round_even(mul_wide(a, b), FRAC_BITS)); }

fn fx_from_acc(acc: W) -> i32 { return sat32(shr_round_even(acc, FRAC_BITS)); }

// `e^d` for `d <= 0` (numerics.rs `exp_neg`). `y` is at most 35 * 2^16 in magnitude,
// so `n` and `f` are taken in 32 bits; the Horner terms stay below 2^30.
fn exp_neg(d_in: i32) -> i32 {
    let d = min(d_in, 0);
    if d <= EXP_CUTOFF {
        return 0;
    }
    let y = w_to_i32(shr_round_even(mul_wide(d, LOG2E_Q16), FRAC_BITS));
    let n = y >> FRAC_BITS;
    let f = y & (ONE - 1);
    let poly = EXP2_POLY_Q28;
    var p = poly[7];
    for (var k = 6i; k >= 0i; k--) {
        p = w_to_i32(shr_round_even(mul_wide(p, f), FRAC_BITS)) + poly[k];
    }
    let shift = u32(min(12 - n, 62));
    return w_to_i32(shr_round_even(w_i32(p), shift));
}

// `ln(s)` for `s >= 1.0` (numerics.rs `ln_ge1`). The mantissa `m` stays below 2^31
// between rounds, so it lives in a `u32` and only its square needs 64 bits.
fn ln_ge1(s_in: i32) -> i32 {
    let s = u32(max(s_in, ONE));
    let msb = firstLeadingBit(s);
    let int_part = i32(msb) - i32(FRAC_BITS);
    var m = s << (30u - msb);
    var frac = 0i;
    for (var i = 0u; i < 16u; i++) {
        m = w_lo(shr64(mulu_wide(m, m), 30u));
        if m >= 0x80000000u {
            frac |= 1i << (15u - i);
            m >>= 1u;
        }
    }
    let log2 = (int_part << FRAC_BITS) | frac;
    return w_to_i32(shr_round_even(mul_wide(log2, LN2_Q31), 31u));
}

// One softmax probability, `floor((e * 2^16 + floor(s / 2)) / s)`, from the
// exponential `e` of the element and the row's exponential sum `s >= 1.0`.
fn softmax_prob(e: i32, s: i32) -> i32 {
    let num = add64(mulu_wide(u32(e), u32(ONE)), w_u32(u32(s) >> 1u));
    return i32(divu_64_32(num, u32(s)));
}
