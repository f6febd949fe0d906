//! Operator test vectors: deterministic cases for all sixteen operators.
//!
//! Two consumers share one generator:
//! - the CPU-vs-GPU suite (`executor/tests/it/ops.rs`) runs every operator's
//!   [`OpSuite`] (at least [`MIN_SUITE_CASES`] cases, packed into a few programs) on
//!   the CPU reference and on the GPU, and compares bits;
//! - [`export`] writes the first cases of every suite as small self-contained JSON
//!   instances, `tests/vectors/<op>.json`, for the Solidity one-element evaluator.
//!
//! A *case* is one independently computed unit of an operator's output: one element
//! (element-wise ops, `gather`, `sum_rows`), one row (`add_bias`, `softmax`,
//! `softmax_xent_grad`, `xent_loss`, `argmax`), one output position `(m, n)` with its
//! chunk partial sums (`mat_mul`), or one [`TRANSPOSE_TILE`]-square tile
//! (`transpose`). [`OpSuite::case`] extracts a case from its batch as a small instance
//! of the operator that reads only what the case needs; its output, computed by the
//! CPU reference, equals the case's part of the batch output.
//!
//! Everything is a pure function of the seed ([`DEFAULT_SEED`] for the committed
//! files) through a SplitMix64 generator, so the suite and the files are reproducible
//! byte for byte. The file format and how cases are chosen are in `docs/vectors.md`.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    cpu::execute_op,
    error::{Error, Result},
    hash::Hash32,
    memory::{Inputs, Memory},
    numerics::{EXP_CUTOFF, ONE},
    program::{MAX_REDUCE, Op, PROGRAM_VERSION, Program, Slot, SlotId, SlotKind},
};

/// Version of the JSON export format (`format_version` in every file).
pub const FORMAT_VERSION: u32 = 1;

/// The seed of the committed vectors and of the CPU-vs-GPU suite.
pub const DEFAULT_SEED: u64 = 0x6761_7665_6c5f_7631;

/// Every operator's suite holds at least this many cases.
pub const MIN_SUITE_CASES: usize = 10_000;

/// The default, and the least, number of cases per operator that [`export`] writes.
pub const MIN_EXPORT_CASES: usize = 1_000;

/// Side of the square source tiles a `transpose` output is split into: one case each.
pub const TRANSPOSE_TILE: u32 = 4;

/// The operators, by their serialized names, in the order suites and files are made.
pub const OP_NAMES: [&str; 16] = [
    "gather",
    "mat_mul",
    "sum_rows",
    "add",
    "sub",
    "mul",
    "add_bias",
    "scale",
    "relu",
    "relu_grad",
    "transpose",
    "softmax",
    "softmax_xent_grad",
    "xent_loss",
    "sgd",
    "argmax",
];

/// One program of a suite, run from `memory` once per entry of `steps`.
///
/// Every operator reads slots no operator of the batch writes (or, in place, only the
/// slot it writes itself), so the outputs of one step do not depend on earlier steps.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The program: one operator per group of cases, each with its own slots.
    pub program: Arc<Program>,
    /// The memory before the first step ([`Memory::initial`] of the program).
    pub memory: Memory,
    /// Step numbers to run; after each, every operator's output slot is compared.
    pub steps: Vec<u64>,
}

/// Where a case lies in its suite. Ordered as the suite enumerates cases: by batch,
/// operator, step, then unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseId {
    /// Index into [`OpSuite::batches`].
    pub batch: usize,
    /// Index of the operator in the batch program's step body.
    pub op: usize,
    /// Index into [`Batch::steps`].
    pub step: usize,
    /// Unit (element, row, position or tile) of the operator's output.
    pub unit: usize,
}

/// A named tensor of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// Operand name, as the operator's field (`a`, `b`, `table`, `logits`, ...), or `out`.
    pub name: &'static str,
    /// Dimensions, outermost first.
    pub shape: Vec<u32>,
    /// Row-major values.
    pub values: Vec<i32>,
}

/// One case as a small self-contained instance of the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Where the case comes from.
    pub id: CaseId,
    /// The operator over the instance's slots: inputs `0..inputs.len()` in operand
    /// order, the output at `inputs.len()`.
    pub op: Op,
    /// The step number it runs at (only `gather` reads it).
    pub step: u64,
    /// Input tensors, in operand order.
    pub inputs: Vec<Tensor>,
    /// Expected output of the instance (the CPU reference).
    pub output: Tensor,
    /// Positions in the batch operator's output slot that `output` holds, in order.
    pub positions: Vec<usize>,
}

/// Every case of one operator, packed into a few programs.
#[derive(Clone, Debug)]
pub struct OpSuite {
    /// The operator name (one of [`OP_NAMES`]).
    pub op: &'static str,
    /// The seed the suite was generated from.
    pub seed: u64,
    /// The programs, edge values first.
    pub batches: Vec<Batch>,
}

impl OpSuite {
    /// Generates the suite of operator `op` (a name from [`OP_NAMES`]); `None` for an
    /// unknown name.
    pub fn generate(op: &str, seed: u64) -> Option<Self> {
        let name = *OP_NAMES.iter().find(|&&n| n == op)?;
        let mut rng = Rng::new(seed, name);
        let rng = &mut rng;
        let batches = match name {
            "gather" => gen_gather(rng),
            "mat_mul" => gen_matmul(rng),
            "sum_rows" => gen_sum_rows(rng),
            "add" => gen_binary(rng, Binary::Add),
            "sub" => gen_binary(rng, Binary::Sub),
            "mul" => gen_binary(rng, Binary::Mul),
            "add_bias" => gen_add_bias(rng),
            "scale" => gen_scale(rng),
            "relu" => gen_relu(rng),
            "relu_grad" => gen_relu_grad(rng),
            "transpose" => gen_transpose(rng),
            "softmax" => gen_rows(rng, RowOp::Softmax),
            "softmax_xent_grad" => gen_rows(rng, RowOp::XentGrad),
            "xent_loss" => gen_rows(rng, RowOp::Xent),
            "sgd" => gen_sgd(rng),
            "argmax" => gen_rows(rng, RowOp::Argmax),
            _ => unreachable!("every name of OP_NAMES has a generator"),
        };
        Some(Self { op: name, seed, batches })
    }

    /// Every case, in suite order (edge values first).
    pub fn case_ids(&self) -> Vec<CaseId> {
        let mut ids = Vec::new();
        for (bi, batch) in self.batches.iter().enumerate() {
            for (oi, op) in batch.program.ops.iter().enumerate() {
                let units = units(&batch.program, op);
                for si in 0..batch.steps.len() {
                    ids.extend((0..units).map(|unit| CaseId { batch: bi, op: oi, step: si, unit }));
                }
            }
        }
        ids
    }

    /// The case holding element `element` of operator `op`'s output in batch `batch`
    /// at step index `step`.
    pub fn case_at(&self, batch: usize, op: usize, step: usize, element: usize) -> CaseId {
        let program = &self.batches[batch].program;
        let unit = unit_of(program, &program.ops[op], element);
        CaseId { batch, op, step, unit }
    }

    /// Extracts a case as a small instance and computes its expected output with the
    /// CPU reference.
    pub fn case(&self, id: CaseId) -> Case {
        let batch = &self.batches[id.batch];
        let program = &batch.program;
        let op = &program.ops[id.op];
        let step = batch.steps[id.step];
        let (small_op, inputs, out_shape) = instance(program, &batch.memory, op, id.unit);
        let mut slots: Vec<Slot> = inputs
            .iter()
            .map(|t| Slot {
                name: t.name.to_owned(),
                shape: t.shape.clone(),
                kind: SlotKind::Const { data: Hash32::of_tensor(&t.values) },
            })
            .collect();
        let out_len = out_shape.iter().product::<u32>() as usize;
        slots.push(Slot { name: "out".to_owned(), shape: out_shape.clone(), kind: SlotKind::Var { init: None } });
        let small = Program { version: PROGRAM_VERSION, slots, ops: vec![small_op.clone()], steps: step + 1 };
        small.validate_structure().expect("an extracted case is a valid program");
        let mut values: Vec<Vec<i32>> = inputs.iter().map(|t| t.values.clone()).collect();
        values.push(vec![0; out_len]);
        let out = execute_op(&small, &small_op, step, &Memory::from_slots(values));
        Case {
            id,
            op: small_op,
            step,
            inputs,
            output: Tensor { name: "out", shape: out_shape, values: out },
            positions: positions(program, op, id.unit),
        }
    }
}

/// Writes `<dir>/<op>.json` for every operator: the first `cases_per_op` cases of its
/// suite under [`DEFAULT_SEED`] (all of them if the suite is smaller), in the format
/// of `docs/vectors.md`. Creates `dir` if needed and returns the paths written.
///
/// The output is deterministic: the same arguments give the same bytes. Fewer than
/// [`MIN_EXPORT_CASES`] cases per operator is refused, since the contracts' tests
/// need at least that many (edge values included).
pub fn export(dir: &Path, cases_per_op: usize) -> Result<Vec<PathBuf>> {
    let io_err =
        |what: &'static str, path: &Path, source: std::io::Error| Error::Io { what, path: path.to_owned(), source };
    if cases_per_op < MIN_EXPORT_CASES {
        let msg = format!("asked for {cases_per_op} cases per operator, at least {MIN_EXPORT_CASES} are needed");
        return Err(io_err("export test vectors to", dir, std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)));
    }
    std::fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, e))?;
    let mut written = Vec::new();
    for name in OP_NAMES {
        let suite = OpSuite::generate(name, DEFAULT_SEED).expect("known operator");
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, render(&suite, cases_per_op)).map_err(|e| io_err("write test vectors", &path, e))?;
        written.push(path);
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------
// Rendering.

/// The JSON file of one suite (see `docs/vectors.md`); written by hand so that key
/// order and layout never depend on serde features: one case per line, keys sorted.
fn render(suite: &OpSuite, count: usize) -> String {
    let ids = suite.case_ids();
    let n = count.min(ids.len());
    let mut s = String::new();
    s.push_str("{\n");
    let _ = writeln!(s, "  \"format_version\": {FORMAT_VERSION},");
    let _ = writeln!(s, "  \"op\": \"{}\",", suite.op);
    let _ = writeln!(s, "  \"seed\": \"{:#018x}\",", suite.seed);
    let _ = writeln!(s, "  \"suite_cases\": {},", ids.len());
    let _ = writeln!(s, "  \"count\": {n},");
    s.push_str("  \"cases\": [\n");
    for (i, &id) in ids[..n].iter().enumerate() {
        s.push_str("    ");
        write_case(&mut s, i, &suite.case(id));
        s.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
    s.push_str("  ]\n}\n");
    s
}

fn write_case(s: &mut String, index: usize, case: &Case) {
    let _ = write!(s, "{{\"id\":{index},\"inputs\":[");
    for (i, t) in case.inputs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{{\"name\":\"{}\",", t.name);
        write_tensor_body(s, t);
        s.push('}');
    }
    s.push_str("],\"output\":{");
    write_tensor_body(s, &case.output);
    s.push('}');
    match case.op {
        Op::MatMul { trans_a, trans_b, k_chunk, .. } => {
            let _ = write!(s, ",\"params\":{{\"k_chunk\":{k_chunk},\"trans_a\":{trans_a},\"trans_b\":{trans_b}}}");
        }
        Op::Scale { factor, .. } => {
            let _ = write!(s, ",\"params\":{{\"factor\":{factor}}}");
        }
        Op::SoftmaxXentGrad { scale, .. } => {
            let _ = write!(s, ",\"params\":{{\"scale\":{scale}}}");
        }
        Op::Sgd { lr, .. } => {
            let _ = write!(s, ",\"params\":{{\"lr\":{lr}}}");
        }
        _ => {}
    }
    let _ = write!(s, ",\"step\":{}}}", case.step);
}

fn write_tensor_body(s: &mut String, t: &Tensor) {
    s.push_str("\"shape\":");
    write_list(s, t.shape.iter().map(|&d| d as i64));
    s.push_str(",\"values\":");
    write_list(s, t.values.iter().map(|&v| v as i64));
}

fn write_list(s: &mut String, items: impl Iterator<Item = i64>) {
    s.push('[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v}");
    }
    s.push(']');
}

// ---------------------------------------------------------------------------------
// Cases: units of an operator's output and their extraction.

fn numel(shape: &[u32]) -> usize {
    shape.iter().map(|&d| d as usize).product()
}

/// Number of cases one operator of a batch holds per step.
fn units(p: &Program, op: &Op) -> usize {
    match *op {
        Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
            let d = p.matmul_dims(a, b, trans_a, trans_b, k_chunk);
            (d.m * d.n) as usize
        }
        Op::AddBias { a, .. } | Op::Softmax { a, .. } | Op::Argmax { a, .. } => p.shape(a)[0] as usize,
        Op::SoftmaxXentGrad { logits, .. } | Op::XentLoss { logits, .. } => p.shape(logits)[0] as usize,
        Op::Transpose { a, .. } => {
            let s = p.shape(a);
            (s[0].div_ceil(TRANSPOSE_TILE) * s[1].div_ceil(TRANSPOSE_TILE)) as usize
        }
        _ => numel(p.shape(op.output())),
    }
}

/// The unit holding output element `e`.
fn unit_of(p: &Program, op: &Op, e: usize) -> usize {
    match *op {
        Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
            let d = p.matmul_dims(a, b, trans_a, trans_b, k_chunk);
            e % (d.m * d.n) as usize
        }
        Op::AddBias { a, .. } | Op::Softmax { a, .. } | Op::SoftmaxXentGrad { logits: a, .. } => {
            e / p.shape(a)[1] as usize
        }
        Op::Transpose { a, .. } => {
            let (r, c) = (p.shape(a)[0] as usize, p.shape(a)[1] as usize);
            let (row, col) = (e % r, e / r);
            let t = TRANSPOSE_TILE as usize;
            (row / t) * c.div_ceil(t) + col / t
        }
        _ => e,
    }
}

/// The output elements of unit `u`, in the order of the extracted instance's output.
fn positions(p: &Program, op: &Op, u: usize) -> Vec<usize> {
    match *op {
        Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
            let d = p.matmul_dims(a, b, trans_a, trans_b, k_chunk);
            let mn = (d.m * d.n) as usize;
            (0..d.chunks as usize).map(|s| s * mn + u).collect()
        }
        Op::AddBias { a, .. } | Op::Softmax { a, .. } | Op::SoftmaxXentGrad { logits: a, .. } => {
            let n = p.shape(a)[1] as usize;
            (u * n..(u + 1) * n).collect()
        }
        Op::Transpose { a, .. } => {
            let tile = tile_of(p.shape(a), u);
            let r = p.shape(a)[0] as usize;
            let mut out = Vec::with_capacity(tile.h * tile.w);
            for j in 0..tile.w {
                out.extend((0..tile.h).map(|i| (tile.c0 + j) * r + tile.r0 + i));
            }
            out
        }
        _ => vec![u],
    }
}

struct Tile {
    r0: usize,
    c0: usize,
    h: usize,
    w: usize,
}

fn tile_of(shape: &[u32], u: usize) -> Tile {
    let t = TRANSPOSE_TILE as usize;
    let (r, c) = (shape[0] as usize, shape[1] as usize);
    let (r0, c0) = ((u / c.div_ceil(t)) * t, (u % c.div_ceil(t)) * t);
    Tile { r0, c0, h: t.min(r - r0), w: t.min(c - c0) }
}

/// The small instance of unit `u`: operator over fresh slot ids, inputs, output shape.
fn instance(p: &Program, mem: &Memory, op: &Op, u: usize) -> (Op, Vec<Tensor>, Vec<u32>) {
    let shape = |id: SlotId| p.shape(id);
    let vals = |id: SlotId| mem.slot(id);
    let t = |name: &'static str, shape: Vec<u32>, values: Vec<i32>| Tensor { name, shape, values };
    let scalar = |name: &'static str, id: SlotId| t(name, vec![1], vec![vals(id)[u]]);
    let row = |name: &'static str, id: SlotId| {
        let n = shape(id)[1] as usize;
        t(name, vec![1, n as u32], vals(id)[u * n..(u + 1) * n].to_vec())
    };
    match *op {
        Op::Gather { table, index, .. } => {
            let (r, c) = (shape(table)[0] as usize, shape(table)[1] as usize);
            let (tt, b) = (shape(index)[0] as usize, shape(index)[1] as usize);
            let (ob, oc) = (u / c, u % c);
            let tab: Vec<i32> = (0..r).map(|i| vals(table)[i * c + oc]).collect();
            let idx: Vec<i32> = (0..tt).map(|i| vals(index)[i * b + ob]).collect();
            (
                Op::Gather { table: 0, index: 1, out: 2 },
                vec![t("table", vec![r as u32, 1], tab), t("index", vec![tt as u32, 1], idx)],
                vec![1, 1],
            )
        }
        Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
            let d = p.matmul_dims(a, b, trans_a, trans_b, k_chunk);
            let (m, k, n) = (d.m as usize, d.k as usize, d.n as usize);
            let (mi, ni) = (u / n, u % n);
            let arow: Vec<i32> =
                (0..k).map(|kk| if trans_a { vals(a)[kk * m + mi] } else { vals(a)[mi * k + kk] }).collect();
            let bcol: Vec<i32> =
                (0..k).map(|kk| if trans_b { vals(b)[ni * k + kk] } else { vals(b)[kk * n + ni] }).collect();
            let k32 = k as u32;
            let sa = if trans_a { vec![k32, 1] } else { vec![1, k32] };
            let sb = if trans_b { vec![1, k32] } else { vec![k32, 1] };
            let out = if d.chunks == 1 { vec![1, 1] } else { vec![d.chunks, 1, 1] };
            (
                Op::MatMul { a: 0, b: 1, out: 2, trans_a, trans_b, k_chunk },
                vec![t("a", sa, arow), t("b", sb, bcol)],
                out,
            )
        }
        Op::SumRows { a, .. } => {
            let s = shape(a);
            let r = s[0] as usize;
            let w = numel(s) / r;
            let col: Vec<i32> = (0..r).map(|i| vals(a)[i * w + u]).collect();
            let mut sh = vec![1; s.len()];
            sh[0] = r as u32;
            let out = if sh.len() == 1 { vec![1] } else { sh[1..].to_vec() };
            (Op::SumRows { a: 0, out: 1 }, vec![t("a", sh, col)], out)
        }
        Op::Add { a, b, .. } => (Op::Add { a: 0, b: 1, out: 2 }, vec![scalar("a", a), scalar("b", b)], vec![1]),
        Op::Sub { a, b, .. } => (Op::Sub { a: 0, b: 1, out: 2 }, vec![scalar("a", a), scalar("b", b)], vec![1]),
        Op::Mul { a, b, .. } => (Op::Mul { a: 0, b: 1, out: 2 }, vec![scalar("a", a), scalar("b", b)], vec![1]),
        Op::AddBias { a, bias, .. } => {
            let n = shape(a)[1];
            (
                Op::AddBias { a: 0, bias: 1, out: 2 },
                vec![row("a", a), t("bias", vec![n], vals(bias).to_vec())],
                vec![1, n],
            )
        }
        Op::Scale { a, factor, .. } => (Op::Scale { a: 0, factor, out: 1 }, vec![scalar("a", a)], vec![1]),
        Op::Relu { a, .. } => (Op::Relu { a: 0, out: 1 }, vec![scalar("a", a)], vec![1]),
        Op::ReluGrad { pre, grad, .. } => {
            (Op::ReluGrad { pre: 0, grad: 1, out: 2 }, vec![scalar("pre", pre), scalar("grad", grad)], vec![1])
        }
        Op::Transpose { a, .. } => {
            let tile = tile_of(shape(a), u);
            let c = shape(a)[1] as usize;
            let mut v = Vec::with_capacity(tile.h * tile.w);
            for i in 0..tile.h {
                v.extend_from_slice(&vals(a)[(tile.r0 + i) * c + tile.c0..][..tile.w]);
            }
            let (h, w) = (tile.h as u32, tile.w as u32);
            (Op::Transpose { a: 0, out: 1 }, vec![t("a", vec![h, w], v)], vec![w, h])
        }
        Op::Softmax { a, .. } => {
            let n = shape(a)[1];
            (Op::Softmax { a: 0, out: 1 }, vec![row("a", a)], vec![1, n])
        }
        Op::SoftmaxXentGrad { logits, labels, scale, .. } => {
            let n = shape(logits)[1];
            (
                Op::SoftmaxXentGrad { logits: 0, labels: 1, scale, out: 2 },
                vec![row("logits", logits), row("labels", labels)],
                vec![1, n],
            )
        }
        Op::XentLoss { logits, labels, .. } => {
            (Op::XentLoss { logits: 0, labels: 1, out: 2 }, vec![row("logits", logits), row("labels", labels)], vec![1])
        }
        Op::Sgd { param, grad, lr, .. } => {
            (Op::Sgd { param: 0, grad: 1, lr, out: 2 }, vec![scalar("param", param), scalar("grad", grad)], vec![1])
        }
        Op::Argmax { a, .. } => (Op::Argmax { a: 0, out: 1 }, vec![row("a", a)], vec![1]),
    }
}

// ---------------------------------------------------------------------------------
// Randomness and values.

/// SplitMix64, seeded from the suite seed and the operator name.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, salt: &str) -> Self {
        // FNV-1a over the salt, folded into the seed.
        let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
        for b in salt.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        Self(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the tiny bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    fn i32(&mut self) -> i32 {
        (self.next() >> 32) as u32 as i32
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.index(xs.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const HALF: i32 = ONE / 2;
/// Realistic Q16.16 values have `|x| < 8.0`.
const REAL: i32 = 8 * ONE;

/// The core edge values; binary operators see every pair of them.
const EDGES: [i32; 28] = [
    0,
    1,
    -1,
    2,
    -2,
    i32::MAX,
    i32::MIN,
    i32::MAX - 1,
    i32::MIN + 1,
    ONE,
    -ONE,
    ONE + 1,
    ONE - 1,
    HALF,
    -HALF,
    HALF + 1,
    HALF - 1,
    3 * HALF,
    -3 * HALF,
    // Just above sqrt(2^31): the square's integer product passes 2^31.
    46_341,
    -46_341,
    // The largest magnitude whose Q16.16 square fits, and the smallest that saturates.
    11_863_283,
    -11_863_284,
    1 << 24,
    -(1 << 24),
    1 << 30,
    -(1 << 30),
    EXP_CUTOFF,
];

/// More edge values, drawn from by the random mixes.
const MORE_EDGES: [i32; 30] = [
    3,
    -3,
    5 * HALF,
    -5 * HALF,
    7 * HALF,
    2 * ONE,
    -2 * ONE,
    ONE - 1,
    -ONE + 1,
    32_767,
    -32_767,
    32_769,
    -32_769,
    i32::MAX / 2,
    i32::MIN / 2,
    REAL - 1,
    -REAL + 1,
    REAL,
    -REAL,
    EXP_CUTOFF + 1,
    EXP_CUTOFF - 1,
    11_863_284,
    -11_863_283,
    46_340,
    -46_340,
    0x7fff_8000,
    -0x7fff_8000,
    0x0000_8000 | 0x0001_0000,
    1 << 16 | 1 << 15 | 1,
    -(1 << 20) - HALF,
];

fn realistic(rng: &mut Rng) -> i32 {
    rng.range(-(REAL as i64) + 1, REAL as i64 - 1) as i32
}

fn sat(v: i64) -> i32 {
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// The general mix: edges, full-range, realistic, near zero, negative, powers of two.
fn mixed(rng: &mut Rng) -> i32 {
    match rng.below(20) {
        0..=1 => rng.pick(&EDGES),
        2 => rng.pick(&MORE_EDGES),
        3..=7 => rng.i32(),
        8..=13 => realistic(rng),
        14..=15 => rng.range(-1024, 1024) as i32,
        16..=17 => -(rng.range(0, i32::MAX as i64) as i32),
        _ => {
            let v = (1i64 << rng.below(31)) + rng.range(-2, 2);
            sat(if rng.chance(50) { -v } else { v })
        }
    }
}

fn mixed_vec(rng: &mut Rng, n: usize) -> Vec<i32> {
    (0..n).map(|_| mixed(rng)).collect()
}

/// A value from one of four profiles, for batches that should each lean one way.
fn profiled(rng: &mut Rng, profile: usize) -> i32 {
    match profile % 4 {
        0 => realistic(rng),
        1 => mixed(rng),
        2 => rng.range(-1024, 1024) as i32,
        _ => rng.i32(),
    }
}

/// An odd value in `(-lim, lim)`.
fn odd(rng: &mut Rng, lim: i64) -> i32 {
    (rng.range(-lim / 2, lim / 2 - 1) * 2 + 1) as i32
}

/// A pair whose exact product has low 16 bits `0x8000`: `fx_mul` rounds a tie, to an
/// even or odd quotient at random.
fn tie_pair(rng: &mut Rng) -> (i32, i32) {
    let sign = if rng.chance(50) { 1 } else { -1 };
    let (a, b) = match rng.below(3) {
        0 => (sign, rng.range(-32_768, 32_767) as i32 * ONE + HALF),
        1 => (2 * sign, rng.range(-65_536, 65_535) as i32 * HALF + HALF / 2),
        _ => (HALF * odd(rng, 1 << 15), odd(rng, 1 << 30)),
    };
    if rng.chance(50) { (a, b) } else { (b, a) }
}

/// A pair whose Q16.16 product lands just inside or just outside the `i32` range.
fn mul_boundary(rng: &mut Rng) -> (i32, i32) {
    let a = rng.range(ONE as i64, i32::MAX as i64);
    let b = sat((1i64 << 47) / a + rng.range(-1, 1));
    match rng.below(4) {
        0 => (a as i32, b),
        1 => (-(a as i32), b),
        2 => (a as i32, -b),
        _ => (-(a as i32), -b),
    }
}

/// A pair whose sum (or difference) lands near `i32::MAX` or `i32::MIN`.
fn add_boundary(rng: &mut Rng, sub: bool) -> (i32, i32) {
    let a = rng.i32() as i64;
    let target = if rng.chance(50) { i32::MAX as i64 } else { i32::MIN as i64 };
    let b = if sub { a - target } else { target - a } + rng.range(-2, 2);
    (a as i32, sat(b))
}

// ---------------------------------------------------------------------------------
// Program building.

#[derive(Default)]
struct Builder {
    slots: Vec<Slot>,
    inputs: Inputs,
    ops: Vec<Op>,
}

impl Builder {
    fn slot(&mut self, shape: &[u32], kind: SlotKind) -> SlotId {
        let id = self.slots.len() as SlotId;
        self.slots.push(Slot { name: format!("s{id}"), shape: shape.to_vec(), kind });
        id
    }

    /// A constant input.
    fn konst(&mut self, shape: &[u32], values: Vec<i32>) -> SlotId {
        assert_eq!(numel(shape), values.len(), "shape {shape:?}");
        let data = self.inputs.insert(values);
        self.slot(shape, SlotKind::Const { data })
    }

    /// A variable with an initial value (for operators that write in place).
    fn var(&mut self, shape: &[u32], values: Vec<i32>) -> SlotId {
        assert_eq!(numel(shape), values.len(), "shape {shape:?}");
        let init = Some(self.inputs.insert(values));
        self.slot(shape, SlotKind::Var { init })
    }

    /// A zero-initialised output.
    fn out(&mut self, shape: &[u32]) -> SlotId {
        self.slot(shape, SlotKind::Var { init: None })
    }

    fn op(&mut self, op: Op) {
        self.ops.push(op);
    }

    fn finish(self, steps: Vec<u64>) -> Batch {
        let program = Program {
            version: PROGRAM_VERSION,
            slots: self.slots,
            ops: self.ops,
            steps: steps.iter().max().map_or(1, |&s| s + 1),
        };
        program.validate_structure().expect("generated programs are valid");
        let memory = Memory::initial(&program, &self.inputs).expect("every input is supplied");
        Batch { program: Arc::new(program), memory, steps }
    }
}

fn edge_pairs() -> (Vec<i32>, Vec<i32>) {
    EDGES.iter().flat_map(|&a| EDGES.iter().map(move |&b| (a, b))).unzip()
}

fn transposed(v: &[i32], rows: usize, cols: usize) -> Vec<i32> {
    (0..rows * cols).map(|i| v[(i % rows) * cols + i / rows]).collect()
}

// ---------------------------------------------------------------------------------
// Element-wise operators.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Binary {
    Add,
    Sub,
    Mul,
}

impl Binary {
    fn op(self, a: SlotId, b: SlotId, out: SlotId) -> Op {
        match self {
            Binary::Add => Op::Add { a, b, out },
            Binary::Sub => Op::Sub { a, b, out },
            Binary::Mul => Op::Mul { a, b, out },
        }
    }
}

/// `add`, `sub`, `mul`: all edge pairs; ties and saturation boundaries; a 3-d bulk;
/// one operator in place.
fn gen_binary(rng: &mut Rng, kind: Binary) -> Vec<Batch> {
    let mut b = Builder::default();
    let push = |b: &mut Builder, shape: &[u32], x: Vec<i32>, y: Vec<i32>| {
        let (sx, sy) = (b.konst(shape, x), b.konst(shape, y));
        let out = b.out(shape);
        b.op(kind.op(sx, sy, out));
    };
    let (x, y) = edge_pairs();
    push(&mut b, &[x.len() as u32], x, y);
    let (x, y): (Vec<i32>, Vec<i32>) = (0..600)
        .map(|i| match kind {
            Binary::Mul if i % 2 == 0 => tie_pair(rng),
            Binary::Mul => mul_boundary(rng),
            Binary::Add => add_boundary(rng, false),
            Binary::Sub => add_boundary(rng, true),
        })
        .unzip();
    push(&mut b, &[600], x, y);
    let (x, y) = (mixed_vec(rng, 10_000), mixed_vec(rng, 10_000));
    push(&mut b, &[10, 25, 40], x, y);
    let a = b.var(&[16, 16], mixed_vec(rng, 256));
    let y = b.konst(&[16, 16], mixed_vec(rng, 256));
    b.op(kind.op(a, y, a));
    vec![b.finish(vec![0])]
}

/// `relu`: every edge value, a bulk mix, one operator in place.
fn gen_relu(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let edges: Vec<i32> = EDGES.iter().chain(&MORE_EDGES).copied().collect();
    let a = b.konst(&[edges.len() as u32], edges);
    let out = b.out(&[EDGES.len() as u32 + MORE_EDGES.len() as u32]);
    b.op(Op::Relu { a, out });
    let a = b.konst(&[100, 100], mixed_vec(rng, 10_000));
    let out = b.out(&[100, 100]);
    b.op(Op::Relu { a, out });
    let a = b.var(&[256], mixed_vec(rng, 256));
    b.op(Op::Relu { a, out: a });
    vec![b.finish(vec![0])]
}

/// `relu_grad`: all edge pairs, a bulk mix with many `pre` at 0 and ±1, one in place.
fn gen_relu_grad(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let (x, y) = edge_pairs();
    let n = x.len() as u32;
    let (pre, grad, out) = (b.konst(&[n], x), b.konst(&[n], y), b.out(&[n]));
    b.op(Op::ReluGrad { pre, grad, out });
    let x: Vec<i32> = (0..10_000).map(|_| if rng.chance(25) { rng.pick(&[0, 1, -1]) } else { mixed(rng) }).collect();
    let (pre, grad, out) = (b.konst(&[10_000], x), b.konst(&[10_000], mixed_vec(rng, 10_000)), b.out(&[10_000]));
    b.op(Op::ReluGrad { pre, grad, out });
    let pre = b.konst(&[256], mixed_vec(rng, 256));
    let grad = b.var(&[256], mixed_vec(rng, 256));
    b.op(Op::ReluGrad { pre, grad, out: grad });
    vec![b.finish(vec![0])]
}

/// `scale`: every edge factor times every edge value, ties, saturation boundaries,
/// then 40 factors of 250 values each; one operator in place.
fn gen_scale(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let push = |b: &mut Builder, factor: i32, x: Vec<i32>| {
        let n = x.len() as u32;
        let a = b.konst(&[n], x);
        let out = b.out(&[n]);
        b.op(Op::Scale { a, factor, out });
    };
    for f in EDGES {
        push(&mut b, f, EDGES.to_vec());
    }
    for f in [1, -1] {
        let x = (0..200).map(|_| rng.range(-32_768, 32_767) as i32 * ONE + HALF).collect();
        push(&mut b, f, x);
    }
    for f in [HALF, 3 * HALF, -HALF] {
        let x = (0..200).map(|_| odd(rng, 1 << 31)).collect();
        push(&mut b, f, x);
    }
    for _ in 0..4 {
        let f = rng.range(ONE as i64, i32::MAX as i64) as i32;
        let x = (0..100)
            .map(|_| {
                let v = sat((1i64 << 47) / f as i64 + rng.range(-1, 1));
                if rng.chance(50) { v } else { -v }
            })
            .collect();
        push(&mut b, f, x);
    }
    let common = [ONE / 10, ONE / 100, ONE / 32, 3 * ONE, -ONE / 3, 7, -7, i32::MAX / 3];
    for i in 0..40 {
        let f = if i < common.len() { common[i] } else { mixed(rng) };
        push(&mut b, f, mixed_vec(rng, 250));
    }
    let a = b.var(&[256], mixed_vec(rng, 256));
    b.op(Op::Scale { a, factor: HALF, out: a });
    vec![b.finish(vec![0])]
}

/// `sgd`: the edge pairs spread over eight edge learning rates, ties, saturation
/// boundaries, then 40 learning rates of 250 in-place updates each.
fn gen_sgd(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let push = |b: &mut Builder, lr: i32, p: Vec<i32>, g: Vec<i32>, in_place: bool| {
        let n = p.len() as u32;
        let grad = b.konst(&[n], g);
        if in_place {
            let param = b.var(&[n], p);
            b.op(Op::Sgd { param, grad, lr, out: param });
        } else {
            let param = b.konst(&[n], p);
            let out = b.out(&[n]);
            b.op(Op::Sgd { param, grad, lr, out });
        }
    };
    let (x, y) = edge_pairs();
    let lrs = [ONE, ONE / 10, i32::MAX, i32::MIN, -ONE, 0, 1, HALF];
    let per = x.len() / lrs.len();
    for (i, &lr) in lrs.iter().enumerate() {
        push(&mut b, lr, x[i * per..(i + 1) * per].to_vec(), y[i * per..(i + 1) * per].to_vec(), false);
    }
    let g = (0..200).map(|_| rng.range(-32_768, 32_767) as i32 * ONE + HALF).collect();
    push(&mut b, 1, mixed_vec(rng, 200), g, false);
    for lr in [HALF, -HALF] {
        let g = (0..200).map(|_| odd(rng, 1 << 31)).collect();
        push(&mut b, lr, mixed_vec(rng, 200), g, false);
    }
    let (p, g): (Vec<i32>, Vec<i32>) = (0..200)
        .map(|_| {
            let p = rng.i32() as i64;
            let target = if rng.chance(50) { i32::MAX as i64 } else { i32::MIN as i64 };
            (p as i32, sat(p - target + rng.range(-2, 2)))
        })
        .unzip();
    push(&mut b, ONE, p, g, false);
    let common = [ONE / 10, ONE / 100, ONE / 1000, ONE / 2, 1, 2 * ONE];
    for i in 0..40 {
        let lr = if i < common.len() { common[i] } else { mixed(rng) };
        push(&mut b, lr, mixed_vec(rng, 250), mixed_vec(rng, 250), true);
    }
    vec![b.finish(vec![0])]
}

// ---------------------------------------------------------------------------------
// Structured operators.

/// `add_bias`: every edge row against an edge bias, sums at the saturation
/// boundaries, two rows per width, then bulk rows; one operator in place.
fn gen_add_bias(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let push = |b: &mut Builder, r: u32, n: u32, x: Vec<i32>, bias: Vec<i32>| {
        let a = b.konst(&[r, n], x);
        let bias = b.konst(&[n], bias);
        let out = b.out(&[r, n]);
        b.op(Op::AddBias { a, bias, out });
    };
    let e = EDGES.len() as u32;
    let x = EDGES.iter().flat_map(|&v| std::iter::repeat_n(v, EDGES.len())).collect();
    push(&mut b, e, e, x, EDGES.to_vec());
    let bias = mixed_vec(rng, 8);
    let x = (0..32 * 8)
        .map(|i| {
            let target = if rng.chance(50) { i32::MAX as i64 } else { i32::MIN as i64 };
            sat(target - bias[i % 8] as i64 + rng.range(-2, 2))
        })
        .collect();
    push(&mut b, 32, 8, x, bias);
    let widths = [1u32, 2, 3, 4, 5, 7, 8, 16, 31, 64, 128, 130];
    for &n in &widths {
        let (x, bias) = (mixed_vec(rng, 20 * n as usize), mixed_vec(rng, n as usize));
        push(&mut b, 20, n, x, bias);
    }
    let rows = [2000u32, 2000, 1500, 1000, 1000, 800, 800, 400, 200, 150, 100, 50];
    for (i, (&n, &r)) in widths.iter().zip(&rows).enumerate() {
        let x = (0..(r * n) as usize).map(|_| profiled(rng, i)).collect();
        push(&mut b, r, n, x, mixed_vec(rng, n as usize));
    }
    let a = b.var(&[64, 8], mixed_vec(rng, 512));
    let bias = b.konst(&[8], mixed_vec(rng, 8));
    b.op(Op::AddBias { a, bias, out: a });
    vec![b.finish(vec![0])]
}

/// `sum_rows`: single-row edges, 128-row extremes, rank 1 and 3, all edge pairs, all
/// `{MAX, MIN, 1, -1}` columns of 4 (intermediate overflow), then bulk columns.
fn gen_sum_rows(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    // `cols[j]` is column j; `shape` is the slot shape (leading axis = column length).
    let push = |b: &mut Builder, shape: &[u32], cols: &[Vec<i32>]| {
        let r = shape[0] as usize;
        let w = cols.len();
        let x = (0..r * w).map(|i| cols[i % w][i / w]).collect();
        let a = b.konst(shape, x);
        let out = b.out(if shape.len() == 1 { &[1] } else { &shape[1..] });
        b.op(Op::SumRows { a, out });
    };
    let cols: Vec<Vec<i32>> = EDGES.iter().map(|&v| vec![v]).collect();
    push(&mut b, &[1, cols.len() as u32], &cols);
    let m = MAX_REDUCE as usize;
    let mut cols = vec![
        vec![i32::MAX; m],
        vec![i32::MIN; m],
        (0..m).map(|i| if i % 2 == 0 { i32::MAX } else { i32::MIN }).collect(),
        (0..m).map(|i| if i + 1 == m { i32::MIN } else { i32::MAX }).collect(),
        (0..m).map(|i| if i < m / 2 { i32::MAX } else { i32::MIN }).collect(),
        vec![ONE; m],
        vec![-1; m],
        (0..m).map(|i| EDGES[i % EDGES.len()]).collect(),
    ];
    cols.extend((0..8).map(|i| (0..m).map(|_| profiled(rng, i)).collect()));
    push(&mut b, &[MAX_REDUCE, cols.len() as u32], &cols);
    push(&mut b, &[5], &[mixed_vec(rng, 5)]);
    push(&mut b, &[MAX_REDUCE], &[mixed_vec(rng, m)]);
    let cols: Vec<Vec<i32>> = (0..20).map(|_| mixed_vec(rng, 3)).collect();
    push(&mut b, &[3, 4, 5], &cols);
    let (x, y) = edge_pairs();
    let cols: Vec<Vec<i32>> = x.iter().zip(&y).map(|(&p, &q)| vec![p, q]).collect();
    push(&mut b, &[2, cols.len() as u32], &cols);
    let four = [i32::MAX, i32::MIN, 1, -1];
    let cols: Vec<Vec<i32>> = (0..256).map(|i| (0..4).map(|k| four[(i >> (2 * k)) & 3]).collect()).collect();
    push(&mut b, &[4, 256], &cols);
    let cols: Vec<Vec<i32>> = (0..100)
        .map(|_| {
            let (p, q) = (rng.i32(), rng.i32());
            let target = if rng.chance(50) { i32::MAX as i64 } else { i32::MIN as i64 };
            vec![p, q, sat(target - p as i64 - q as i64 + rng.range(-2, 2))]
        })
        .collect();
    push(&mut b, &[3, 100], &cols);
    for (i, r) in [1u32, 2, 3, 5, 8, 16, 17, 32, 64, 100, 127, 128].into_iter().enumerate() {
        let cols: Vec<Vec<i32>> = (0..800)
            .map(|j| match (i + j) % 5 {
                0 => (0..r).map(|_| rng.range(1 << 30, i32::MAX as i64) as i32).collect(),
                1 => (0..r).map(|_| -(rng.range(1 << 30, i32::MAX as i64) as i32)).collect(),
                p => (0..r).map(|_| profiled(rng, p)).collect(),
            })
            .collect();
        push(&mut b, &[r, 800], &cols);
    }
    vec![b.finish(vec![0])]
}

/// `transpose`: small and thin shapes first, then large ones with partial edge tiles;
/// one square operator in place.
fn gen_transpose(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let shapes: [(u32, u32); 17] = [
        (1, 1),
        (1, 5),
        (5, 1),
        (4, 4),
        (3, 7),
        (7, 3),
        (8, 8),
        (5, 9),
        (1, 128),
        (128, 1),
        (2, 300),
        (200, 200),
        (255, 129),
        (130, 333),
        (17, 1023),
        (1023, 17),
        (101, 99),
    ];
    for (r, c) in shapes {
        let a = b.konst(&[r, c], mixed_vec(rng, (r * c) as usize));
        let out = b.out(&[c, r]);
        b.op(Op::Transpose { a, out });
    }
    let a = b.var(&[64, 64], mixed_vec(rng, 64 * 64));
    b.op(Op::Transpose { a, out: a });
    vec![b.finish(vec![0])]
}

/// Steps `gather` runs at: small, beyond every index table's `T`, and past `2^31`.
const GATHER_STEPS: [u64; 9] = [0, 1, 2, 7, 1_000_003, (1 << 31) - 1, 1 << 31, 4_000_000_000, u32::MAX as u64 - 1];

/// `gather`: edge indices (negative, out of range, `i32::MIN`/`MAX`), a one-row
/// table, then mixed indices into larger tables; every operator at every step of
/// [`GATHER_STEPS`].
fn gen_gather(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let push = |b: &mut Builder, rng: &mut Rng, (r, c): (u32, u32), (t, bb): (u32, u32), index: Vec<i32>| {
        let values = (0..r * c).map(|_| rng.i32()).collect();
        let table = if rng.chance(50) { b.konst(&[r, c], values) } else { b.var(&[r, c], values) };
        let index = b.konst(&[t, bb], index);
        let out = b.out(&[bb, c]);
        b.op(Op::Gather { table, index, out });
    };
    let edges = [0, 1, -1, 4, 5, -5, 6, -6, 9, 10, i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1, 1 << 30, -(1 << 30)];
    let index = (0..3).flat_map(|t| (0..edges.len()).map(move |j| edges[(j + t) % edges.len()])).collect();
    push(&mut b, rng, (5, 2), (3, 16), index);
    let index = mixed_vec(rng, 32);
    push(&mut b, rng, (1, 3), (2, 16), index);
    for ((r, c), (t, bb)) in [((64, 4), (16, 8)), ((37, 5), (13, 160)), ((1000, 1), (5, 300))] {
        let index = (0..t * bb)
            .map(|_| match rng.below(10) {
                0..=3 => rng.range(0, r as i64 - 1) as i32,
                4..=5 => -(rng.range(1, r as i64) as i32),
                6..=7 => rng.i32(),
                8 => rng.pick(&edges),
                _ => (r as i64 * rng.range(-1000, 1000) + rng.range(0, r as i64 - 1)) as i32,
            })
            .collect();
        push(&mut b, rng, (r, c), (t, bb), index);
    }
    vec![b.finish(GATHER_STEPS.to_vec())]
}

/// Shape and flags of one `mat_mul` operator.
#[derive(Clone, Copy)]
struct Mm {
    m: u32,
    k: u32,
    n: u32,
    kc: u32,
    ta: bool,
    tb: bool,
}

/// `(K, k_chunk)` of the `mat_mul` configurations: one chunk, several, a partial last
/// chunk, `k_chunk` = 1 and `k_chunk` > K.
const MM_CONFIGS: [(u32, u32); 16] = [
    (1, 1),
    (2, 1),
    (3, 2),
    (5, 5),
    (7, 3),
    (16, 16),
    (16, 5),
    (31, 8),
    (64, 64),
    (100, 32),
    (127, 128),
    (128, 128),
    (128, 1),
    (128, 33),
    (128, 127),
    (9, 128),
];

/// Adds `A [M, K] x B [K, N]` from logical row-major operands (stored transposed as
/// the flags say).
fn push_mm(b: &mut Builder, s: Mm, a: Vec<i32>, bm: Vec<i32>) {
    let (m, k, n) = (s.m as usize, s.k as usize, s.n as usize);
    let (a, sa) = if s.ta { (transposed(&a, m, k), [s.k, s.m]) } else { (a, [s.m, s.k]) };
    let (bm, sb) = if s.tb { (transposed(&bm, k, n), [s.n, s.k]) } else { (bm, [s.k, s.n]) };
    let a = b.konst(&sa, a);
    let bs = b.konst(&sb, bm);
    let chunks = s.k.div_ceil(s.kc);
    let shape = if chunks == 1 { vec![s.m, s.n] } else { vec![chunks, s.m, s.n] };
    let out = b.out(&shape);
    b.op(Op::MatMul { a, b: bs, out, trans_a: s.ta, trans_b: s.tb, k_chunk: s.kc });
}

/// `mat_mul`: products of edge values, rounding ties in every chunk, sums that wrap
/// `i64`, two positions of every configuration and flag pair, then bulk; two
/// operators in place.
fn gen_matmul(rng: &mut Rng) -> Vec<Batch> {
    let mut b = Builder::default();
    let mm = |m, k, n, kc, ta, tb| Mm { m, k, n, kc, ta, tb };
    let edges: Vec<i32> = [0, 1, -1, i32::MAX, i32::MIN, i32::MAX - 1, i32::MIN + 1, ONE, -ONE, HALF, -HALF]
        .into_iter()
        .chain([HALF + 1, 3 * HALF, 46_341, 11_863_283, -11_863_284])
        .collect();
    push_mm(&mut b, mm(16, 1, 16, 1, false, false), edges.clone(), edges);
    // Every product is an odd multiple of 2^15; an odd count per chunk makes a tie.
    let tie_a = |rng: &mut Rng, n: usize| (0..n).map(|_| HALF * odd(rng, 1 << 10)).collect::<Vec<_>>();
    let tie_b = |rng: &mut Rng, n: usize| (0..n).map(|_| odd(rng, 1 << 12)).collect::<Vec<_>>();
    let (a, bm) = (tie_a(rng, 24), tie_b(rng, 24));
    push_mm(&mut b, mm(8, 3, 8, 3, false, true), a, bm);
    let (a, bm) = (tie_a(rng, 56), tie_b(rng, 56));
    push_mm(&mut b, mm(8, 7, 8, 3, true, false), a, bm);
    let big = [i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1, i32::MIN, -1];
    let (a, bm) = ((0..32).map(|_| rng.pick(&big)).collect(), (0..32).map(|_| rng.pick(&big)).collect());
    push_mm(&mut b, mm(8, 4, 8, 4, false, false), a, bm);
    let m = MAX_REDUCE as usize;
    let a: Vec<i32> = (0..2 * m).map(|i| if i < m { i32::MIN } else { i32::MAX }).collect();
    let bm: Vec<i32> = (0..2 * m)
        .map(|i| {
            if i % 2 == 0 {
                i32::MIN
            } else if i % 4 == 1 {
                i32::MAX
            } else {
                -1
            }
        })
        .collect();
    push_mm(&mut b, mm(2, MAX_REDUCE, 2, MAX_REDUCE, false, false), a.clone(), bm.clone());
    push_mm(&mut b, mm(2, MAX_REDUCE, 2, 64, true, true), a, bm);
    let flags = [(false, false), (false, true), (true, false), (true, true)];
    for (i, &(k, kc)) in MM_CONFIGS.iter().enumerate() {
        for (j, &(ta, tb)) in flags.iter().enumerate() {
            let n = 2 * k as usize;
            let (a, bm) =
                ((0..n).map(|_| profiled(rng, i + j)).collect(), (0..n).map(|_| profiled(rng, i + j)).collect());
            push_mm(&mut b, mm(2, k, 2, kc, ta, tb), a, bm);
        }
    }
    for (i, &(k, kc)) in MM_CONFIGS.iter().enumerate() {
        for (j, &(ta, tb)) in flags.iter().enumerate() {
            let (m, n) = (12, 14);
            let a = (0..m * k as usize).map(|_| profiled(rng, i + j + 1)).collect();
            let bm = (0..k as usize * n).map(|_| profiled(rng, i + j + 1)).collect();
            push_mm(&mut b, mm(m as u32, k, n as u32, kc, ta, tb), a, bm);
        }
    }
    // In place: `out` is `a` ([8, 16] = [M, N] with N = K, one chunk), then `b`.
    let a = b.var(&[8, 16], mixed_vec(rng, 128));
    let bm = b.konst(&[16, 16], (0..256).map(|_| realistic(rng)).collect());
    b.op(Op::MatMul { a, b: bm, out: a, trans_a: false, trans_b: false, k_chunk: 16 });
    let a = b.konst(&[8, 8], (0..64).map(|_| realistic(rng)).collect());
    let bm = b.var(&[8, 8], mixed_vec(rng, 64));
    b.op(Op::MatMul { a, b: bm, out: bm, trans_a: true, trans_b: false, k_chunk: 100 });
    vec![b.finish(vec![0])]
}

// ---------------------------------------------------------------------------------
// Row-wise operators.

#[derive(Clone, Copy, PartialEq, Eq)]
enum RowOp {
    Softmax,
    XentGrad,
    Xent,
    Argmax,
}

const ROW_KINDS: u64 = 12;
const LABEL_KINDS: u64 = 9;
/// Row lengths of the edge section.
const EDGE_LENGTHS: [u32; 12] = [1, 2, 3, 4, 5, 8, 16, 31, 64, 100, 127, 128];
/// `scale` factors of `softmax_xent_grad`, cycled over its operators.
const XENT_SCALES: [i32; 12] = [ONE / 32, ONE, 1, 0, -ONE, i32::MAX, i32::MIN, ONE / 3, HALF, ONE / 100, -1, 3];

/// One row of logits of the given kind.
fn gen_row(rng: &mut Rng, n: usize, kind: u64) -> Vec<i32> {
    match kind {
        0 => (0..n).map(|_| realistic(rng)).collect(),
        1 => (0..n).map(|_| rng.range(-64 * ONE as i64, 64 * ONE as i64) as i32).collect(),
        2 => (0..n).map(|_| rng.i32()).collect(),
        3 => vec![rng.pick(&EDGES); n],
        4 => {
            let mut x = vec![i32::MIN; n];
            x[rng.index(n)] = i32::MAX;
            x
        }
        5 => {
            // Differences at the exp cut-off, a few ulps either side.
            let m = realistic(rng);
            let mut x: Vec<i32> = (0..n).map(|_| m + EXP_CUTOFF + rng.range(-3, 3) as i32).collect();
            x[rng.index(n)] = m;
            x
        }
        6 => {
            let base = mixed(rng) / 2;
            (0..n).map(|_| base + rng.range(-8, 8) as i32).collect()
        }
        7 => {
            // Several equal maxima.
            let mut x: Vec<i32> = (0..n).map(|_| realistic(rng)).collect();
            let m = *x.iter().max().expect("n >= 1");
            for _ in 0..3 {
                x[rng.index(n)] = m;
            }
            x
        }
        8 => (0..n).map(|_| rng.pick(&[i32::MIN, i32::MAX, 0, ONE, -ONE, i32::MIN + 1, i32::MAX - 1])).collect(),
        9 => mixed_vec(rng, n),
        10 => {
            let step = rng.range(-(ONE as i64), ONE as i64);
            let start = realistic(rng) as i64;
            (0..n).map(|j| (start + step * j as i64) as i32).collect()
        }
        _ => {
            let mut x = vec![0; n];
            x[rng.index(n)] = rng.range(ONE as i64, 30 * ONE as i64) as i32;
            x
        }
    }
}

/// Labels for a row of logits: one-hot, soft, zero, extreme, smoothed.
fn gen_labels(rng: &mut Rng, x: &[i32], kind: u64) -> Vec<i32> {
    let n = x.len();
    let mut y = vec![0; n];
    match kind {
        0 => y[rng.index(n)] = ONE,
        1 => {
            let best = (0..n).fold(0, |b, i| if x[i] > x[b] { i } else { b });
            y[best] = ONE;
        }
        2 => {
            // A distribution summing to exactly 1.0.
            let w: Vec<u64> = (0..n).map(|_| rng.below(1000) + 1).collect();
            let total: u64 = w.iter().sum();
            for (v, &wi) in y.iter_mut().zip(&w) {
                *v = (wi * ONE as u64 / total) as i32;
            }
            let rest = ONE - y.iter().sum::<i32>();
            y[rng.index(n)] += rest;
        }
        3 => {}
        4 => y = mixed_vec(rng, n),
        5 => y.iter_mut().for_each(|v| *v = rng.range(-(ONE as i64), ONE as i64) as i32),
        6 => y.fill(ONE),
        7 => y.iter_mut().for_each(|v| *v = rng.pick(&[i32::MIN, i32::MAX])),
        _ => {
            let eps = ONE / 10;
            y.fill(eps / n as i32);
            y[rng.index(n)] += ONE - eps;
        }
    }
    y
}

/// Adds one row-wise operator over `rows` (logits, labels) of length `n`.
fn push_rows(b: &mut Builder, kind: RowOp, n: u32, rows: &[(Vec<i32>, Vec<i32>)], scale: i32, in_place: bool) {
    let r = rows.len() as u32;
    let x: Vec<i32> = rows.iter().flat_map(|(x, _)| x.iter().copied()).collect();
    let y: Vec<i32> = rows.iter().flat_map(|(_, y)| y.iter().copied()).collect();
    let logits = if in_place { b.var(&[r, n], x) } else { b.konst(&[r, n], x) };
    let out = |b: &mut Builder, shape: &[u32]| if in_place { logits } else { b.out(shape) };
    match kind {
        RowOp::Softmax => {
            let out = out(b, &[r, n]);
            b.op(Op::Softmax { a: logits, out });
        }
        RowOp::XentGrad => {
            let labels = b.konst(&[r, n], y);
            let out = out(b, &[r, n]);
            b.op(Op::SoftmaxXentGrad { logits, labels, scale, out });
        }
        RowOp::Xent => {
            let labels = b.konst(&[r, n], y);
            let out = b.out(&[r]);
            b.op(Op::XentLoss { logits, labels, out });
        }
        RowOp::Argmax => {
            let out = b.out(&[r]);
            b.op(Op::Argmax { a: logits, out });
        }
    }
}

/// `softmax`, `softmax_xent_grad`, `xent_loss`, `argmax`: every row kind at the edge
/// lengths, every label kind, two rows of every length `1..=MAX_REDUCE`, then bulk
/// rows (many short, a few of every longer length); in place where shapes allow.
fn gen_rows(rng: &mut Rng, kind: RowOp) -> Vec<Batch> {
    let mut b = Builder::default();
    let mut ops = 0usize;
    let mut push = |b: &mut Builder, n: u32, rows: &[(Vec<i32>, Vec<i32>)], in_place: bool| {
        push_rows(b, kind, n, rows, XENT_SCALES[ops % XENT_SCALES.len()], in_place);
        ops += 1;
    };
    for (li, &n) in EDGE_LENGTHS.iter().enumerate() {
        let rows: Vec<_> = (0..ROW_KINDS)
            .map(|k| {
                let x = gen_row(rng, n as usize, k);
                let y = gen_labels(rng, &x, (k + li as u64) % LABEL_KINDS);
                (x, y)
            })
            .collect();
        push(&mut b, n, &rows, false);
    }
    let rows: Vec<_> = (0..LABEL_KINDS)
        .map(|k| {
            let x = gen_row(rng, 10, 0);
            let y = gen_labels(rng, &x, k);
            (x, y)
        })
        .collect();
    push(&mut b, 10, &rows, false);
    let random_rows = |rng: &mut Rng, n: u32, count: usize| -> Vec<(Vec<i32>, Vec<i32>)> {
        (0..count)
            .map(|_| {
                let row_kind = rng.below(ROW_KINDS);
                let x = gen_row(rng, n as usize, row_kind);
                let label_kind = rng.below(LABEL_KINDS);
                let y = gen_labels(rng, &x, label_kind);
                (x, y)
            })
            .collect()
    };
    for n in 1..=MAX_REDUCE {
        let rows = random_rows(rng, n, 2);
        push(&mut b, n, &rows, false);
    }
    for n in 1..=MAX_REDUCE {
        let rows = random_rows(rng, n, if n <= 16 { 600 } else { 8 });
        push(&mut b, n, &rows, false);
    }
    if matches!(kind, RowOp::Softmax | RowOp::XentGrad) {
        for (n, r) in [(10, 16), (MAX_REDUCE, 4)] {
            let rows = random_rows(rng, n, r);
            push(&mut b, n, &rows, true);
        }
    }
    vec![b.finish(vec![0])]
}
