//! Commitment benchmarks (`docs/benchmarks.md`, "Commitments (prover)"):
//!
//! - `tensor_root`: a 1 MiB tensor's root against raw keccak256 of the same bytes;
//! - `step_roots`: hashing after one digits step: all 21 slots the step body writes
//!   (52 KiB) and the memory root against raw keccak256 of the same bytes; the 5 of them
//!   the recorder re-hashes (the state slots: the other 16 are cleared, and their roots
//!   are those of zeros); the whole initial memory (`h_0`, once per recording);
//! - `digits_overhead`: 200 digits training steps plain, with a root every step on the
//!   recorder thread, and into a store with k = 1 and k = 16; the store's bytes per step
//!   are printed first (the interleaved `overhead` bench gives the ratios);
//! - `op_query`: the op-level roots of one step from a store with k = 1 (re-execute one
//!   step) and the worst case with k = 16 (15 whole steps, then the step op by op).
//!
//! `cargo bench -p gavel-prover --bench commit`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gavel_executor::{Backend, CompiledJob, CpuBackend, Hash32, JobSpec, Memory, SlotId, TrainOptions, train};
use gavel_prover::{MemoryRoots, TraceStore, TraceWriter, Traced, tensor_root};

const STEPS: u64 = 200;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn digits() -> CompiledJob {
    let mut spec = JobSpec::load(&repo().join("examples/digits.toml")).expect("digits spec");
    spec.job.steps = STEPS;
    spec.compile().expect("digits compiles")
}

fn cpu(job: &CompiledJob) -> CpuBackend {
    let program = Arc::new(job.program.clone());
    let memory = Memory::initial(&program, &job.inputs).unwrap();
    CpuBackend::new(program, memory)
}

fn record(job: &CompiledJob, dir: &Path, every: u64) {
    let mut backend = cpu(job);
    let writer = TraceWriter::create(dir, Arc::new(job.program.clone()), &job.inputs, every).unwrap();
    let mut traced = Traced::new(&mut backend, writer);
    train(job, &mut traced, &TrainOptions::default(), |_| {}).unwrap();
    traced.finish().unwrap();
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { dir_bytes(&p) } else { p.metadata().unwrap().len() }
        })
        .sum()
}

fn tensor_root_vs_keccak(c: &mut Criterion) {
    let n = 1 << 18; // 1 MiB of i32
    let values: Vec<i32> = (0..n).map(|i: i32| i.wrapping_mul(0x9e37_79b9u32 as i32)).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut g = c.benchmark_group("tensor_root");
    g.throughput(Throughput::Bytes(bytes.len() as u64)).sample_size(20).measurement_time(Duration::from_secs(4));
    g.bench_function("raw_keccak256", |b| b.iter(|| Hash32::of(std::hint::black_box(&bytes))));
    g.bench_function("tensor_root_1_thread", |b| {
        b.iter(|| one.install(|| tensor_root(&[n as u32], std::hint::black_box(&values)).unwrap()))
    });
    g.bench_function("tensor_root_rayon", |b| {
        b.iter(|| tensor_root(&[n as u32], std::hint::black_box(&values)).unwrap())
    });
    g.finish();
}

/// The hashing of one digits step: every slot the step body writes re-hashed and the
/// memory root taken, against raw keccak256 of the same bytes; then what the recorder
/// re-hashes, the written slots the body does not clear. The values are those of the
/// program without its clears, after three steps (hashing costs the same for any values).
fn step_roots(c: &mut Criterion) {
    let job = digits();
    let cleared = job.program.cleared_slots();
    let program = Arc::new(job.program.without_clears());
    let mut be = CpuBackend::new(program.clone(), Memory::initial(&program, &job.inputs).unwrap());
    for step in 0..3 {
        be.run_step(step).unwrap();
    }
    let mut written: Vec<SlotId> = program.ops.iter().map(|op| op.output()).collect();
    written.sort();
    written.dedup();
    let values: Vec<Vec<i32>> = written.iter().map(|&id| be.read_slot(id).unwrap()).collect();
    let slots: Vec<(SlotId, &[i32])> = written.iter().zip(&values).map(|(&id, v)| (id, v.as_slice())).collect();
    let recorded: Vec<(SlotId, &[i32])> = slots.iter().copied().filter(|(id, _)| !cleared[*id as usize]).collect();
    let bytes: Vec<u8> = values.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let mut roots = MemoryRoots::new(&program, be.memory()).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut g = c.benchmark_group("step_roots");
    g.throughput(Throughput::Bytes(bytes.len() as u64)).sample_size(50).measurement_time(Duration::from_secs(3));
    g.bench_function("raw_keccak256", |b| b.iter(|| Hash32::of(std::hint::black_box(&bytes))));
    // The recorder hands over 8 steps at once and hashes them as one batch: here the
    // same slots 8 times, and 8 memory roots one by one (the recorder batches those too).
    let eight: Vec<(SlotId, &[i32])> = (0..8).flat_map(|_| recorded.iter().copied()).collect();
    g.throughput(Throughput::Bytes(eight.iter().map(|(_, v)| 4 * v.len() as u64).sum()));
    g.bench_function("recorded_slots_8_steps_and_roots_1_thread", |b| {
        b.iter_custom(|iters| {
            one.install(|| {
                let t = std::time::Instant::now();
                for _ in 0..iters {
                    roots.update_many(std::hint::black_box(&eight)).unwrap();
                    for _ in 0..8 {
                        std::hint::black_box(roots.root());
                    }
                }
                t.elapsed()
            })
        })
    });
    for (name, hashed) in [("written_slots_and_root_1_thread", &slots), ("recorded_slots_and_root_1_thread", &recorded)]
    {
        g.throughput(Throughput::Bytes(hashed.iter().map(|(_, v)| 4 * v.len() as u64).sum()));
        g.bench_function(name, |b| {
            // The whole timed loop inside a one-thread pool: no iteration pays a
            // hand-over between threads.
            b.iter_custom(|iters| {
                one.install(|| {
                    let t = std::time::Instant::now();
                    for _ in 0..iters {
                        roots.update_many(std::hint::black_box(hashed)).unwrap();
                        std::hint::black_box(roots.root());
                    }
                    t.elapsed()
                })
            })
        });
    }
    g.finish();
    // The one-time cost of a recording: every slot of the memory hashed (the training
    // set is a constant slot).
    let memory = be.memory().clone();
    let mut g = c.benchmark_group("step_roots");
    let bytes: usize = (0..memory.len()).map(|i| 4 * memory.slot(i as SlotId).len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64)).sample_size(30).measurement_time(Duration::from_secs(3));
    g.bench_function("whole_memory_h0", |b| b.iter(|| MemoryRoots::new(&program, &memory).unwrap().root()));
    g.finish();
}

fn digits_overhead(c: &mut Criterion) {
    let job = digits();
    let program = Arc::new(job.program.clone());
    for every in [1, 16] {
        let dir = tempfile::tempdir().unwrap();
        record(&job, dir.path(), every);
        let total = dir_bytes(dir.path());
        let inputs: u64 = dir_bytes(&dir.path().join("inputs"));
        eprintln!(
            "store, k = {every}: {total} bytes for {STEPS} steps = {:.0} bytes/step ({} bytes of inputs, {:.0} bytes/step without them)",
            total as f64 / STEPS as f64,
            inputs,
            (total - inputs) as f64 / STEPS as f64
        );
    }
    let mut g = c.benchmark_group("digits_overhead");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    g.bench_function("train", |b| {
        b.iter_batched(
            || cpu(&job),
            |mut be| train(&job, &mut be, &TrainOptions::default(), |_| {}).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("train_root_every_step", |b| {
        b.iter_batched(
            || cpu(&job),
            |mut be| {
                let writer = TraceWriter::in_memory(program.clone(), be.memory().clone()).unwrap();
                let mut traced = Traced::new(&mut be, writer);
                train(&job, &mut traced, &TrainOptions::default(), |_| {}).unwrap();
                traced.finish().unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("steps_plain", |b| {
        b.iter_batched(
            || cpu(&job),
            |mut be| {
                for step in 0..STEPS {
                    be.run_step(step).unwrap();
                }
            },
            BatchSize::LargeInput,
        )
    });
    for every in [1, 16] {
        g.bench_function(format!("train_store_k{every}"), |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| record(&job, dir.path(), every),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn op_query(c: &mut Criterion) {
    let job = digits();
    let mut g = c.benchmark_group("op_query");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let full = tempfile::tempdir().unwrap();
    record(&job, full.path(), 1);
    let mut store = TraceStore::open(full.path()).unwrap();
    let mut flip = false;
    g.bench_function("op_roots_k1", |b| {
        b.iter(|| {
            // Alternate between two steps so that no query is served from the cache.
            flip = !flip;
            store.op_roots(if flip { 100 } else { 57 }).unwrap()
        })
    });
    let sparse = tempfile::tempdir().unwrap();
    record(&job, sparse.path(), 16);
    let mut store = TraceStore::open(sparse.path()).unwrap();
    g.bench_function("op_roots_k16_worst", |b| {
        b.iter(|| {
            // Steps 16m + 15: 15 whole steps from the kept checkpoint, then the step.
            flip = !flip;
            store.op_roots(if flip { 111 } else { 47 }).unwrap()
        })
    });
    g.bench_function("open_store_and_prove_element_k16", |b| {
        b.iter(|| {
            let mut s = TraceStore::open(sparse.path()).unwrap();
            s.open_element(gavel_prover::Position::Op { step: 47, op: 11 }, job.params[0].weight, 5).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, tensor_root_vs_keccak, step_roots, digits_overhead, op_query);
criterion_main!(benches);
