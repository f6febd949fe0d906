// The f32 instantiation of matmul.wgsl, a throughput baseline only (never used for
// results): same tiling, `fma` accumulation, one chunk spanning all of `k`.

alias Elem = f32;
alias Acc = f32;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn ld0(i: u32) -> f32 { return in0[i]; }

fn ld1(i: u32) -> f32 { return in1[i]; }

fn acc_zero() -> Acc { return 0.0; }

fn mac(acc: Acc, a: f32, b: f32) -> Acc { return fma(a, b, acc); }

fn store_acc(i: u32, acc: Acc) { dst[i] = acc; }
