// SoftmaxXentGrad: `dst = fx_mul(sub_sat(softmax(in0), in1), c)` row by row, with
// `in0` = logits and `in1` = labels.

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
    let m = row_max(base);
    let s = row_exp_sum(base, m);
    for (var j = 0u; j < P.n; j++) {
        let p = softmax_prob(exp_neg(sub_sat(ld0(base + j), m)), s);
        st(base + j, fx_mul(sub_sat(p, ld1(base + j)), P.c));
    }
}
