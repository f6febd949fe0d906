// Shared part of the row kernels (Softmax, SoftmaxXentGrad, XentLoss, Argmax): one
// invocation per row of the row-major `[rows, n]` input `in0`, `n <= MAX_REDUCE`. An
// invocation reads each element of its row before it writes that element's output, so
// the output may share a binding with an input (in-place operators).

struct Params {
    rows: u32,
    n: u32,
    // Q16.16 constant (SoftmaxXentGrad's scale).
    c: i32,
    _pad: u32,
}

fn row_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return flat_group(wg, nwg) * ROW_GROUP + li;
}

fn row_max(base: u32) -> i32 {
    var m = ld0(base);
    for (var j = 1u; j < P.n; j++) {
        m = max(m, ld0(base + j));
    }
    return m;
}

// `sum_j exp_neg(x_j - max)`: below 2^23 for rows of at most 128, so 32 bits are exact.
fn row_exp_sum(base: u32, m: i32) -> i32 {
    var s = 0i;
    for (var j = 0u; j < P.n; j++) {
        s += exp_neg(sub_sat(ld0(base + j), m));
    }
    return s;
}
