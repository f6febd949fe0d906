// SumRows: `dst[j] = sat32(sum_r in0[r, j])` over at most MAX_REDUCE rows; the 64-bit
// sum is exact, so the order does not matter.

struct Params {
    width: u32,
    rows: u32,
    _pad0: u32,
    _pad1: u32,
}

@compute @workgroup_size(ELEMENT_GROUP)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let j = flat_group(wg, nwg) * ELEMENT_GROUP + li;
    if j >= P.width {
        return;
    }
    var acc = w_i32(0);
    for (var r = 0u; r < P.rows; r++) {
        acc = add64(acc, w_i32(ld0(r * P.width + j)));
    }
    st(j, sat32(acc));
}
