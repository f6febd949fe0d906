//! Step-local slots are not state: for random programs, running a step from the state
//! slots alone (step-local slots zeroed, or holding anything) gives the whole memory the
//! uninterrupted run has after it, and a store whose checkpoint files hold only the
//! state slots answers with the memory of that run.

use std::sync::Arc;

use gavel_executor::{
    Checkpoint, Hash32, Inputs, Memory, Op, PROGRAM_VERSION, Program, Slot, SlotId, SlotKind, execute_op,
};
use gavel_prover::{Position, TraceStore, TraceWriter, step_local_slots};
use proptest::prelude::*;

use crate::common::{digits, record};

const SIDE: u32 = 3;
/// Constant slots: a gather table, its index, a matrix.
const CONSTS: u32 = 3;
const VARS: u32 = 6;

/// An operator over the `[3, 3]` slots `CONSTS..CONSTS + VARS` (and the constant
/// matrix), chosen by `kind` with operands `a`, `b` and output `out`.
fn op(kind: u8, a: SlotId, b: SlotId, out: SlotId, param: i32) -> Op {
    match kind % 11 {
        0 => Op::Gather { table: 0, index: 1, out },
        1 => Op::MatMul { a, b, out, trans_a: param & 1 == 1, trans_b: param & 2 == 2, k_chunk: SIDE },
        2 => Op::Add { a, b, out },
        3 => Op::Sub { a, b, out },
        4 => Op::Mul { a, b, out },
        5 => Op::Scale { a, factor: param, out },
        6 => Op::Relu { a, out },
        7 => Op::ReluGrad { pre: a, grad: b, out },
        8 => Op::Sgd { param: a, grad: b, lr: param, out },
        9 => Op::Transpose { a, out },
        _ => Op::Softmax { a, out },
    }
}

/// A program of 1 to 10 random operators over six variable slots (some with an initial
/// tensor), the constant matrix as a possible operand, and its inputs.
fn program() -> impl Strategy<Value = (Program, Inputs)> {
    let operand = prop_oneof![Just(2u32), CONSTS..CONSTS + VARS];
    let ops = prop::collection::vec(
        (any::<u8>(), operand.clone(), operand, CONSTS..CONSTS + VARS, -(3 << 16)..(3i32 << 16)),
        1..=10,
    );
    let inits = prop::collection::vec(prop::option::of(prop::collection::vec(-(4i32 << 16)..(4 << 16), 9)), 6);
    let data = prop::collection::vec(-(4i32 << 16)..(4 << 16), 15 + 9);
    let index = prop::collection::vec(0i32..5, 4 * 3);
    (ops, inits, data, index, 1u64..=6).prop_map(|(ops, inits, data, index, steps)| {
        let mut inputs = Inputs::new();
        let constant = |inputs: &mut Inputs, name: &str, shape: &[u32], v: Vec<i32>| Slot {
            name: name.into(),
            shape: shape.to_vec(),
            kind: SlotKind::Const { data: inputs.insert(v) },
        };
        let mut slots = vec![
            constant(&mut inputs, "table", &[5, SIDE], data[..15].to_vec()),
            constant(&mut inputs, "index", &[4, SIDE], index),
            constant(&mut inputs, "k", &[SIDE, SIDE], data[15..].to_vec()),
        ];
        for (i, init) in inits.into_iter().enumerate() {
            let init: Option<Hash32> = init.map(|v| inputs.insert(v));
            slots.push(Slot { name: format!("v{i}"), shape: vec![SIDE, SIDE], kind: SlotKind::Var { init } });
        }
        let ops = ops.into_iter().map(|(kind, a, b, out, param)| op(kind, a, b, out, param)).collect();
        let p = Program { version: PROGRAM_VERSION, slots, ops, steps };
        p.validate().expect("random programs are valid");
        (p, inputs)
    })
}

/// Runs step `step` of `program` on `memory`.
fn run_step(program: &Program, memory: &mut Memory, step: u64) {
    for op in &program.ops {
        let out = execute_op(program, op, step, memory);
        memory.set_slot(op.output(), out);
    }
}

/// The memory before every step and after the last, from an uninterrupted run.
fn run(program: &Program, inputs: &Inputs) -> Vec<Memory> {
    let mut memory = Memory::initial(program, inputs).unwrap();
    let mut out = vec![memory.clone()];
    for step in 0..program.steps {
        run_step(program, &mut memory, step);
        out.push(memory.clone());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The soundness of the rule: what a step-local slot holds when a step starts never
    /// reaches anything, so a step run from the state slots alone ends where the
    /// uninterrupted run does, in every slot.
    #[test]
    fn a_step_from_the_state_slots_alone_ends_in_the_same_memory(
        (program, inputs) in program(),
        garbage in prop::collection::vec(any::<i32>(), 9),
    ) {
        let local = step_local_slots(&program);
        let memories = run(&program, &inputs);
        for step in 0..program.steps {
            for fill in [vec![0; 9], garbage.clone()] {
                let mut memory = memories[step as usize].clone();
                for (id, _) in local.iter().enumerate().filter(|(_, l)| **l) {
                    memory.set_slot(id as SlotId, fill.clone());
                }
                run_step(&program, &mut memory, step);
                prop_assert_eq!(&memory, &memories[step as usize + 1], "step {} of {:?}", step, program.ops);
            }
        }
    }

    /// A store of such a program (checkpoint files of state slots only) rebuilds every
    /// memory of the run, at every checkpoint and operator boundary.
    #[test]
    fn a_store_rebuilds_every_memory_of_the_run((program, inputs) in program(), every in 1u64..=3) {
        let memories = run(&program, &inputs);
        let dir = tempfile::tempdir().unwrap();
        let program = Arc::new(program);
        let mut writer = TraceWriter::create(dir.path(), program.clone(), &inputs, every).unwrap();
        for step in 0..program.steps {
            let mut written: Vec<SlotId> = program.ops.iter().map(Op::output).collect();
            written.sort();
            written.dedup();
            let after = &memories[step as usize + 1];
            writer.record_written(step, written.iter().map(|&id| (id, after.slot(id).to_vec())).collect()).unwrap();
        }
        writer.finish().unwrap();
        let mut store = TraceStore::open(dir.path()).unwrap();
        store.check().unwrap();
        for step in (0..=program.steps).rev() {
            prop_assert_eq!(&store.memory(Position::Checkpoint(step)).unwrap(), &memories[step as usize]);
        }
        let last = program.steps - 1;
        let mut memory = memories[last as usize].clone();
        for (j, op) in program.ops.iter().enumerate() {
            let out = execute_op(&program, op, last, &memory);
            memory.set_slot(op.output(), out);
            prop_assert_eq!(&store.memory(Position::Op { step: last, op: j as u32 + 1 }).unwrap(), &memory);
        }
    }
}

#[test]
fn digits_checkpoint_files_hold_only_the_state_slots() {
    let job = digits(5);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 2);
    let local = step_local_slots(&job.program);
    let state: Vec<SlotId> = (0..job.program.slots.len() as SlotId)
        .filter(|&id| !local[id as usize] && matches!(job.program.slots[id as usize].kind, SlotKind::Var { .. }))
        .collect();
    assert_eq!(state.len(), 5, "w0, b0, w1, b1, loss");
    // Kept checkpoints 2, 4 and 5 are rebuilt from the state before steps 1, 3 and 4.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["0000000001.ckpt", "0000000003.ckpt", "0000000004.ckpt"]);
    let mut store = TraceStore::open(dir.path()).unwrap();
    for (name, step) in names.iter().zip([1u64, 3, 4]) {
        let ckpt = Checkpoint::read(&dir.path().join("checkpoints").join(name)).unwrap();
        assert_eq!(ckpt.step, step);
        assert_eq!(ckpt.slots.iter().map(|(id, _)| *id).collect::<Vec<_>>(), state);
        let memory = store.memory(Position::Checkpoint(step)).unwrap();
        for (id, values) in &ckpt.slots {
            assert_eq!(memory.slot(*id), values.as_slice());
        }
    }
}

#[test]
fn a_store_of_the_previous_format_is_refused_by_name() {
    let job = digits(2);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 1);
    let path = dir.path().join("store.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"version\": 2"), "{text}");
    std::fs::write(&path, text.replace("\"version\": 2", "\"version\": 1")).unwrap();
    let e = TraceStore::open(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("gavel-trace-store version 1, this build reads gavel-trace-store version 2")
            && e.contains("record the run again"),
        "{e}"
    );
    assert!(TraceWriter::resume(dir.path()).is_err());
}
