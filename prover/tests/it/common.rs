//! Shared fixtures: short digits jobs and recorded stores.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use gavel_executor::{Backend, CompiledJob, CpuBackend, JobSpec, Memory, Program, TrainOptions, train};
use gavel_prover::{TraceSummary, TraceWriter, Traced};

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The digits example, cut to `steps` steps.
pub(crate) fn digits(steps: u64) -> CompiledJob {
    let mut spec = JobSpec::load(&repo().join("examples/digits.toml")).expect("digits spec");
    spec.job.steps = steps;
    spec.compile().expect("digits compiles")
}

pub(crate) fn program(job: &CompiledJob) -> Arc<Program> {
    Arc::new(job.program.clone())
}

pub(crate) fn cpu(job: &CompiledJob) -> CpuBackend {
    let program = program(job);
    let memory = Memory::initial(&program, &job.inputs).unwrap();
    CpuBackend::new(program, memory)
}

/// Trains `job` on `backend` through the trace recorder `writer`.
pub(crate) fn train_traced(job: &CompiledJob, backend: &mut dyn Backend, writer: TraceWriter) -> TraceSummary {
    let mut traced = Traced::new(backend, writer);
    train(job, &mut traced, &TrainOptions::default(), |_| {}).expect("training runs");
    traced.finish().expect("recording finishes")
}

/// Records `job` on the CPU into a new store in `dir`, keeping every `every`-th checkpoint.
pub(crate) fn record(job: &CompiledJob, dir: &Path, every: u64) -> TraceSummary {
    let writer = TraceWriter::create(dir, program(job), &job.inputs, every).expect("store created");
    train_traced(job, &mut cpu(job), writer)
}

/// Records `job` on the CPU without a store.
pub(crate) fn record_in_memory(job: &CompiledJob) -> TraceSummary {
    let mut backend = cpu(job);
    let writer = TraceWriter::in_memory(program(job), backend.memory().clone()).unwrap();
    train_traced(job, &mut backend, writer)
}
