// Tiled, chunked matrix product `dst[s, i, j] = store_acc(sum over chunk s of A[i, k] B[k, j])`.
//
// Written once for any element type: the including module defines `Elem`, the
// accumulator `Acc` with `acc_zero` and `mac`, `ld0` / `ld1` (A and B) and `store_acc`.
// The deterministic kernel instantiates it with `i32` and a wrapping 64-bit
// accumulator, the f32 benchmark baseline with `f32` and `fma`.
//
// A workgroup of 16 x 16 invocations computes one TILE x TILE (64 x 64) tile of one
// chunk; each invocation owns a 4 x 4 block of outputs strided by 16 (conflict-free shared-memory
// reads, coalesced stores). The chunk's reduction range is walked in slices of 16 staged
// in workgroup memory, zero-padded past the chunk's end, the matrix edges and the
// operands' edges; a zero product leaves a wrapping sum unchanged, so padding never
// changes a bit.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Reduction chunk length (`k` for a plain product).
    kc: u32,
    tiles_n: u32,
    // Tiles per chunk.
    tiles: u32,
    // Workgroups that do work (the grid may have a few more).
    groups: u32,
    _pad: u32,
    // Element strides: A[i, k] = in0[i * a_i + k * a_k], B[k, j] = in1[k * b_k + j * b_j].
    a_i: u32,
    a_k: u32,
    b_k: u32,
    b_j: u32,
}

const BM: u32 = TILE;
const BN: u32 = TILE;
const BK: u32 = 16u;
const TM: u32 = 4u;
const TN: u32 = 4u;
const THREADS: u32 = 256u;
const_assert BM == 16u * TM && BN == 16u * TN;

// Slice of A as [kk][row], slice of B as [kk][col].
var<workgroup> tile_a: array<Elem, BK * BM>;
var<workgroup> tile_b: array<Elem, BK * BN>;

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let g = flat_group(wg, nwg);
    if g >= P.groups {
        return;
    }
    let chunk = g / P.tiles;
    let t = g % P.tiles;
    let row0 = (t / P.tiles_n) * BM;
    let col0 = (t % P.tiles_n) * BN;
    let k_lo = chunk * P.kc;
    let k_hi = min(k_lo + P.kc, P.k);
    let tid = lid.y * 16u + lid.x;

    var acc: array<Acc, TM * TN>;
    for (var e = 0u; e < TM * TN; e++) {
        acc[e] = acc_zero();
    }

    for (var k0 = k_lo; k0 < k_hi; k0 += BK) {
        // Neighbouring invocations load neighbouring addresses: along k when the
        // operand is contiguous in k, along rows / columns otherwise.
        for (var e = 0u; e < BK * BM / THREADS; e++) {
            let idx = tid + e * THREADS;
            var r = idx % BM;
            var kk = idx / BM;
            if P.a_k == 1u {
                r = idx / BK;
                kk = idx % BK;
            }
            let gr = row0 + r;
            let gk = k0 + kk;
            var v = Elem();
            if gr < P.m && gk < k_hi {
                v = ld0(gr * P.a_i + gk * P.a_k);
            }
            tile_a[kk * BM + r] = v;
        }
        for (var e = 0u; e < BK * BN / THREADS; e++) {
            let idx = tid + e * THREADS;
            var c = idx % BN;
            var kk = idx / BN;
            if P.b_k == 1u {
                c = idx / BK;
                kk = idx % BK;
            }
            let gc = col0 + c;
            let gk = k0 + kk;
            var v = Elem();
            if gc < P.n && gk < k_hi {
                v = ld1(gk * P.b_k + gc * P.b_j);
            }
            tile_b[kk * BN + c] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var a: array<Elem, TM>;
            var b: array<Elem, TN>;
            for (var i = 0u; i < TM; i++) {
                a[i] = tile_a[kk * BM + lid.y + 16u * i];
            }
            for (var j = 0u; j < TN; j++) {
                b[j] = tile_b[kk * BN + lid.x + 16u * j];
            }
            for (var i = 0u; i < TM; i++) {
                for (var j = 0u; j < TN; j++) {
                    acc[i * TN + j] = mac(acc[i * TN + j], a[i], b[j]);
                }
            }
        }
        workgroupBarrier();
    }

    let base = chunk * P.m * P.n;
    for (var i = 0u; i < TM; i++) {
        let gr = row0 + lid.y + 16u * i;
        for (var j = 0u; j < TN; j++) {
            let gc = col0 + lid.x + 16u * j;
            if gr < P.m && gc < P.n {
                store_acc(base + gr * P.n + gc, acc[i * TN + j]);
            }
        }
    }
}
