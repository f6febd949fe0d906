//! A store survives its writer being killed (SIGKILL) mid-run: what it holds is
//! consistent, it reports itself unfinished, and resuming it gives the same trace as
//! an uninterrupted run.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use gavel_executor::{Backend, CpuBackend};
use gavel_prover::{Error, TraceStore, TraceWriter};

use crate::common::{cpu, digits, program, record_in_memory};

const STEPS: u64 = 300;
const EVERY: u64 = 7;
const CHILD_ENV: &str = "GAVEL_PROVER_KILL_CHILD";

/// Run by the child process only: records slowly into the folder named by the
/// environment until it is killed.
#[test]
fn child_records_slowly() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let job = digits(STEPS);
    let mut backend = cpu(&job);
    let mut writer = TraceWriter::create(Path::new(&dir), program(&job), &job.inputs, EVERY).unwrap();
    for step in 0..STEPS {
        backend.run_step(step).unwrap();
        writer.record_step(step, &mut backend).unwrap();
        // Slow down once the parent is about to kill, so that a loaded machine cannot
        // let the run finish first.
        std::thread::sleep(Duration::from_millis(if step < 90 { 2 } else { 40 }));
    }
    writer.finish().unwrap();
}

#[test]
fn a_store_killed_mid_run_resumes_to_the_same_trace() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("trace");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["kill::child_records_slowly", "--exact", "--nocapture"])
        .env(CHILD_ENV, &store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a good part of the run is recorded, then kill it without warning.
    let started = Instant::now();
    let roots = store.join("roots.bin");
    while std::fs::metadata(&roots).map_or(0, |m| m.len()) < 40 + 40 * 100 {
        assert!(started.elapsed() < Duration::from_secs(120), "the child never got going");
        assert!(child.try_wait().unwrap().is_none(), "the child exited early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished");

    let e = TraceStore::open(&store).unwrap_err();
    let Error::Incomplete { recorded, total, .. } = e else { panic!("expected an unfinished store, got {e}") };
    assert!((100..=STEPS).contains(&recorded), "{recorded}");
    assert_eq!(total, STEPS + 1);

    let job = digits(STEPS);
    let resumed = TraceWriter::resume(&store).unwrap();
    assert!(resumed.next.is_multiple_of(EVERY) && resumed.next + EVERY > recorded - 1, "resumes at {}", resumed.next);
    let mut backend = CpuBackend::new(program(&job), resumed.memory);
    let mut writer = resumed.writer;
    for step in resumed.next..STEPS {
        backend.run_step(step).unwrap();
        writer.record_step(step, &mut backend).unwrap();
    }
    let summary = writer.finish().unwrap();
    assert_eq!(summary, record_in_memory(&job));
    let mut s = TraceStore::open(&store).unwrap();
    s.check().unwrap();
    assert_eq!(s.op_roots(STEPS - 1).unwrap().last(), Some(&summary.output_root));
}
