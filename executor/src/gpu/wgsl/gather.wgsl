// Gather: `dst[b, c] = table[index[row, b] mod R, c]` with `in0` = table `[R, C]`,
// `in1` = index `[T, B]` and `row_off` = `(step mod T) * B`, set by the host per step.

struct Params {
    len: u32,
    cols: u32,
    rows: u32,
    row_off: u32,
}

@compute @workgroup_size(ELEMENT_GROUP)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let i = flat_group(wg, nwg) * ELEMENT_GROUP + li;
    if i >= P.len {
        return;
    }
    let b = i / P.cols;
    let c = i % P.cols;
    // Euclidean remainder in unsigned arithmetic (signed `%` of a negative operand is
    // not portable across backends): a negative index `-m` maps to `(R - m mod R) mod R`.
    let idx = ld1(P.row_off + b);
    var src = u32(idx) % P.rows;
    if idx < 0 {
        src = (P.rows - (0u - u32(idx)) % P.rows) % P.rows;
    }
    st(i, ld0(src * P.cols + c));
}
