//! Recording runs and answering queries from trace stores.

use std::{fs, path::Path};

use gavel_executor::{Backend, Memory, SlotId};
use gavel_prover::{
    Error, MemoryRoots, Position, StateProof, TraceStore, TraceWriter, Traced, memory_root, step_root, tensor_root,
    trace_root,
};

use crate::common::{cpu, digits, program, record, record_in_memory};

/// `h_i` of every step, computed slot by slot from a plain CPU run.
fn replayed_roots(job: &gavel_executor::CompiledJob) -> Vec<gavel_executor::Hash32> {
    let mut backend = cpu(job);
    let root_of = |m: &Memory| {
        let slots: Vec<_> =
            (0..m.len()).map(|i| tensor_root(job.program.shape(i as SlotId), m.slot(i as SlotId)).unwrap()).collect();
        memory_root(&slots)
    };
    let mut roots = vec![root_of(backend.memory())];
    for step in 0..job.program.steps {
        backend.run_step(step).unwrap();
        roots.push(root_of(backend.memory()));
    }
    roots
}

#[test]
fn recorded_roots_match_a_plain_replay_with_and_without_a_store() {
    let job = digits(7);
    let dir = tempfile::tempdir().unwrap();
    let stored = record(&job, dir.path(), 3);
    let in_memory = record_in_memory(&job);
    assert_eq!(stored, in_memory);
    let replay = replayed_roots(&job);
    assert_eq!(stored.checkpoints, replay);
    assert_eq!(stored.trace_root, trace_root(&replay));
    assert_eq!(stored.output_root, replay[7]);
    let store = TraceStore::open(dir.path()).unwrap();
    assert_eq!(store.checkpoint_roots(), replay.as_slice());
    assert_eq!(
        (store.trace_root(), store.output_root(), store.steps(), store.every()),
        (stored.trace_root, replay[7], 7, 3)
    );
    store.check().unwrap();
}

#[test]
fn sparse_store_answers_equal_full_store_and_all_verify() {
    let job = digits(10);
    let k = job.program.ops.len() as u32;
    let (full_dir, sparse_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    record(&job, full_dir.path(), 1);
    record(&job, sparse_dir.path(), 4);
    let mut full = TraceStore::open(full_dir.path()).unwrap();
    let mut sparse = TraceStore::open(sparse_dir.path()).unwrap();
    assert_eq!(full.trace_root(), sparse.trace_root());
    let trace = full.trace_root();
    let w0 = job.params[0].weight;
    // Out of order on purpose: the sparse store must re-execute forwards and backwards.
    for step in [9u64, 2, 7, 3, 0, 5] {
        let ops = full.op_roots(step).unwrap();
        assert_eq!(ops, sparse.op_roots(step).unwrap(), "op roots of step {step}");
        assert_eq!(ops.len() as u32, k + 1);
        assert_eq!(ops[0], full.checkpoint_roots()[step as usize]);
        assert_eq!(ops[k as usize], full.checkpoint_roots()[step as usize + 1]);
        let sr = full.step_root(step).unwrap();
        assert_eq!(sr, step_root(step, &ops));
        for op in [0, 1, k / 2, k - 1, k] {
            let at = Position::Op { step, op };
            let p = full.prove_op_root(step, op).unwrap();
            p.verify(&sr).unwrap();
            assert_eq!(p, sparse.prove_op_root(step, op).unwrap());
            let e = full.open_element(at, w0, 1000 + op as u64).unwrap();
            e.verify(&sr).unwrap();
            assert_eq!(e, sparse.open_element(at, w0, 1000 + op as u64).unwrap());
            assert_eq!(full.memory(at).unwrap(), sparse.memory(at).unwrap());
        }
    }
    for i in [10u64, 1, 6, 0, 4, 8] {
        let at = Position::Checkpoint(i);
        let state = full.prove_state(at).unwrap();
        state.verify(&trace).unwrap();
        assert_eq!(state, sparse.prove_state(at).unwrap());
        let memory = full.memory(at).unwrap();
        assert_eq!(memory, sparse.memory(at).unwrap());
        for slot in 0..job.program.slots.len() as SlotId {
            let sp = full.prove_slot(at, slot).unwrap();
            sp.verify(state.memory_root()).unwrap();
            assert_eq!(sp, sparse.prove_slot(at, slot).unwrap());
            let len = memory.slot(slot).len() as u64;
            let last = gavel_prover::chunk_count(len) - 1;
            for chunk in [0, last] {
                let cp = full.prove_chunk(at, slot, chunk).unwrap();
                cp.verify(&sp.root).unwrap();
                assert_eq!(cp, sparse.prove_chunk(at, slot, chunk).unwrap());
            }
            let e = sparse.open_element(at, slot, len - 1).unwrap();
            e.verify(&trace).unwrap();
            assert_eq!(e.value, *memory.slot(slot).last().unwrap());
        }
    }
    // Op boundaries 0 and K are the checkpoints around the step.
    assert_eq!(full.memory(Position::Op { step: 3, op: 0 }).unwrap(), full.memory(Position::Checkpoint(3)).unwrap());
    assert_eq!(full.memory(Position::Op { step: 3, op: k }).unwrap(), full.memory(Position::Checkpoint(4)).unwrap());
}

#[test]
fn queries_out_of_range_are_refused() {
    let job = digits(3);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 2);
    let mut s = TraceStore::open(dir.path()).unwrap();
    let k = job.program.ops.len() as u32;
    let slots = job.program.slots.len() as SlotId;
    assert!(matches!(s.prove_checkpoint(4), Err(Error::OutOfRange { what: "checkpoint", .. })));
    assert!(matches!(s.op_roots(3), Err(Error::OutOfRange { what: "step", .. })));
    assert!(matches!(s.prove_op_root(1, k + 1), Err(Error::OutOfRange { what: "op", .. })));
    assert!(matches!(s.prove_slot(Position::Checkpoint(1), slots), Err(Error::NoSuchSlot { .. })));
    assert!(matches!(s.prove_chunk(Position::Checkpoint(1), 0, 1000), Err(Error::OutOfRange { what: "chunk", .. })));
    assert!(matches!(s.open_element(Position::Checkpoint(1), 0, u64::MAX), Err(Error::OutOfRange { .. })));
    assert!(matches!(s.memory(Position::Op { step: 3, op: 0 }), Err(Error::OutOfRange { .. })));
    let e = s.prove_checkpoint(9).unwrap_err().to_string();
    assert_eq!(e, "checkpoint 9 is out of range (there are 4)");
}

#[test]
fn the_traced_backend_records_steps_run_in_parts_and_refuses_disorder() {
    let job = digits(2);
    let k = job.program.ops.len();
    let reference = record_in_memory(&job);
    let mut backend = cpu(&job);
    let writer = TraceWriter::in_memory(program(&job), backend.memory().clone()).unwrap();
    let mut traced = Traced::new(&mut backend, writer);
    for step in 0..2 {
        traced.run_ops(step, 0..3).unwrap();
        traced.run_ops(step, 3..k - 1).unwrap();
        traced.run_ops(step, k - 1..k).unwrap();
    }
    assert_eq!(traced.finish().unwrap(), reference);

    let mut backend = cpu(&job);
    let writer = TraceWriter::in_memory(program(&job), backend.memory().clone()).unwrap();
    let mut traced = Traced::new(&mut backend, writer);
    traced.run_ops(0, 0..2).unwrap();
    let e = traced.run_ops(0, 3..k).unwrap_err().to_string();
    assert!(e.contains("out of order"), "{e}");
    assert!(traced.run_step(1).is_err());
    assert!(traced.write_slot(0, &[0]).is_err());
    assert!(traced.finish().is_err(), "an unfinished step cannot finish the trace");
}

#[test]
fn an_unfinished_store_is_reported_and_resumes_to_the_same_trace() {
    let job = digits(9);
    let reference = record_in_memory(&job);
    let dir = tempfile::tempdir().unwrap();
    let mut backend = cpu(&job);
    let mut writer = TraceWriter::create(dir.path(), program(&job), &job.inputs, 4).unwrap();
    for step in 0..6 {
        backend.run_step(step).unwrap();
        writer.record_step(step, &mut backend).unwrap();
    }
    drop(writer);
    let e = TraceStore::open(dir.path()).unwrap_err();
    assert!(matches!(e, Error::Incomplete { recorded: 7, total: 10, .. }), "{e}");
    assert!(TraceWriter::create(dir.path(), program(&job), &job.inputs, 4).is_err(), "an existing store is kept");

    let resumed = TraceWriter::resume(dir.path()).unwrap();
    assert_eq!(resumed.next, 4, "from the last kept checkpoint");
    let mut backend = gavel_executor::CpuBackend::new(program(&job), resumed.memory);
    let mut writer = resumed.writer;
    for step in 4..9 {
        backend.run_step(step).unwrap();
        writer.record_step(step, &mut backend).unwrap();
    }
    assert_eq!(writer.finish().unwrap(), reference);
    let store = TraceStore::open(dir.path()).unwrap();
    store.check().unwrap();
    assert!(matches!(TraceWriter::resume(dir.path()), Err(Error::Exists { .. })));
}

/// Every file of the store, relative to its folder.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        out.push(entry.strip_prefix(dir).unwrap().to_path_buf());
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}

fn open_and_check(dir: &Path) -> Result<(), Error> {
    let mut s = TraceStore::open(dir)?;
    s.check()?;
    s.op_roots(1).map(|_| ())
}

#[test]
fn damaged_or_truncated_files_are_reported_as_corruption() {
    let job = digits(5);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 2);
    let names = files(dir.path());
    // Kept checkpoints 2, 4 and 5, from the state files 1, 3 and 4.
    assert_eq!(names.len(), 1 + 1 + 1 + 1 + 3 + job.inputs.hashes().count(), "{names:?}");
    for name in &names {
        let path = dir.path().join(name);
        let good = fs::read(&path).unwrap();
        let n = good.len();
        let mut damaged: Vec<(String, Vec<u8>)> = [0, 9, n / 3, n / 2, n - 40, n - 1]
            .into_iter()
            .filter(|&i| i < n)
            .map(|i| {
                let mut b = good.clone();
                b[i] ^= 0x01;
                (format!("byte {i} flipped"), b)
            })
            .collect();
        damaged.push(("truncated by one byte".into(), good[..n - 1].to_vec()));
        damaged.push(("truncated to half".into(), good[..n / 2].to_vec()));
        damaged.push(("emptied".into(), Vec::new()));
        for (what, bytes) in damaged {
            fs::write(&path, &bytes).unwrap();
            match open_and_check(dir.path()) {
                Err(Error::Corrupt { path: p, msg }) => assert!(!msg.is_empty(), "{}", p.display()),
                other => panic!("{} {what}: expected a corruption report, got {other:?}", name.display()),
            }
        }
        fs::remove_file(&path).unwrap();
        assert!(open_and_check(dir.path()).is_err(), "{} removed", name.display());
        fs::write(&path, &good).unwrap();
    }
    open_and_check(dir.path()).unwrap();
}

#[test]
fn state_proofs_name_their_kind_in_json() {
    let job = digits(2);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 1);
    let mut s = TraceStore::open(dir.path()).unwrap();
    let p = s.prove_state(Position::Op { step: 1, op: 2 }).unwrap();
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["kind"], "op");
    assert_eq!(serde_json::from_value::<StateProof>(json).unwrap(), p);
    // The memory roots recorded are those of a fresh MemoryRoots over the same memory.
    let m = s.memory(Position::Checkpoint(2)).unwrap();
    assert_eq!(MemoryRoots::new(&job.program, &m).unwrap().root(), s.checkpoint_roots()[2]);
}

#[test]
fn a_damaged_checkpoint_is_skipped_by_queries_and_reported_by_check() {
    let job = digits(9);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 3);
    let mut intact = TraceStore::open(dir.path()).unwrap();
    let want: Vec<_> = [7u64, 4, 8].iter().map(|&s| intact.op_roots(s).unwrap()).collect();
    // The files that checkpoints 6 and 3 are rebuilt from.
    for step in [5u64, 2] {
        let path = dir.path().join(format!("checkpoints/{step:010}.ckpt"));
        let mut bytes = fs::read(&path).unwrap();
        bytes[200] ^= 0x10;
        fs::write(&path, bytes).unwrap();
    }
    let mut damaged = TraceStore::open(dir.path()).unwrap();
    assert!(matches!(damaged.check(), Err(Error::Corrupt { .. })));
    // Steps 7 and 8 re-execute from checkpoint 0, past the two damaged ones.
    let got: Vec<_> = [7u64, 4, 8].iter().map(|&s| damaged.op_roots(s).unwrap()).collect();
    assert_eq!(got, want);
}
