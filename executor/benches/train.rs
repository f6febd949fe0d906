//! Training throughput of the digits MLP (examples/digits.toml) per backend, in one run.
//!
//! `cargo bench -p gavel-executor --bench train`. One iteration is one training step
//! (gather a batch of 32, forward, loss, backward, SGD, then the 16 clears of the
//! step-local slots), cycling through the schedule; `_without_clears` entries run the
//! program without its clears (what they cost each backend).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::{sync::Arc, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gavel_executor::{BackendChoice, GpuContext, GpuOptions, Int64Mode, JobSpec, Memory};

fn bench(c: &mut Criterion) {
    let spec =
        JobSpec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/digits.toml").as_ref()).expect("example spec");
    let job = spec.compile().expect("compiles");
    let program = Arc::new(job.program.clone());
    let memory = Memory::initial(&program, &job.inputs).expect("inputs");
    let without_clears = Arc::new(job.program.without_clears());

    let mut choices = vec![("cpu", BackendChoice::Cpu, None)];
    for (label, mode) in [("gpu_native", Int64Mode::Native), ("gpu_emulated", Int64Mode::Emulated)] {
        match GpuContext::new(&GpuOptions { int64: mode }) {
            Ok(ctx) => choices.push((label, BackendChoice::Gpu(ctx.clone()), Some(ctx))),
            Err(e) => eprintln!("{label}: skipped ({e})"),
        }
    }

    let mut g = c.benchmark_group("digits_train_step");
    g.throughput(Throughput::Elements(1)).sample_size(20).measurement_time(Duration::from_secs(5));
    for (label, choice, gpu) in choices {
        for (suffix, program) in [("", &program), ("_without_clears", &without_clears)] {
            let mut backend = choice.open(program.clone(), memory.clone()).expect("backend");
            let mut step = 0u64;
            g.bench_function(format!("{label}{suffix}"), |b| {
                b.iter(|| {
                    backend.run_step(step % program.steps).expect("step");
                    step += 1;
                    // Each step waits for the device, so queued work never leaks into
                    // the next sample.
                    if let Some(ctx) = &gpu {
                        ctx.wait_idle().expect("idle");
                    }
                });
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
