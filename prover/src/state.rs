//! Which slots carry state from one step to the next (`docs/program.md`, "State and
//! step-local slots").
//!
//! A variable slot is **step-local** when, in the step body, its first access is a write
//! (no op before that write reads it, and the writing op does not read it either) and a
//! later op of the same step reads it: an intermediate such as an activation, a gradient
//! or the gathered batch. Every other slot is **state**: constants, slots read before
//! they are written (parameters, accumulators, anything updated in place), slots written
//! but never read in the step (results such as the loss or an inference program's
//! predictions) and slots the step body never touches.
//!
//! Every read of a step-local slot in step `i` follows its write in step `i`, so what it
//! holds when step `i` starts never influences anything: running step `i` from the state
//! slots alone gives the whole memory after step `i`. The trace store relies on this to
//! keep only the state slots in its checkpoint files.

use gavel_executor::{Program, SlotKind};

/// For every slot of `program`, in slot order, whether it is step-local
/// ([`Program::step_local_slots`]). A pure function of the program.
pub fn step_local_slots(program: &Program) -> Vec<bool> {
    program.step_local_slots()
}

/// The ids of the variable slots that are state (not step-local), in slot order: what a
/// checkpoint file of the trace store holds.
pub(crate) fn state_var_slots(program: &Program) -> Vec<gavel_executor::SlotId> {
    step_local_slots(program)
        .iter()
        .zip(&program.slots)
        .enumerate()
        .filter(|(_, (local, slot))| !**local && matches!(slot.kind, SlotKind::Var { .. }))
        .map(|(i, _)| i as gavel_executor::SlotId)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gavel_executor::{Hash32, JobSpec, Op, PROGRAM_VERSION, Slot};

    use super::*;

    fn var(name: &str) -> Slot {
        Slot { name: name.into(), shape: vec![2, 2], kind: SlotKind::Var { init: None } }
    }

    fn program(slots: Vec<Slot>, ops: Vec<Op>) -> Program {
        let p = Program { version: PROGRAM_VERSION, slots, ops, steps: 2 };
        p.validate().unwrap();
        p
    }

    #[test]
    fn digits_keeps_parameters_and_loss_and_drops_the_rest() {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/digits.toml");
        let job = JobSpec::load(&spec).unwrap().compile().unwrap();
        let p = &job.program;
        let local = step_local_slots(p);
        let mut state: Vec<&str> = Vec::new();
        for (slot, &l) in p.slots.iter().zip(&local) {
            if !l {
                state.push(&slot.name);
            }
        }
        // Constants, the parameters (sgd in place) and the loss (written, never read).
        assert_eq!(state, ["x_train", "y_train", "schedule", "w0", "b0", "w1", "b1", "loss"], "{:?}", p.slots);
        for name in ["x", "y", "z0", "a0", "h0", "a1", "g1", "dw0", "dw1", "db0", "db1", "g0", "row_loss", "loss_sum"] {
            let i = p.slots.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("no slot {name}"));
            assert!(local[i], "{name} is step-local");
        }
        let ids: Vec<&str> = state_var_slots(p).iter().map(|&i| p.slots[i as usize].name.as_str()).collect();
        assert_eq!(ids, ["w0", "b0", "w1", "b1", "loss"]);
        for l in job.params {
            assert!(!local[l.weight as usize] && !local[l.bias as usize]);
        }
        assert!(!local[job.loss as usize]);
    }

    #[test]
    fn each_kind_of_access_pattern() {
        let slots = vec![
            Slot { name: "k".into(), shape: vec![2, 2], kind: SlotKind::Const { data: Hash32::of(b"k") } }, // 0
            var("param"), // 1: sgd in place
            var("grad"),  // 2: written, then read by sgd
            var("acc"),   // 3: zero-initialised accumulator, read before written
            var("tmp"),   // 4: written, read, written again, read
            var("late"),  // 5: read before its write (its previous value matters)
            var("out"),   // 6: written, never read: a result
            var("idle"),  // 7: never touched
            var("self"),  // 8: first written by an op that also reads it
        ];
        let ops = vec![
            Op::Mul { a: 0, b: 1, out: 2 },
            Op::Add { a: 3, b: 2, out: 3 },
            Op::Relu { a: 2, out: 4 },
            Op::Add { a: 4, b: 5, out: 6 },
            Op::Scale { a: 4, factor: 3, out: 5 },
            Op::Relu { a: 3, out: 4 },
            Op::Sub { a: 4, b: 2, out: 6 },
            Op::Sgd { param: 1, grad: 2, lr: 100, out: 1 },
            Op::Add { a: 8, b: 0, out: 8 },
            Op::Relu { a: 8, out: 6 },
        ];
        let p = program(slots, ops);
        assert_eq!(step_local_slots(&p), [false, false, true, false, true, false, false, false, false]);
        assert_eq!(state_var_slots(&p), [1, 3, 5, 6, 7, 8]);
    }

    #[test]
    fn a_slot_only_written_is_state_even_when_written_twice() {
        let p =
            program(vec![var("a"), var("b")], vec![Op::Relu { a: 0, out: 1 }, Op::Scale { a: 0, factor: 2, out: 1 }]);
        assert_eq!(step_local_slots(&p), [false, false]);
    }
}
