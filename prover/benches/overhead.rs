//! The commitment overhead of the digits run, measured in interleaved rounds
//! (`docs/benchmarks.md`, "Commitments (prover)").
//!
//! The entries of `commit.rs`'s `digits_overhead` group, each run once per round, in an
//! order that rotates from round to round, so that every ratio is between runs made
//! within a second of each other: on a shared, busy machine the load changes over
//! minutes, which makes ratios between criterion entries measured minutes apart
//! unreliable. `steps_recorder_state_slots_only` is `steps_root_state_slots_only`
//! with the hashing on the recorder thread (a [`TraceWriter`] fed the written state
//! slots only). Prints, per entry, the median time with the fastest and slowest round,
//! and the median of the per-round ratios to `train` with their spread (first and
//! last quartile).
//!
//! `cargo bench -p gavel-prover --bench overhead [-- ROUNDS]` (15 rounds by default).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use gavel_executor::{Backend, CompiledJob, CpuBackend, JobSpec, Memory, Op, Program, SlotId, TrainOptions, train};
use gavel_prover::{MemoryRoots, TraceWriter, Traced, step_local_slots};

const STEPS: u64 = 200;

fn digits() -> CompiledJob {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut spec = JobSpec::load(&repo.join("examples/digits.toml")).expect("digits spec");
    spec.job.steps = STEPS;
    spec.compile().expect("digits compiles")
}

fn backend(program: &Arc<Program>, job: &CompiledJob) -> CpuBackend {
    CpuBackend::new(program.clone(), Memory::initial(program, &job.inputs).unwrap())
}

/// `STEPS` bare steps, re-hashing `hashed` after each and taking the memory root.
fn steps_with_roots(mut be: CpuBackend, program: &Program, hashed: &[SlotId]) {
    let mut roots = MemoryRoots::new(program, be.memory()).unwrap();
    for step in 0..STEPS {
        be.run_step(step).unwrap();
        for &id in hashed {
            roots.update(id, &be.read_slot(id).unwrap()).unwrap();
        }
        std::hint::black_box(roots.root());
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(15);
    let job = digits();
    let program = Arc::new(job.program.clone());
    let mut written: Vec<SlotId> = program.ops.iter().map(Op::output).collect();
    written.sort();
    written.dedup();
    let local = step_local_slots(&program);
    let state_written: Vec<SlotId> = written.iter().copied().filter(|&id| !local[id as usize]).collect();
    let zeroing = {
        let mut p = job.program.clone();
        for (id, _) in local.iter().enumerate().filter(|(_, l)| **l) {
            p.ops.push(Op::Scale { a: id as SlotId, factor: 0, out: id as SlotId });
        }
        p.validate().unwrap();
        Arc::new(p)
    };
    let opts = TrainOptions::default();

    type Entry<'a> = (&'static str, Box<dyn Fn() -> Duration + 'a>);
    let entries: Vec<Entry<'_>> = vec![
        (
            "train",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| {
                    train(&job, &mut be, &opts, |_| {}).unwrap();
                })
            }),
        ),
        (
            "steps_plain",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| (0..STEPS).for_each(|s| be.run_step(s).unwrap()))
            }),
        ),
        (
            "steps_root_inline",
            Box::new(|| {
                let be = backend(&program, &job);
                time(|| steps_with_roots(be, &program, &written))
            }),
        ),
        (
            "train_root_every_step",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| {
                    let writer = TraceWriter::in_memory(program.clone(), be.memory().clone()).unwrap();
                    let mut traced = Traced::new(&mut be, writer);
                    train(&job, &mut traced, &opts, |_| {}).unwrap();
                    traced.finish().unwrap();
                })
            }),
        ),
        (
            "steps_root_state_slots_only",
            Box::new(|| {
                let be = backend(&program, &job);
                time(|| steps_with_roots(be, &program, &state_written))
            }),
        ),
        (
            "steps_recorder_state_slots_only",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| {
                    let mut writer = TraceWriter::in_memory(program.clone(), be.memory().clone()).unwrap();
                    for step in 0..STEPS {
                        be.run_step(step).unwrap();
                        let slots = state_written.iter().map(|&id| (id, be.read_slot(id).unwrap())).collect();
                        writer.record_written(step, slots).unwrap();
                    }
                    writer.finish().unwrap();
                })
            }),
        ),
        (
            "steps_zeroing_root_state_slots",
            Box::new(|| {
                let be = backend(&zeroing, &job);
                time(|| steps_with_roots(be, &zeroing, &state_written))
            }),
        ),
        (
            "train_store_k1",
            Box::new(|| {
                let dir = tempfile::tempdir().unwrap();
                let mut be = backend(&program, &job);
                time(|| {
                    let writer = TraceWriter::create(dir.path(), program.clone(), &job.inputs, 1).unwrap();
                    let mut traced = Traced::new(&mut be, writer);
                    train(&job, &mut traced, &opts, |_| {}).unwrap();
                    traced.finish().unwrap();
                })
            }),
        ),
        (
            "train_store_k16",
            Box::new(|| {
                let dir = tempfile::tempdir().unwrap();
                let mut be = backend(&program, &job);
                time(|| {
                    let writer = TraceWriter::create(dir.path(), program.clone(), &job.inputs, 16).unwrap();
                    let mut traced = Traced::new(&mut be, writer);
                    train(&job, &mut traced, &opts, |_| {}).unwrap();
                    traced.finish().unwrap();
                })
            }),
        ),
    ];
    // One warm-up round, not counted.
    for (_, f) in &entries {
        f();
    }
    let mut times = vec![Vec::with_capacity(rounds); entries.len()];
    for r in 0..rounds {
        for i in 0..entries.len() {
            let e = (i + r) % entries.len();
            times[e].push(entries[e].1().as_secs_f64() * 1e3);
        }
    }
    println!(
        "{rounds} interleaved rounds of {STEPS} digits steps (ms; ratio: median of per-round ratios to train, quartiles)"
    );
    for (e, (name, _)) in entries.iter().enumerate() {
        let mut t = times[e].clone();
        t.sort_by(f64::total_cmp);
        let mut ratio: Vec<f64> = times[e].iter().zip(&times[0]).map(|(x, base)| x / base).collect();
        ratio.sort_by(f64::total_cmp);
        println!(
            "{name:32} median {:8.2}  min {:8.2}  max {:8.2}   ratio {:.3} ({:.3} .. {:.3})",
            quantile(&t, 0.5),
            t[0],
            t[t.len() - 1],
            quantile(&ratio, 0.5),
            quantile(&ratio, 0.25),
            quantile(&ratio, 0.75),
        );
    }
}
