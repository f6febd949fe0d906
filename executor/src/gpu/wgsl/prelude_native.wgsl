// 64-bit helpers on native `i64` (the adapter has SHADER_INT64).
//
// `prelude_emulated.wgsl` defines the same names on a pair of `u32`; every kernel is
// written against these names only, so both paths give the same bits. Values of `W`
// are two's-complement 64-bit integers and all arithmetic on them wraps.

alias W = i64;

fn w_i32(x: i32) -> W { return i64(x); }

fn w_u32(x: u32) -> W { return i64(x); }

// The low 32 bits.
fn w_lo(x: W) -> u32 { return u32(bitcast<u64>(x) & 0xfffffffflu); }

fn add64(a: W, b: W) -> W { return a + b; }

fn sub64(a: W, b: W) -> W { return a - b; }

// Exact signed product.
fn mul_wide(a: i32, b: i32) -> W { return i64(a) * i64(b); }

// Exact unsigned product (as 64 bits).
fn mulu_wide(a: u32, b: u32) -> W { return bitcast<i64>(u64(a) * u64(b)); }

// Arithmetic shift right, `s` in 0..=63.
fn shr64(x: W, s: u32) -> W { return x >> s; }

// `x / 2^s` rounded half to even, `s` in 0..=62 (numerics.rs `shr_round_even`).
fn shr_round_even(x: W, s: u32) -> W {
    if s == 0u {
        return x;
    }
    let q = x >> s;
    let r = bitcast<u64>(x) & ((1lu << s) - 1lu);
    let half = 1lu << (s - 1u);
    let up = r > half || (r == half && (q & 1li) == 1li);
    return select(q, q + 1li, up);
}

fn sat32(x: W) -> i32 { return i32(clamp(x, i64(-2147483648), 2147483647li)); }

// `floor(n / d)` for `n >= 0` whose quotient fits in `u32` (`n < d * 2^32`), `d > 0`.
fn divu_64_32(n: W, d: u32) -> u32 { return u32(bitcast<u64>(n) / u64(d)); }

// Matrix-product accumulator: a wrapping 64-bit sum of `mul_wide` products.
alias Acc = i64;

fn acc_zero() -> Acc { return 0li; }

fn mac(acc: Acc, a: i32, b: i32) -> Acc { return acc + i64(a) * i64(b); }

fn acc_value(acc: Acc) -> W { return acc; }
