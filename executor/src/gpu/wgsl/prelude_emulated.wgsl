// 64-bit helpers on a pair of `u32` (`x` = low word, `y` = high word), for adapters
// without SHADER_INT64.
//
// Same names and the same bits as `prelude_native.wgsl`: values of `W` are
// two's-complement 64-bit integers and all arithmetic on them wraps. Shift counts are
// kept below 32 everywhere because WGSL masks them.

alias W = vec2<u32>;

fn w_i32(x: i32) -> W { return W(u32(x), u32(x >> 31u)); }

fn w_u32(x: u32) -> W { return W(x, 0u); }

// The low 32 bits.
fn w_lo(x: W) -> u32 { return x.x; }

fn add64(a: W, b: W) -> W {
    let lo = a.x + b.x;
    return W(lo, a.y + b.y + u32(lo < a.x));
}

fn sub64(a: W, b: W) -> W { return W(a.x - b.x, a.y - b.y - u32(a.x < b.x)); }

// Exact unsigned product from four 16x16-bit partial products, none of which overflows.
fn mulu_wide(a: u32, b: u32) -> W {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let mid = a0 * b1 + (p00 >> 16u);
    let mid2 = a1 * b0 + (mid & 0xffffu);
    return W((mid2 << 16u) | (p00 & 0xffffu), a1 * b1 + (mid >> 16u) + (mid2 >> 16u));
}

// Exact signed product: the unsigned product of the bit patterns, less 2^32 times each
// operand whose partner is negative (mod 2^64).
fn mul_wide(a: i32, b: i32) -> W {
    let p = mulu_wide(u32(a), u32(b));
    return W(p.x, p.y - select(0u, u32(b), a < 0) - select(0u, u32(a), b < 0));
}

// Arithmetic shift right, `s` in 0..=63.
fn shr64(x: W, s: u32) -> W {
    let sign = u32(i32(x.y) >> 31u);
    if s == 0u {
        return x;
    }
    if s < 32u {
        return W((x.x >> s) | (x.y << (32u - s)), u32(i32(x.y) >> s));
    }
    return W(u32(i32(x.y) >> (s - 32u)), sign);
}

// `x / 2^s` rounded half to even, `s` in 0..=62 (numerics.rs `shr_round_even`). The
// dropped remainder is compared with one half through its top bit (`half`) and whether
// any bit below it is set (`rest`).
fn shr_round_even(x: W, s: u32) -> W {
    if s == 0u {
        return x;
    }
    let q = shr64(x, s);
    let b = s - 1u;
    var half: bool;
    var rest: bool;
    if b < 32u {
        half = ((x.x >> b) & 1u) == 1u;
        rest = (x.x & ((1u << b) - 1u)) != 0u;
    } else {
        half = ((x.y >> (b - 32u)) & 1u) == 1u;
        rest = x.x != 0u || (x.y & ((1u << (b - 32u)) - 1u)) != 0u;
    }
    let up = half && (rest || (q.x & 1u) == 1u);
    return select(q, add64(q, W(1u, 0u)), up);
}

// In range exactly when the high word is the sign extension of the low word.
fn sat32(x: W) -> i32 {
    let lo = i32(x.x);
    if i32(x.y) == (lo >> 31u) {
        return lo;
    }
    return select(2147483647i, i32(-2147483648), i32(x.y) < 0);
}

// `floor(n / d)` for `n >= 0` whose quotient fits in `u32` (`n < d * 2^32`), `d > 0`:
// restoring division, one quotient bit per round. `carry` is the bit shifted out of
// `r`; when it is set the true remainder exceeds `d` and the wrapping subtraction is
// exact.
fn divu_64_32(n: W, d: u32) -> u32 {
    var r = n.y;
    var q = 0u;
    for (var i = 0u; i < 32u; i++) {
        let carry = (r >> 31u) == 1u;
        r = (r << 1u) | ((n.x >> (31u - i)) & 1u);
        q = q << 1u;
        if carry || r >= d {
            r -= d;
            q |= 1u;
        }
    }
    return q;
}

// Matrix-product accumulator that defers carries: with `a = a1 * 2^16 + a0` (`a1`
// signed, `a0` in 0..2^16) and the same for `b`,
//   a * b = a1 b1 2^32 + (a1 b0 + a0 b1) 2^16 + a0 b0,
// each partial product fits in 32 bits. `x` sums the 2^0 parts, `y` the 2^16 parts (each
// below 2^16, so 2^16 / 3 products fit, far above MAX_REDUCE), `z` wraps at 2^32 and
// holds the 2^32 parts, which is all of them a 64-bit result needs.
alias Acc = vec3<u32>;

fn acc_zero() -> Acc { return Acc(0u); }

fn mac(acc: Acc, a: i32, b: i32) -> Acc {
    let a1 = a >> 16u;
    let a0 = a & 0xffff;
    let b1 = b >> 16u;
    let b0 = b & 0xffff;
    let p00 = u32(a0) * u32(b0);
    let p10 = a1 * b0;
    let p01 = a0 * b1;
    return Acc(
        acc.x + (p00 & 0xffffu),
        acc.y + (p00 >> 16u) + (u32(p10) & 0xffffu) + (u32(p01) & 0xffffu),
        acc.z + u32(a1 * b1) + u32(p10 >> 16u) + u32(p01 >> 16u),
    );
}

fn acc_value(acc: Acc) -> W {
    return add64(W(acc.x, acc.z), W(acc.y << 16u, acc.y >> 16u));
}
