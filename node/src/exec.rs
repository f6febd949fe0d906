//! Preparing a job from its content hashes and running it into a trace store.
//!
//! [`prepare`] fetches the spec and the data set by hash (each checked), compiles the
//! program and computes its program commitment. [`execute`] runs it with a
//! [`gavel_prover::TraceWriter`] into a store folder and resumes an unfinished store where
//! it stopped (a node killed mid-run loses at most the steps since the last kept
//! checkpoint); it checks a cancel flag between steps so a node can stop cleanly.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use alloy::primitives::B256;
use gavel_executor::{Backend, BackendChoice, CompiledJob, Memory};
use gavel_prover::{ProgramCommitment, Tamper, Tampered, TraceStore, TraceWriter, Traced};

use crate::{
    error::{Error, Result},
    fetch::Fetcher,
};

/// A job ready to run: its compiled program and the commitment it must be bound to.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The compiled job (program, inputs).
    pub job: Arc<CompiledJob>,
    /// The program root the job must carry on chain (`programRootOf`).
    pub program_root: B256,
}

/// Fetches (or finds) the spec and data set of a job, checks both hashes, compiles.
/// `extra` sources are tried after the fetcher's own (a solver device's endpoint).
pub async fn prepare(fetcher: &Fetcher, spec_hash: B256, input_hash: B256, extra: &[String]) -> Result<Prepared> {
    fetcher.fetch(spec_hash, extra).await?;
    fetcher.fetch(input_hash, extra).await?;
    let store = fetcher.store().clone();
    tokio::task::spawn_blocking(move || {
        let spec = store.job_spec(spec_hash, input_hash)?;
        let job = spec.compile()?;
        let commitment = ProgramCommitment::initial(&job.program, &job.inputs)?;
        Ok(Prepared { program_root: B256::from(commitment.root().0), job: Arc::new(job) })
    })
    .await
    .map_err(|e| Error::Inconsistent(format!("preparing a job panicked: {e}")))?
}

/// The roots a finished run committed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Roots {
    /// The trace root.
    pub trace_root: B256,
    /// The output root (`h_N`).
    pub output_root: B256,
}

/// Shared between a run and the node: steps done, and a request to stop.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    /// Steps recorded so far.
    pub done: Arc<AtomicU64>,
    /// Set to stop the run after the current step (it resumes later).
    pub cancel: Arc<AtomicBool>,
}

/// A job running on the blocking pool, as a daemon tracks it.
pub(crate) struct Run {
    pub(crate) ctl: RunControl,
    pub(crate) handle: tokio::task::JoinHandle<Result<Option<Roots>>>,
    /// The program's steps (for the progress line).
    pub(crate) steps: u64,
    /// Steps already counted in the throughput metric.
    pub(crate) counted: u64,
}

impl Run {
    /// Asks the run to stop after its current step and waits for it (its store resumes
    /// later).
    pub(crate) async fn stop(self) {
        self.ctl.cancel.store(true, Ordering::Relaxed);
        let _ = self.handle.await;
    }
}

/// Runs `job` into the trace store `dir` (created, resumed, or already finished) on
/// `backend`, keeping every `every`-th checkpoint; `tamper` makes a wrong trace
/// (adversary tests only). Returns `None` when cancelled.
pub fn execute(
    job: &CompiledJob,
    dir: &Path,
    every: u64,
    backend: &BackendChoice,
    tamper: Option<Tamper>,
    ctl: &RunControl,
) -> Result<Option<Roots>> {
    let program = Arc::new(job.program.clone());
    if dir.join("done.json").is_file() {
        let store = TraceStore::open(dir)?;
        ctl.done.store(store.steps(), Ordering::Relaxed);
        return Ok(Some(Roots {
            trace_root: B256::from(store.trace_root().0),
            output_root: B256::from(store.output_root().0),
        }));
    }
    let (writer, next, memory) = if dir.join("store.json").is_file() {
        let r = TraceWriter::resume(dir)?;
        (r.writer, r.next, r.memory)
    } else {
        let w = TraceWriter::create(dir, program.clone(), &job.inputs, every)?;
        (w, 0, Memory::initial(&program, &job.inputs)?)
    };
    if writer_program_differs(dir, &program)? {
        return Err(Error::Inconsistent(format!("{} holds the trace of another program", dir.display())));
    }
    let mut inner = backend.open(program.clone(), memory)?;
    tracing::info!(dir = %dir.display(), from = next, steps = program.steps, backend = inner.describe(), "executing");
    let summary = match tamper {
        Some(t) => {
            let mut tampered = Tampered::new(inner.as_mut(), &program, t)?;
            run_steps(Traced::new(&mut tampered, writer), next, program.steps, ctl)?
        }
        None => run_steps(Traced::new(inner.as_mut(), writer), next, program.steps, ctl)?,
    };
    Ok(summary.map(|s| Roots { trace_root: B256::from(s.trace_root.0), output_root: B256::from(s.output_root.0) }))
}

fn writer_program_differs(dir: &Path, program: &gavel_executor::Program) -> Result<bool> {
    let path = dir.join("program.json");
    let bytes = std::fs::read(&path).map_err(Error::io("reading", &path))?;
    Ok(gavel_executor::Hash32::of(&bytes) != program.hash())
}

fn run_steps<B: Backend + ?Sized>(
    mut traced: Traced<'_, B>,
    from: u64,
    steps: u64,
    ctl: &RunControl,
) -> Result<Option<gavel_prover::TraceSummary>> {
    for step in from..steps {
        if ctl.cancel.load(Ordering::Relaxed) {
            tracing::info!(step, "run stopped; it resumes from its last kept checkpoint");
            return Ok(None);
        }
        traced.run_step(step)?;
        ctl.done.store(step + 1, Ordering::Relaxed);
    }
    Ok(Some(traced.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentStore;

    pub(crate) fn small_spec(dir: &Path, steps: u64) -> std::path::PathBuf {
        let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let text = std::fs::read_to_string(repo.join("examples/digits.toml")).unwrap().replace(
            "\"../data/digits.csv.gz\"",
            &format!("{:?}", repo.join("data/digits.csv.gz").display().to_string()),
        );
        let text = text.replace("steps = 4000", &format!("steps = {steps}")).replace("checkpoint_interval = 500", "");
        let path = dir.join("job.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_run_resumes_to_the_same_roots() {
        let dir = tempfile::tempdir().unwrap();
        let content = ContentStore::open(&dir.path().join("content")).unwrap();
        let (spec_hash, input_hash) = content.add_job(&small_spec(dir.path(), 12)).unwrap();
        let fetcher = Fetcher::new(content, vec![]).unwrap();
        let prepared = prepare(&fetcher, spec_hash, input_hash, &[]).await.unwrap();
        let job = prepared.job.clone();
        let whole = execute(&job, &dir.path().join("a"), 4, &BackendChoice::Cpu, None, &RunControl::default())
            .unwrap()
            .unwrap();
        // Stop after 6 steps, then resume.
        let ctl = RunControl::default();
        let b = dir.path().join("b");
        let stopper = ctl.clone();
        std::thread::scope(|s| {
            s.spawn(|| {
                while stopper.done.load(Ordering::Relaxed) < 6 {
                    std::thread::yield_now();
                }
                stopper.cancel.store(true, Ordering::Relaxed);
            });
            // The run may finish before the stop lands on a fast machine; both are fine.
            let _ = execute(&job, &b, 4, &BackendChoice::Cpu, None, &ctl).unwrap();
        });
        let resumed = execute(&job, &b, 4, &BackendChoice::Cpu, None, &RunControl::default()).unwrap().unwrap();
        assert_eq!(resumed, whole);
        // Finished stores answer at once.
        assert_eq!(execute(&job, &b, 4, &BackendChoice::Cpu, None, &RunControl::default()).unwrap(), Some(whole));
        // A tampered run commits to other roots.
        // The last sgd: the fault persists to the output (the clears after it do not touch weights).
        let last_sgd = job.program.ops.iter().rposition(|op| matches!(op, gavel_executor::Op::Sgd { .. })).unwrap();
        let t = Tamper { step: 5, op: last_sgd as u32, element: 0, delta: 1 };
        let bad = execute(&job, &dir.path().join("c"), 4, &BackendChoice::Cpu, Some(t), &RunControl::default())
            .unwrap()
            .unwrap();
        assert_ne!(bad.trace_root, whole.trace_root);
        assert_ne!(bad.output_root, whole.output_root);
        assert_ne!(prepared.program_root, B256::ZERO);
    }
}
