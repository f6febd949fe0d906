// Element-wise operators: `dst[i] = element(i)`. The host generates `element` from the
// operator's formula. It reads its inputs only at `i` (a bias at `i % n`, but a bias is
// never the output: its shape differs), which is what lets an input share the output's
// binding when an operator runs in place.

struct Params {
    len: u32,
    // Row length (AddBias).
    n: u32,
    // Q16.16 constant (Scale's factor, Sgd's learning rate).
    c: i32,
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
        st(i, element(i));
    }
}
