//! The replay bound (docs/program.md): every compiled program keeps each operator's
//! one-element replay within `MAX_REPLAY_CHUNKS` chunks, the digits program is exactly
//! what it was before the bound, and the forms the compiler uses to stay within it
//! (transposes, a column sum as a product with ones) change no bit.

use std::{collections::HashMap, sync::Arc};

use gavel_executor::{
    Backend, CpuBackend, GpuBackend, Inputs, Int64Mode, JobSpec, MAX_REPLAY_CHUNKS, Memory, Op, Program,
    ProgramBuilder, SlotId, SlotKind, SplitMix64,
};

use super::{ops::gpu, train::example};

fn spec(name: &str) -> JobSpec {
    JobSpec::load(&example(name)).expect("example spec parses")
}

/// The MNIST spec, or `None` (after a note) when its data is not installed.
fn mnist_spec() -> Option<JobSpec> {
    let spec = spec("mnist.toml");
    if spec.dataset_path().exists() {
        return Some(spec);
    }
    assert!(std::env::var("CI").is_err(), "MNIST data missing in CI: run scripts/bootstrap");
    eprintln!("note: {} missing; run scripts/bootstrap", spec.dataset_path().display());
    None
}

/// The largest replay of any op of `p`, with that op's index.
fn worst_replay(p: &Program) -> (u64, usize) {
    p.ops.iter().enumerate().map(|(i, op)| (p.replay_chunks(op), i)).max().expect("ops")
}

fn names(p: &Program, f: impl Fn(&Op) -> bool) -> Vec<String> {
    p.ops.iter().filter(|op| f(op)).map(|op| p.slots[op.output() as usize].name.clone()).collect()
}

/// The program the compiler wrote before the replay bound: every `transpose` the
/// compiler inserted (`x.t` of `x`) undone by reading its source with the flag flipped,
/// and every column sum `sum_rows(ones x (g^T)^T)` back to `sum_rows(g)`. The slots stay
/// (unused ones keep zeros), so slot ids and names match.
fn without_replay_forms(p: &Program) -> Program {
    let mut source: HashMap<SlotId, SlotId> = HashMap::new();
    let mut column_sum: HashMap<SlotId, SlotId> = HashMap::new();
    let mut ops = Vec::new();
    for op in &p.ops {
        match *op {
            Op::Transpose { a, out }
                if p.slots[out as usize].name.starts_with(&format!("{}.t", p.slots[a as usize].name)) =>
            {
                source.insert(out, a);
            }
            Op::MatMul { a, b, out, trans_b: true, .. } if p.slots[a as usize].name.starts_with("ones") => {
                column_sum.insert(out, source[&b]);
            }
            Op::MatMul { a, b, out, trans_a, trans_b, k_chunk } => {
                let (a, trans_a) = source.get(&a).map_or((a, trans_a), |&s| (s, !trans_a));
                let (b, trans_b) = source.get(&b).map_or((b, trans_b), |&s| (s, !trans_b));
                ops.push(Op::MatMul { a, b, out, trans_a, trans_b, k_chunk });
            }
            Op::SumRows { a, out } => ops.push(Op::SumRows { a: column_sum.get(&a).copied().unwrap_or(a), out }),
            ref other => ops.push(other.clone()),
        }
    }
    let naive = Program { ops, ..p.clone() };
    naive.validate_structure().expect("the naive form runs");
    naive
}

/// Runs `steps` steps of `a` and `b` (same slots) on the CPU and compares the slots
/// named in `compare` after every step.
fn same_values(a: &Program, b: &Program, inputs: &Inputs, steps: u64, compare: &[&str]) {
    let ids: Vec<SlotId> =
        compare.iter().map(|n| a.slots.iter().position(|s| s.name == *n).expect("slot") as SlotId).collect();
    let (pa, pb) = (Arc::new(a.clone()), Arc::new(b.clone()));
    let mut ca = CpuBackend::new(pa.clone(), Memory::initial(&pa, inputs).unwrap());
    let mut cb = CpuBackend::new(pb.clone(), Memory::initial(&pb, inputs).unwrap());
    for step in 0..steps {
        ca.run_step(step).unwrap();
        cb.run_step(step).unwrap();
        for (&id, name) in ids.iter().zip(compare) {
            assert!(ca.memory().slot(id) == cb.memory().slot(id), "`{name}` differs after step {step}");
        }
    }
}

#[test]
fn digits_program_is_unchanged_by_the_replay_bound() {
    // Every op of the digits MLP is within the bound as it was written, so the compiler
    // adds nothing for it: without the clears that end the step body (16 step-local
    // slots), same ops, same slots, same hash as before the bound.
    let job = spec("digits.toml").compile().unwrap();
    let p = &job.program;
    let clears = p.step_local_slots().iter().filter(|&&l| l).count();
    assert_eq!(clears, 16);
    let mut unclear = p.clone();
    let body = unclear.ops.split_off(p.ops.len() - clears);
    assert!(body.iter().all(|op| matches!(op, Op::Scale { a, factor: 0, out } if a == out)));
    assert_eq!(
        unclear.hash().to_string(),
        "0x6aa4104e3a4339a25814d5688156dceed34df83a983965aa0bb0044df213d0ab",
        "the digits program changed"
    );
    assert!(names(p, |op| matches!(op, Op::Transpose { .. })).is_empty());
    assert_eq!(worst_replay(p).0, 6, "dw0 = x^T g0: 4 chunks of x, 2 of g0");
}

#[test]
fn mnist_program_is_within_the_replay_bound() {
    let Some(spec) = mnist_spec() else { return };
    let job = spec.compile().unwrap();
    let p = &job.program;
    p.validate().unwrap();
    // Transposed where a product read an operand down its columns: w0 for z0 (16 chunks
    // of w0), h0 for dw1 (16), x and g0 for dw0 (64 and 16).
    assert_eq!(names(p, |op| matches!(op, Op::Transpose { .. })), ["w0.t", "h0.t", "x.t", "g0.t"]);
    // The largest replay left is the bias gradient db0 = sum_rows(g0 [64, 128]): 8192
    // elements, 16 chunks, at the bound itself; the first layer's 13 partial sums next.
    let (chunks, op) = worst_replay(p);
    assert_eq!((chunks, p.slots[p.ops[op].output() as usize].name.as_str()), (MAX_REPLAY_CHUNKS, "db0"));
    let z0 = p.ops.iter().find(|op| p.slots[op.output() as usize].name == "z0").unwrap();
    assert_eq!(p.replay_chunks(z0), 13);
}

#[test]
fn mnist_transposes_change_no_bit() {
    let Some(spec) = mnist_spec() else { return };
    let job = spec.compile().unwrap();
    let naive = without_replay_forms(&job.program);
    assert!(naive.validate().is_err(), "the naive program is beyond the bound");
    same_values(&job.program, &naive, &job.inputs, 40, &["w0", "b0", "w1", "b1", "loss", "g0"]);
}

#[test]
fn a_wide_batch_sums_bias_gradients_as_products_with_ones_and_changes_no_bit() {
    // Batch 128 and a hidden layer of 128: db0 = sum_rows(g0 [128, 128]) would open 32
    // chunks, so the compiler writes it as ones [1, 128] x (g0^T)^T.
    let mut spec = spec("digits.toml");
    (spec.model.layers, spec.train.batch_size, spec.job.steps) = (vec![64, 128, 10], 128, 60);
    let job = spec.compile().unwrap();
    let p = &job.program;
    assert!(worst_replay(p).0 <= MAX_REPLAY_CHUNKS);
    assert_eq!(
        names(p, |op| matches!(op, Op::MatMul { a, .. } if p.slots[*a as usize].name == "ones128")),
        ["db0.row"]
    );
    let naive = without_replay_forms(p);
    let db0 = naive.ops.iter().find(|op| naive.slots[op.output() as usize].name == "db0").unwrap();
    assert_eq!(naive.replay_chunks(db0), 32);
    same_values(p, &naive, &job.inputs, 60, &["w0", "b0", "w1", "b1", "db0"]);
}

#[test]
fn a_column_sum_as_a_product_with_ones_is_exact_at_the_extremes() {
    // Values at and near i32::MIN / MAX so that the sums saturate both ways, on the CPU
    // and on the GPU (both 64-bit paths) where there is one.
    let mut rng = SplitMix64::new(11);
    for (rows, cols) in [(128u32, 128u32), (100, 300), (17, 1000), (128, 5)] {
        let values: Vec<i32> = (0..rows * cols)
            .map(|i| match rng.below(6) {
                0 => i32::MAX,
                1 => i32::MIN,
                2 => i32::MAX - (i as i32 % 7),
                3 => rng.next_u64() as i32,
                4 => (rng.below(1 << 20) as i32) - (1 << 19),
                _ => -1,
            })
            .collect();
        let mut inputs = Inputs::new();
        let mut b = ProgramBuilder::new();
        let g = b.slot("g", &[rows, cols], SlotKind::Const { data: inputs.insert(values) });
        let direct = b.scratch("direct", &[cols]);
        b.push(Op::SumRows { a: g, out: direct });
        let product = b.sum_rows(&mut inputs, "product", g);
        let p = Arc::new(b.build_unbounded(1).unwrap());
        let reformulated = p.ops.iter().any(|op| matches!(op, Op::MatMul { .. }));
        assert_eq!(reformulated, rows * cols > 16 * 512, "{rows} x {cols}");
        let memory = Memory::initial(&p, &inputs).unwrap();
        let mut cpu = CpuBackend::new(p.clone(), memory.clone());
        cpu.run_step(0).unwrap();
        let m = cpu.memory();
        assert_eq!(m.slot(direct), m.slot(product), "{rows} x {cols} on the CPU");
        for mode in [Int64Mode::Native, Int64Mode::Emulated] {
            let Some(ctx) = gpu(mode) else { continue };
            let mut g = GpuBackend::new(ctx, p.clone(), memory.clone()).unwrap();
            g.run_step(0).unwrap();
            let gm = g.read_memory().unwrap();
            assert_eq!(gm.slot(product), m.slot(direct), "{rows} x {cols} on {}", g.describe());
        }
    }
}

#[test]
fn layers_beyond_the_bound_are_refused_naming_the_field() {
    // A 2048-wide hidden layer splits the next product's reduction into 32 partial
    // products of 64; summing them reads 32 chunks, which no layout avoids.
    let Some(mut spec) = mnist_spec() else { return };
    spec.model.layers = vec![784, 2048, 10];
    let e = spec.compile().unwrap_err().to_string();
    for needle in ["model.layers", "`sum_rows` writing `z1`", "32 chunks", "narrower layers"] {
        assert!(e.contains(needle), "expected `{needle}` in: {e}");
    }
}
