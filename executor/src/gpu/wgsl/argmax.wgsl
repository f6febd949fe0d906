// Argmax: index of the first largest element of each row of `in0`.

@compute @workgroup_size(ROW_GROUP)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let r = row_index(wg, nwg, li);
    if r >= P.rows {
        return;
    }
    let base = r * P.n;
    var best = 0u;
    var best_v = ld0(base);
    for (var j = 1u; j < P.n; j++) {
        let v = ld0(base + j);
        if v > best_v {
            best = j;
            best_v = v;
        }
    }
    st(r, i32(best));
}
