//! Deterministic matrix product against `f32` on the same hardware, in one run.
//!
//! `cargo bench -p gavel-executor --bench matmul`. The ratios that docs/benchmarks.md
//! records are between entries of the same run: CPU fixed-point vs `matrixmultiply`'s
//! sgemm, and GPU fixed-point (native and emulated `i64`) vs an `f32` kernel with the
//! same tiling on the same adapter.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gavel_executor::{
    Backend, CpuBackend, F32MatMul, GpuBackend, GpuContext, GpuOptions, Inputs, Int64Mode, Memory, Op, Program,
    ProgramBuilder, SlotKind, SplitMix64,
};

const N: u32 = 512;
/// The longest chunk the program format allows: the fewest roundings per element.
const K_CHUNK: u32 = 128;

fn random(len: usize, seed: u64) -> Vec<i32> {
    let mut rng = SplitMix64::new(seed);
    // Realistic magnitudes: |x| < 2.0 in Q16.16.
    (0..len).map(|_| rng.below(1 << 18) as i32 - (1 << 17)).collect()
}

/// `c = a x b` for 512 x 512 operands: four 128-long chunks, then their sum.
fn program() -> (Arc<Program>, Memory) {
    let mut inputs = Inputs::new();
    let mut b = ProgramBuilder::new();
    let len = (N * N) as usize;
    let a = b.slot("a", &[N, N], SlotKind::Const { data: inputs.insert(random(len, 1)) });
    let bb = b.slot("b", &[N, N], SlotKind::Const { data: inputs.insert(random(len, 2)) });
    let chunks = b.scratch("chunks", &[N / K_CHUNK, N, N]);
    b.push(Op::MatMul { a, b: bb, out: chunks, trans_a: false, trans_b: false, k_chunk: K_CHUNK });
    let c = b.scratch("c", &[N, N]);
    b.push(Op::SumRows { a: chunks, out: c });
    let p = Arc::new(b.build_unbounded(1).expect("valid program"));
    let memory = Memory::initial(&p, &inputs).expect("inputs present");
    (p, memory)
}

fn bench(c: &mut Criterion) {
    let flops = 2 * (N as u64).pow(3);
    let mut g = c.benchmark_group("matmul_512");
    g.throughput(Throughput::Elements(flops)).sample_size(10).measurement_time(Duration::from_secs(8));

    let (p, memory) = program();
    let mut cpu = CpuBackend::new(p.clone(), memory.clone());
    g.bench_function("cpu_fixed", |bench| bench.iter(|| cpu.run_step(0).expect("runs")));

    let a: Vec<f32> = random((N * N) as usize, 1).iter().map(|&v| v as f32 / 65536.0).collect();
    let bm: Vec<f32> = random((N * N) as usize, 2).iter().map(|&v| v as f32 / 65536.0).collect();
    let mut out = vec![0f32; (N * N) as usize];
    let n = N as usize;
    g.bench_function("cpu_f32_sgemm", |bench| {
        bench.iter(|| {
            // SAFETY: a, bm and out are n x n row-major buffers.
            unsafe {
                matrixmultiply::sgemm(
                    n,
                    n,
                    n,
                    1.0,
                    a.as_ptr(),
                    n as isize,
                    1,
                    bm.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
            black_box(&out);
        })
    });

    for (label, mode) in [("gpu_fixed_native", Int64Mode::Native), ("gpu_fixed_emulated", Int64Mode::Emulated)] {
        let ctx = match GpuContext::new(&GpuOptions { int64: mode }) {
            Ok(ctx) => ctx,
            Err(e) => {
                eprintln!("{label}: skipped ({e})");
                continue;
            }
        };
        let mut gpu = GpuBackend::new(ctx.clone(), p.clone(), memory.clone()).expect("gpu backend");
        g.bench_function(label, |bench| {
            bench.iter(|| {
                gpu.run_step(0).expect("runs");
                ctx.wait_idle().expect("idle");
            })
        });
        if mode == Int64Mode::Native {
            let f32mm = F32MatMul::new(ctx.clone(), N, N, N).expect("f32 kernel");
            f32mm.write_inputs(&a, &bm);
            g.bench_function("gpu_f32", |bench| {
                bench.iter(|| {
                    f32mm.dispatch().expect("runs");
                    ctx.wait_idle().expect("idle");
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
