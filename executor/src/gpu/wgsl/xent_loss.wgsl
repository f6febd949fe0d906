// XentLoss: `dst[r] = xent_row(in0[r], in1[r])` (numerics.rs `xent_row`), with `in0` =
// logits and `in1` = labels.

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
    let l = w_i32(ln_ge1(row_exp_sum(base, m)));
    var acc = w_i32(0);
    for (var j = 0u; j < P.n; j++) {
        let nll = sat32(sub64(l, w_i32(sub_sat(ld0(base + j), m))));
        acc = add64(acc, shr_round_even(mul_wide(ld1(base + j), nll), FRAC_BITS));
    }
    st(r, sat32(acc));
}
