// Transpose: `dst[c, r] = in0[r, c]` for `in0` of shape `[rows, cols]`.

struct Params {
    len: u32,
    rows: u32,
    cols: u32,
    _pad: u32,
}

@compute @workgroup_size(ELEMENT_GROUP)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let i = flat_group(wg, nwg) * ELEMENT_GROUP + li;
    if i < P.len {
        st(i, ld0((i % P.rows) * P.cols + i / P.rows));
    }
}
