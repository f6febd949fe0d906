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
//! `train_root_every_step` hashes on the recorder's default number of threads
//! ([`default_hash_threads`], printed first); the `_hash_threads_N` entries on N.
//! `steps_readback` is the bare loop plus reading back the written slots, and
//! `steps_handover_only` that plus handing them to another thread the way the recorder
//! gets them (which hashes nothing): the training thread's share of a root every step
//! when the recorder keeps up. `steps_recorder` is the bare loop with the recorder.
//! `train_in_pool` and `train_root_in_pool` run `train` and `train_root_hash_threads_1`
//! from inside a rayon pool of `--pool N` threads (the cores less one by default)
//! instead of from outside the global pool: the CPU backend's operators then start on
//! the training thread itself instead of being handed to a sleeping pool.
//!
//! `cargo bench -p gavel-prover --bench overhead [-- ROUNDS] [--compact] [--only a,b]
//! [--pool N]` (15 rounds by default). `--compact` prints a Markdown table of the ratios with the
//! machine's core count and load; `--only` runs `train` and the named entries. The
//! digits spec is read from the repository the bench was built in, or from the current
//! folder if that one is gone (a bench binary copied to another machine).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use gavel_executor::{Backend, CompiledJob, CpuBackend, JobSpec, Memory, Op, Program, SlotId, TrainOptions, train};
use gavel_prover::{MemoryRoots, TraceWriter, Traced, default_hash_threads, step_local_slots};

const STEPS: u64 = 200;

fn digits() -> CompiledJob {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let repo = if built.join("examples/digits.toml").exists() { built } else { PathBuf::from(".") };
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
        let values: Vec<Vec<i32>> = hashed.iter().map(|&id| be.read_slot(id).unwrap()).collect();
        let slots: Vec<(SlotId, &[i32])> = hashed.iter().zip(&values).map(|(&id, v)| (id, v.as_slice())).collect();
        roots.update_many(&slots).unwrap();
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

/// `train` with a root every step on the recorder, hashing on `threads` threads (the
/// default pool if `None`).
fn traced_train(job: &CompiledJob, program: &Arc<Program>, opts: &TrainOptions, threads: Option<usize>) -> Duration {
    let mut be = backend(program, job);
    time(|| {
        let mut writer = TraceWriter::in_memory(program.clone(), be.memory().clone()).unwrap();
        if let Some(n) = threads {
            writer = writer.with_hash_threads(n).unwrap();
        }
        let mut traced = Traced::new(&mut be, writer);
        train(job, &mut traced, opts, |_| {}).unwrap();
        traced.finish().unwrap();
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(15);
    let compact = args.iter().any(|a| a == "--compact");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_owned).collect());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool_threads: usize = args
        .iter()
        .position(|a| a == "--pool")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(cores.saturating_sub(1).max(1));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(pool_threads).build().unwrap();
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
            "steps_readback",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| {
                    for step in 0..STEPS {
                        be.run_step(step).unwrap();
                        let slots: Vec<(SlotId, Vec<i32>)> =
                            written.iter().map(|&id| (id, be.read_slot(id).unwrap())).collect();
                        std::hint::black_box(slots);
                    }
                })
            }),
        ),
        (
            "steps_handover_only",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| {
                    // What `TraceWriter::record_step` does, to a thread that hashes nothing.
                    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<i32>>(4);
                    let (back_tx, back) = std::sync::mpsc::channel::<Vec<i32>>();
                    let sink = std::thread::spawn(move || rx.into_iter().for_each(|b| drop(back_tx.send(b))));
                    for step in 0..STEPS {
                        be.run_step(step).unwrap();
                        let mut buffer = back.try_recv().unwrap_or_default();
                        buffer.clear();
                        for &id in &written {
                            buffer.extend_from_slice(&be.read_slot(id).unwrap());
                        }
                        tx.send(buffer).unwrap();
                    }
                    drop(tx);
                    sink.join().unwrap();
                })
            }),
        ),
        (
            "steps_recorder",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| {
                    let mut writer = TraceWriter::in_memory(program.clone(), be.memory().clone())
                        .unwrap()
                        .with_hash_threads(1)
                        .unwrap();
                    for step in 0..STEPS {
                        be.run_step(step).unwrap();
                        writer.record_step(step, &mut be).unwrap();
                    }
                    writer.finish().unwrap();
                })
            }),
        ),
        ("train_root_every_step", Box::new(|| traced_train(&job, &program, &opts, None))),
        (
            "train_in_pool",
            Box::new(|| {
                let mut be = backend(&program, &job);
                pool.install(|| {
                    time(|| {
                        train(&job, &mut be, &opts, |_| {}).unwrap();
                    })
                })
            }),
        ),
        ("train_root_in_pool", Box::new(|| pool.install(|| traced_train(&job, &program, &opts, Some(1))))),
        ("train_root_hash_threads_1", Box::new(|| traced_train(&job, &program, &opts, Some(1)))),
        ("train_root_hash_threads_2", Box::new(|| traced_train(&job, &program, &opts, Some(2)))),
        ("train_root_hash_threads_4", Box::new(|| traced_train(&job, &program, &opts, Some(4)))),
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
    let entries: Vec<Entry<'_>> = match &only {
        Some(names) => entries.into_iter().filter(|(n, _)| *n == "train" || names.iter().any(|m| m == n)).collect(),
        None => entries,
    };
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
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    if compact {
        println!(
            "{rounds} rounds x {STEPS} steps, {cores} cores, load {load} (after), {} hash threads by default",
            default_hash_threads()
        );
        println!("| entry | ratio to train | quartiles | median ms |");
        println!("|---|---|---|---|");
    } else {
        println!(
            "{rounds} interleaved rounds of {STEPS} digits steps (ms; ratio: median of per-round ratios to train, quartiles)"
        );
        println!("{cores} cores, load average {load}, {} hash threads by default", default_hash_threads());
    }
    for (e, (name, _)) in entries.iter().enumerate() {
        let mut t = times[e].clone();
        t.sort_by(f64::total_cmp);
        let mut ratio: Vec<f64> = times[e].iter().zip(&times[0]).map(|(x, base)| x / base).collect();
        ratio.sort_by(f64::total_cmp);
        if compact {
            println!(
                "| `{name}` | {:.3} | {:.3} .. {:.3} | {:.2} |",
                quantile(&ratio, 0.5),
                quantile(&ratio, 0.25),
                quantile(&ratio, 0.75),
                quantile(&t, 0.5)
            );
            continue;
        }
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
