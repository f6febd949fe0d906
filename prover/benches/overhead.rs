//! The commitment overhead of the digits run, measured in interleaved rounds
//! (`docs/benchmarks.md`, "Commitments (prover)").
//!
//! Every entry runs once per round, in an order shuffled every round (a seeded
//! shuffle), so that every ratio is between runs made within a second of each other (on
//! a shared, busy machine the load changes over minutes, which makes ratios between
//! criterion entries measured minutes apart unreliable) and no entry always follows
//! the same one (the store entries leave disk writes behind them). Prints, per entry, the median time with
//! the fastest and slowest round, and the median of the per-round ratios to `train`
//! with their spread (first and last quartile).
//!
//! The digits program as compiled ends its step body by clearing its 16 step-local
//! slots (`docs/program.md`, "Clearing step-local slots"); `_without_clears` entries run
//! the same program without those operators (the program before they were added):
//! `train_without_clears` is the execution alone, `train_root_without_clears` a root
//! every step when every written slot must be re-hashed.
//!
//! `train_root_every_step` is `train` recording a root every step on the recorder's
//! default number of threads ([`default_hash_threads`], printed first);
//! `train_root_hash_threads_N` on N (0: on the training thread, as each hand-over is
//! made). `steps_plain` is the bare `run_step` loop,
//! `steps_recorder` that loop with the recorder, and `steps_root_inline` that loop
//! hashing on the training thread itself. `train_store_k1` and `train_store_k16`
//! record into a trace store keeping every and every 16th checkpoint.
//!
//! Each run is timed twice: wall-clock time, and the CPU time of the whole process (all
//! threads, the recorder's included), which shows the work a root every step adds even
//! where another core hides it from the wall clock, and which the machine's other load
//! disturbs much less.
//!
//! `cargo bench -p gavel-prover --bench overhead [-- ROUNDS] [--compact] [--only a,b]
//! [--base NAME] [--steps N]` (15 rounds of 200 steps by default; a run's fixed costs,
//! such as `h_0` over the whole memory and `train`'s final memory digest, weigh less in
//! longer runs). `--compact` prints a Markdown table; `--only`
//! runs the base entry and the named ones; ratios are to `--base` (`train` by default). The
//! digits spec is read from the repository the bench was built in, or from the current
//! folder if that one is gone (a bench binary copied to another machine).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use gavel_executor::{
    Backend, CompiledJob, CpuBackend, JobSpec, Memory, Op, Program, SlotId, SplitMix64, TrainOptions, train,
};
use gavel_prover::{MemoryRoots, TraceWriter, Traced, default_hash_threads};

fn digits(steps: u64) -> CompiledJob {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let repo = if built.join("examples/digits.toml").exists() { built } else { PathBuf::from(".") };
    let mut spec = JobSpec::load(&repo.join("examples/digits.toml")).expect("digits spec");
    spec.job.steps = steps;
    spec.compile().expect("digits compiles")
}

fn backend(program: &Arc<Program>, job: &CompiledJob) -> CpuBackend {
    CpuBackend::new(program.clone(), Memory::initial(program, &job.inputs).unwrap())
}

/// The program's steps, bare, each followed by what the recorder does, on this thread: check
/// that the cleared slots hold zeros, re-hash the other written slots (the cleared
/// ones once, after the first step), take the memory root.
fn steps_with_roots(mut be: CpuBackend, program: &Program, hashed: &[SlotId], cleared: &[SlotId]) {
    let mut roots = MemoryRoots::new(program, be.memory()).unwrap();
    for step in 0..program.steps {
        be.run_step(step).unwrap();
        assert!(cleared.iter().all(|&id| be.slot_is_zero(id).unwrap()));
        let rehash = if step == 0 { [hashed, cleared].concat() } else { hashed.to_vec() };
        let values: Vec<Vec<i32>> = rehash.iter().map(|&id| be.read_slot(id).unwrap()).collect();
        let slots: Vec<(SlotId, &[i32])> = rehash.iter().zip(&values).map(|(&id, v)| (id, v.as_slice())).collect();
        roots.update_many(&slots).unwrap();
        std::hint::black_box(roots.root());
    }
}

/// One timed run: wall-clock time, and the CPU time of the whole process (every
/// thread, the recorder's included) over the same span.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// CPU time this process has used, all threads together (those that ended included).
fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn time(f: impl FnOnce()) -> Sample {
    let (cpu, t) = (process_cpu_time(), Instant::now());
    f();
    Sample { wall: t.elapsed(), cpu: process_cpu_time() - cpu }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// `train` of `job` run as `program` with a root every step on the recorder, hashing
/// on `threads` threads (the default if `None`).
fn traced_train(job: &CompiledJob, program: &Arc<Program>, opts: &TrainOptions, threads: Option<usize>) -> Sample {
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

/// `train` of `job` run as `program`.
fn plain_train(job: &CompiledJob, program: &Arc<Program>, opts: &TrainOptions) -> Sample {
    let mut be = backend(program, job);
    time(|| {
        train(job, &mut be, opts, |_| {}).unwrap();
    })
}

/// `train` into a trace store keeping every `every`-th checkpoint.
fn stored_train(job: &CompiledJob, program: &Arc<Program>, opts: &TrainOptions, every: u64) -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let mut be = backend(program, job);
    time(|| {
        let writer = TraceWriter::create(dir.path(), program.clone(), &job.inputs, every).unwrap();
        let mut traced = Traced::new(&mut be, writer);
        train(job, &mut traced, opts, |_| {}).unwrap();
        traced.finish().unwrap();
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // ROUNDS: the first number that is not an option's value (`cargo bench` also
    // passes `--bench`).
    let takes_value = |i: usize| i > 0 && ["--only", "--base", "--steps"].contains(&args[i - 1].as_str());
    let rounds: usize = (0..args.len()).filter(|&i| !takes_value(i)).find_map(|i| args[i].parse().ok()).unwrap_or(15);
    let compact = args.iter().any(|a| a == "--compact");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_owned).collect());
    let base_name = args.iter().position(|a| a == "--base").and_then(|i| args.get(i + 1)).map_or("train", |s| s);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let steps: u64 =
        args.iter().position(|a| a == "--steps").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(200);
    let job = digits(steps);
    let program = Arc::new(job.program.clone());
    let cleared_mask = program.cleared_slots();
    let mut written: Vec<SlotId> = program.ops.iter().map(Op::output).collect();
    written.sort();
    written.dedup();
    let (cleared, hashed): (Vec<SlotId>, Vec<SlotId>) = written.iter().partition(|&&id| cleared_mask[id as usize]);
    let without_clears = Arc::new(job.program.without_clears());
    let opts = TrainOptions::default();

    type Entry<'a> = (&'static str, Box<dyn Fn() -> Sample + 'a>);
    let entries: Vec<Entry<'_>> = vec![
        ("train", Box::new(|| plain_train(&job, &program, &opts))),
        ("train_without_clears", Box::new(|| plain_train(&job, &without_clears, &opts))),
        (
            "steps_plain",
            Box::new(|| {
                let mut be = backend(&program, &job);
                time(|| (0..program.steps).for_each(|s| be.run_step(s).unwrap()))
            }),
        ),
        (
            "steps_plain_without_clears",
            Box::new(|| {
                let mut be = backend(&without_clears, &job);
                time(|| (0..program.steps).for_each(|s| be.run_step(s).unwrap()))
            }),
        ),
        (
            "steps_root_inline",
            Box::new(|| {
                let be = backend(&program, &job);
                time(|| steps_with_roots(be, &program, &hashed, &cleared))
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
                    for step in 0..program.steps {
                        be.run_step(step).unwrap();
                        writer.record_step(step, &mut be).unwrap();
                    }
                    writer.finish().unwrap();
                })
            }),
        ),
        ("train_root_every_step", Box::new(|| traced_train(&job, &program, &opts, None))),
        ("train_root_hash_threads_0", Box::new(|| traced_train(&job, &program, &opts, Some(0)))),
        ("train_root_hash_threads_1", Box::new(|| traced_train(&job, &program, &opts, Some(1)))),
        ("train_root_hash_threads_2", Box::new(|| traced_train(&job, &program, &opts, Some(2)))),
        ("train_root_without_clears", Box::new(|| traced_train(&job, &without_clears, &opts, None))),
        ("train_store_k1", Box::new(|| stored_train(&job, &program, &opts, 1))),
        ("train_store_k16", Box::new(|| stored_train(&job, &program, &opts, 16))),
    ];
    let entries: Vec<Entry<'_>> = match &only {
        Some(names) => entries.into_iter().filter(|(n, _)| *n == base_name || names.iter().any(|m| m == n)).collect(),
        None => entries,
    };
    // One warm-up round, not counted.
    for (_, f) in &entries {
        f();
    }
    let base = entries.iter().position(|(n, _)| *n == base_name).unwrap_or_else(|| panic!("no entry {base_name}"));
    let mut samples: Vec<Vec<Sample>> = vec![Vec::with_capacity(rounds); entries.len()];
    let mut rng = SplitMix64::new(0x0067_6176_656c);
    let mut order: Vec<usize> = (0..entries.len()).collect();
    for _ in 0..rounds {
        rng.shuffle(&mut order);
        for &e in &order {
            samples[e].push(entries[e].1());
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    println!(
        "{rounds} rounds x {steps} steps, {cores} cores, load {load} (after), {} hash threads by default; \
         ratios to `{base_name}`: median of the per-round ratios (first .. last quartile)",
        default_hash_threads()
    );
    if compact {
        println!("| entry | wall time | quartiles | CPU time | quartiles | wall ms | CPU ms |");
        println!("|---|---|---|---|---|---|---|");
    }
    for (e, (name, _)) in entries.iter().enumerate() {
        let [wall, cpu] = [|s: &Sample| s.wall, |s: &Sample| s.cpu].map(|of| {
            let ms = |s: &Sample| of(s).as_secs_f64() * 1e3;
            let mut t: Vec<f64> = samples[e].iter().map(ms).collect();
            let mut ratio: Vec<f64> = samples[e].iter().zip(&samples[base]).map(|(x, b)| ms(x) / ms(b)).collect();
            t.sort_by(f64::total_cmp);
            ratio.sort_by(f64::total_cmp);
            [quantile(&ratio, 0.5), quantile(&ratio, 0.25), quantile(&ratio, 0.75), quantile(&t, 0.5)]
        });
        if compact {
            println!(
                "| `{name}` | {:.3} | {:.3} .. {:.3} | {:.3} | {:.3} .. {:.3} | {:.2} | {:.2} |",
                wall[0], wall[1], wall[2], cpu[0], cpu[1], cpu[2], wall[3], cpu[3]
            );
        } else {
            println!(
                "{name:28} wall {:7.2} ms  ratio {:.3} ({:.3} .. {:.3})   CPU {:7.2} ms  ratio {:.3} ({:.3} .. {:.3})",
                wall[3], wall[0], wall[1], wall[2], cpu[3], cpu[0], cpu[1], cpu[2]
            );
        }
    }
}
