//! A fault injector for tests of the dispute game: a trace that is wrong at exactly one
//! element of one operator of one step, and stays consistently wrong.
//!
//! [`Tampered`] wraps a backend and adds `delta` to one output element of one operator
//! when it runs; record through it ([`crate::Traced`] over a `Tampered`) to get a store
//! of the wrong run, then open that store with [`crate::TraceStore::with_tamper`] so that
//! its re-executions (op-level roots, states inside a step) apply the same fault and
//! agree with what it recorded. Nothing here is for real nodes.

use std::ops::Range;

use gavel_executor::{Backend, Memory, Program, SlotId};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One wrong element: after operator `op` of step `step` runs, element `element` of the
/// slot it writes is off by `delta` (wrapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tamper {
    /// The step.
    pub step: u64,
    /// The operator's index in the step body.
    pub op: u32,
    /// The flat position in the slot the operator writes.
    pub element: u64,
    /// What is added to the true value (wrapping; not 0).
    pub delta: i32,
}

impl Tamper {
    /// Checks the fault against a program: the step, operator and element exist and the
    /// delta changes the value. Returns the slot the operator writes.
    pub fn check(&self, program: &Program) -> Result<SlotId> {
        let op = program.ops.get(self.op as usize).ok_or(Error::OutOfRange {
            what: "op",
            index: self.op.into(),
            count: program.ops.len() as u64,
        })?;
        if self.step >= program.steps {
            return Err(Error::OutOfRange { what: "step", index: self.step, count: program.steps });
        }
        let out = op.output();
        let len = program.slots[out as usize].len() as u64;
        if self.element >= len {
            return Err(Error::OutOfRange { what: "element", index: self.element, count: len });
        }
        if self.delta == 0 {
            return Err(Error::Inconsistent("a tamper with delta 0 changes nothing".into()));
        }
        Ok(out)
    }

    /// Applies the fault to the output `out` of operator `op` of step `step`, if it is
    /// the tampered one.
    pub fn apply(&self, step: u64, op: usize, out: &mut [i32]) {
        if step == self.step
            && op == self.op as usize
            && let Some(v) = out.get_mut(self.element as usize)
        {
            *v = v.wrapping_add(self.delta);
        }
    }
}

/// A backend that runs `inner` and applies a [`Tamper`] to the one output it names.
#[derive(Debug)]
pub struct Tampered<'a, B: Backend + ?Sized> {
    inner: &'a mut B,
    tamper: Tamper,
    out: SlotId,
    ops: usize,
}

impl<'a, B: Backend + ?Sized> Tampered<'a, B> {
    /// Wraps `inner`, which runs `program`; fails if the fault does not fit the program.
    pub fn new(inner: &'a mut B, program: &Program, tamper: Tamper) -> Result<Self> {
        let out = tamper.check(program)?;
        Ok(Self { inner, tamper, out, ops: program.ops.len() })
    }
}

impl<B: Backend + ?Sized> Backend for Tampered<'_, B> {
    fn describe(&self) -> String {
        format!("{} (tampered: {:?})", self.inner.describe(), self.tamper)
    }

    fn run_ops(&mut self, step: u64, ops: Range<usize>) -> gavel_executor::Result<()> {
        let j = self.tamper.op as usize;
        if step != self.tamper.step || !ops.contains(&j) {
            return self.inner.run_ops(step, ops);
        }
        self.inner.run_ops(step, ops.start..j + 1)?;
        let mut values = self.inner.read_slot(self.out)?;
        self.tamper.apply(step, j, &mut values);
        self.inner.write_slot(self.out, &values)?;
        if j + 1 < ops.end {
            self.inner.run_ops(step, j + 1..ops.end)?;
        }
        Ok(())
    }

    fn run_step(&mut self, step: u64) -> gavel_executor::Result<()> {
        self.run_ops(step, 0..self.ops)
    }

    fn read_slot(&mut self, id: SlotId) -> gavel_executor::Result<Vec<i32>> {
        self.inner.read_slot(id)
    }

    fn slot_is_zero(&mut self, id: SlotId) -> gavel_executor::Result<bool> {
        self.inner.slot_is_zero(id)
    }

    fn read_memory(&mut self) -> gavel_executor::Result<Memory> {
        self.inner.read_memory()
    }

    fn write_slot(&mut self, id: SlotId, values: &[i32]) -> gavel_executor::Result<()> {
        self.inner.write_slot(id, values)
    }
}

#[cfg(test)]
mod tests {
    use std::{path::PathBuf, sync::Arc};

    use gavel_executor::{CpuBackend, JobSpec, TrainOptions, train};

    use super::*;
    use crate::{TraceStore, TraceWriter, Traced};

    /// Records the digits job cut to 3 steps into `dir`, through `tamper` if given.
    fn record(dir: &std::path::Path, tamper: Option<Tamper>) -> crate::TraceSummary {
        let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let mut spec = JobSpec::load(&repo.join("examples/digits.toml")).unwrap();
        spec.job.steps = 3;
        let job = spec.compile().unwrap();
        let program = Arc::new(job.program.clone());
        let mut cpu = CpuBackend::new(program.clone(), Memory::initial(&program, &job.inputs).unwrap());
        let writer = TraceWriter::create(dir, program.clone(), &job.inputs, 2).unwrap();
        let summary = match tamper {
            Some(t) => {
                let mut tampered = Tampered::new(&mut cpu, &program, t).unwrap();
                let mut traced = Traced::new(&mut tampered, writer);
                train(&job, &mut traced, &TrainOptions::default(), |_| {}).unwrap();
                traced.finish()
            }
            None => {
                let mut traced = Traced::new(&mut cpu, writer);
                train(&job, &mut traced, &TrainOptions::default(), |_| {}).unwrap();
                traced.finish()
            }
        };
        summary.unwrap()
    }

    #[test]
    fn a_tampered_store_answers_its_own_wrong_run_consistently() {
        let dir = tempfile::tempdir().unwrap();
        let (honest_dir, bad_dir) = (dir.path().join("honest"), dir.path().join("bad"));
        let honest = record(&honest_dir, None);
        let program = TraceStore::open(&honest_dir).unwrap().program().clone();
        // The last sgd writes a parameter: the fault survives to the output (the ops
        // after it clear step-local slots).
        let j = program.ops.iter().rposition(|op| matches!(op, gavel_executor::Op::Sgd { .. })).unwrap() as u32;
        let t = Tamper { step: 1, op: j, element: 3, delta: 1 << 16 };
        assert!(Tamper { delta: 0, ..t }.check(&program).is_err());
        assert!(Tamper { step: 3, ..t }.check(&program).is_err());
        let bad = record(&bad_dir, Some(t));
        assert_eq!(honest.checkpoints[..2], bad.checkpoints[..2]);
        assert_ne!(honest.output_root, bad.output_root);
        // Re-executing step 1 without the fault contradicts what the store recorded.
        let mut plain = TraceStore::open(&bad_dir).unwrap();
        assert!(matches!(plain.op_roots(1), Err(Error::Inconsistent(_))));
        let mut store = TraceStore::open(&bad_dir).unwrap().with_tamper(t).unwrap();
        let mut truth = TraceStore::open(&honest_dir).unwrap();
        let (ours, theirs) = (store.op_roots(1).unwrap(), truth.op_roots(1).unwrap());
        assert_eq!(ours[..=j as usize], theirs[..=j as usize]);
        assert_ne!(ours[j as usize + 1], theirs[j as usize + 1]);
        let out = program.ops[j as usize].output();
        let post = crate::Position::Op { step: 1, op: j + 1 };
        let (a, b) = (store.memory(post).unwrap(), truth.memory(post).unwrap());
        assert_eq!(a.slot(out)[3], b.slot(out)[3].wrapping_add(1 << 16));
        // Later steps re-execute from the recorded (tampered) state.
        store.op_roots(2).unwrap();
    }
}
