//! The program format: tensor slots, operators and the step body.
//!
//! A program is a fixed set of slots (tensors of `i32`) and a list of operators,
//! the *step body*, that runs once per step. Each operator reads slots and writes
//! exactly one. Constant slots hold content-addressed inputs; variable slots start
//! from zeros or from a content-addressed tensor. See `docs/numerics.md` for what
//! each operator computes and `docs/program.md` for the serialized form.

use serde::{Deserialize, Serialize};

use crate::{
    error::{ProgramError, Result},
    hash::Hash32,
};

/// Version of the program format this crate reads and writes.
pub const PROGRAM_VERSION: u32 = 1;

/// Longest reduction any one output element may need: matmul chunks, row sums and
/// softmax rows. Bounds the cost of recomputing one element on-chain.
pub const MAX_REDUCE: u32 = 128;

/// Largest number of elements in one slot (`2^26`, 256 MiB).
pub const MAX_SLOT_ELEMENTS: u64 = 1 << 26;

/// Elements per commitment chunk: the leaves of a tensor's Merkle tree are 512-element
/// chunks (the prover's `CHUNK_ELEMENTS`, `GavelMerkle.CHUNK_ELEMENTS`), and the on-chain
/// replay opens whole chunks.
pub const CHUNK_ELEMENTS: u64 = 512;

/// Most commitment chunks the on-chain replay of one output element may open, over all
/// the operator's inputs (`OneStepReplay.MAX_REPLAY_CHUNKS`): every chunk is 2 KiB of
/// calldata, and 16 keep the worst replay (a strided `mat_mul` or `sum_rows` in the
/// deepest trees) under 1.5M gas. The validator refuses a program with an operator
/// whose [`Program::replay_chunks`] is larger (docs/program.md, "The replay bound").
pub const MAX_REPLAY_CHUNKS: u64 = 16;

/// Index of a slot in [`Program::slots`].
pub type SlotId = u32;

/// A whole program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Format version, [`PROGRAM_VERSION`].
    pub version: u32,
    /// Every tensor the program touches, in commitment order.
    pub slots: Vec<Slot>,
    /// The step body: run in order, once per step.
    pub ops: Vec<Op>,
    /// Number of steps.
    pub steps: u64,
}

/// A tensor slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Human-readable name, unique in the program.
    pub name: String,
    /// Dimensions, outermost first (row-major). `[]` is not allowed; use `[1]`.
    pub shape: Vec<u32>,
    /// Whether operators may write it, and where its first value comes from.
    pub kind: SlotKind,
}

/// Where a slot's initial value comes from and whether it may be written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SlotKind {
    /// Read-only input, identified by the keccak256 of its little-endian bytes.
    Const {
        /// Content hash of the tensor.
        data: Hash32,
    },
    /// Written by operators; starts from the given tensor, or zeros.
    Var {
        /// Content hash of the initial tensor, or `None` for zeros.
        init: Option<Hash32>,
    },
}

impl Slot {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().map(|&d| d as usize).product()
    }

    /// True when the slot holds no element (never valid in a program).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One operator. Semantics are in `docs/numerics.md`; all values are Q16.16 `i32`
/// unless said otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// `out[b, c] = table[index[step mod T, b] mod R, c]`; `index` holds plain integers.
    Gather {
        /// `[R, C]`
        table: SlotId,
        /// `[T, B]`
        index: SlotId,
        /// `[B, C]`
        out: SlotId,
    },
    /// Chunked matrix product of `A = a` (or `a^T`) `[M, K]` and `B = b` (or `b^T`)
    /// `[K, N]`: `out[s, m, n]` is the rounded sum of products over the `s`-th chunk
    /// of `k_chunk` indices. `out` is `[S, M, N]`, or `[M, N]` when `S = 1`.
    MatMul {
        /// Left operand.
        a: SlotId,
        /// Right operand.
        b: SlotId,
        /// Output.
        out: SlotId,
        /// Read `a` transposed.
        trans_a: bool,
        /// Read `b` transposed.
        trans_b: bool,
        /// Reduction chunk length, `1..=MAX_REDUCE`.
        k_chunk: u32,
    },
    /// `out[j] = sat(sum_r a[r, j])` over the leading axis; `[R]` sums to `[1]`.
    SumRows {
        /// `[R, ...]`
        a: SlotId,
        /// `[...]`
        out: SlotId,
    },
    /// Element-wise saturating `a + b`.
    Add {
        /// Left operand.
        a: SlotId,
        /// Right operand, same shape.
        b: SlotId,
        /// Output, same shape.
        out: SlotId,
    },
    /// Element-wise saturating `a - b`.
    Sub {
        /// Left operand.
        a: SlotId,
        /// Right operand, same shape.
        b: SlotId,
        /// Output, same shape.
        out: SlotId,
    },
    /// Element-wise Q16.16 product.
    Mul {
        /// Left operand.
        a: SlotId,
        /// Right operand, same shape.
        b: SlotId,
        /// Output, same shape.
        out: SlotId,
    },
    /// `out[r, n] = sat(a[r, n] + bias[n])`.
    AddBias {
        /// `[R, N]`
        a: SlotId,
        /// `[N]`
        bias: SlotId,
        /// `[R, N]`
        out: SlotId,
    },
    /// `out = a * factor` (Q16.16 product with a constant).
    Scale {
        /// Input.
        a: SlotId,
        /// Q16.16 constant.
        factor: i32,
        /// Output, same shape.
        out: SlotId,
    },
    /// `out = max(a, 0)`.
    Relu {
        /// Input.
        a: SlotId,
        /// Output, same shape.
        out: SlotId,
    },
    /// `out = grad` where `pre > 0`, else 0.
    ReluGrad {
        /// Pre-activation.
        pre: SlotId,
        /// Upstream gradient, same shape.
        grad: SlotId,
        /// Output, same shape.
        out: SlotId,
    },
    /// `out[c, r] = a[r, c]`.
    Transpose {
        /// `[R, C]`
        a: SlotId,
        /// `[C, R]`
        out: SlotId,
    },
    /// Row-wise softmax.
    Softmax {
        /// `[R, N]`
        a: SlotId,
        /// `[R, N]`
        out: SlotId,
    },
    /// Gradient of mean softmax cross-entropy w.r.t. logits:
    /// `out = (softmax(logits) - labels) * scale`.
    SoftmaxXentGrad {
        /// `[R, N]`
        logits: SlotId,
        /// `[R, N]`, Q16.16 (one-hot or soft)
        labels: SlotId,
        /// Q16.16 constant, usually `1 / R`.
        scale: i32,
        /// `[R, N]`
        out: SlotId,
    },
    /// Per-row softmax cross-entropy.
    XentLoss {
        /// `[R, N]`
        logits: SlotId,
        /// `[R, N]`
        labels: SlotId,
        /// `[R]`
        out: SlotId,
    },
    /// Plain SGD: `out = sat(param - lr * grad)`; `out` is normally `param` itself.
    Sgd {
        /// Parameters.
        param: SlotId,
        /// Gradient, same shape.
        grad: SlotId,
        /// Q16.16 learning rate.
        lr: i32,
        /// Output, same shape.
        out: SlotId,
    },
    /// Index of the first largest element of each row (plain integer).
    Argmax {
        /// `[R, N]`
        a: SlotId,
        /// `[R]`
        out: SlotId,
    },
}

impl Op {
    /// The slot this operator writes.
    pub fn output(&self) -> SlotId {
        match *self {
            Op::Gather { out, .. }
            | Op::MatMul { out, .. }
            | Op::SumRows { out, .. }
            | Op::Add { out, .. }
            | Op::Sub { out, .. }
            | Op::Mul { out, .. }
            | Op::AddBias { out, .. }
            | Op::Scale { out, .. }
            | Op::Relu { out, .. }
            | Op::ReluGrad { out, .. }
            | Op::Transpose { out, .. }
            | Op::Softmax { out, .. }
            | Op::SoftmaxXentGrad { out, .. }
            | Op::XentLoss { out, .. }
            | Op::Sgd { out, .. }
            | Op::Argmax { out, .. } => out,
        }
    }

    /// The slots this operator reads, in operand order.
    pub fn inputs(&self) -> Vec<SlotId> {
        match *self {
            Op::Gather { table, index, .. } => vec![table, index],
            Op::MatMul { a, b, .. } | Op::Add { a, b, .. } | Op::Sub { a, b, .. } | Op::Mul { a, b, .. } => vec![a, b],
            Op::AddBias { a, bias, .. } => vec![a, bias],
            Op::SumRows { a, .. }
            | Op::Scale { a, .. }
            | Op::Relu { a, .. }
            | Op::Transpose { a, .. }
            | Op::Softmax { a, .. }
            | Op::Argmax { a, .. } => vec![a],
            Op::ReluGrad { pre, grad, .. } => vec![pre, grad],
            Op::SoftmaxXentGrad { logits, labels, .. } | Op::XentLoss { logits, labels, .. } => {
                vec![logits, labels]
            }
            Op::Sgd { param, grad, .. } => vec![param, grad],
        }
    }

    /// Whether it is a **clear**: a `scale` by 0, whose output is zeros whatever its
    /// input (`fx_mul(v, 0) = 0`), so backends may write zeros without reading anything.
    pub fn is_clear(&self) -> bool {
        matches!(self, Op::Scale { factor: 0, .. })
    }

    /// Short lower-case name, as in the serialized `op` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Gather { .. } => "gather",
            Op::MatMul { .. } => "mat_mul",
            Op::SumRows { .. } => "sum_rows",
            Op::Add { .. } => "add",
            Op::Sub { .. } => "sub",
            Op::Mul { .. } => "mul",
            Op::AddBias { .. } => "add_bias",
            Op::Scale { .. } => "scale",
            Op::Relu { .. } => "relu",
            Op::ReluGrad { .. } => "relu_grad",
            Op::Transpose { .. } => "transpose",
            Op::Softmax { .. } => "softmax",
            Op::SoftmaxXentGrad { .. } => "softmax_xent_grad",
            Op::XentLoss { .. } => "xent_loss",
            Op::Sgd { .. } => "sgd",
            Op::Argmax { .. } => "argmax",
        }
    }
}

/// Distinct chunks holding the positions `start + i * stride`, `i < len`. A stride of a
/// chunk or more puts every position in its own chunk; a shorter one leaves no chunk
/// out between the first position's and the last's.
fn progression_chunks(start: u64, stride: u64, len: u64) -> u64 {
    if len == 0 {
        0
    } else if stride >= CHUNK_ELEMENTS {
        len
    } else {
        (start % CHUNK_ELEMENTS + (len - 1) * stride) / CHUNK_ELEMENTS + 1
    }
}

/// The most chunks of the progressions `base + x * step + i * stride` (`i < len`) over
/// `x < count`. Only `x * step mod 512` matters, and it repeats after 512 values of `x`,
/// so the first 512 cover every case.
fn worst_progression(count: u64, step: u64, base: u64, stride: u64, len: u64) -> u64 {
    (0..count.min(CHUNK_ELEMENTS)).map(|x| progression_chunks(base + x * step, stride, len)).max().unwrap_or(0)
}

/// [`Program::replay_chunks`] of a `mat_mul` from its operand shapes (valid ones), split
/// as the chunks of `a` and of `b` at the worst output element. Element `(s, m, n)` reads
/// `A[m, lo..hi)` and `B[lo..hi), n]` over reduction chunk `s`'s range `lo..hi`; only
/// `lo mod 512` and the range's length (shorter in the last chunk) tell chunks apart, so
/// the first 512 reduction chunks and the last cover every case, and for each the worst
/// row and the worst column add up.
pub(crate) fn matmul_replay_chunks(sa: &[u32], sb: &[u32], trans_a: bool, trans_b: bool, k_chunk: u32) -> (u64, u64) {
    let (m, k) = if trans_a { (sa[1] as u64, sa[0] as u64) } else { (sa[0] as u64, sa[1] as u64) };
    let n = if trans_b { sb[0] as u64 } else { sb[1] as u64 };
    let kc = k_chunk.max(1) as u64;
    let s = k.div_ceil(kc);
    let at = |s: u64| {
        let (lo, len) = (s * kc, (s * kc + kc).min(k) - s * kc);
        // A[row, d] is a[row, d] at row K + d, or a[d, row] at d M + row.
        let a_chunks =
            if trans_a { worst_progression(m, 1, lo * m, m, len) } else { worst_progression(m, k, lo, 1, len) };
        // B[d, col] is b[d, col] at d N + col, or b[col, d] at col K + d.
        let b_chunks =
            if trans_b { worst_progression(n, k, lo, 1, len) } else { worst_progression(n, 1, lo * n, n, len) };
        (a_chunks, b_chunks)
    };
    (0..(s - 1).min(CHUNK_ELEMENTS)).chain([s - 1]).map(at).max_by_key(|&(x, y)| x + y).expect("one reduction chunk")
}

/// [`Program::replay_chunks`] of a `sum_rows` over a tensor of `shape` `[R, ...]`: output
/// element `j` reads positions `j + r W` (`W` the product of the other dimensions).
pub(crate) fn sum_rows_replay_chunks(shape: &[u32]) -> u64 {
    let rows = shape[0] as u64;
    let width = shape[1..].iter().map(|&d| d as u64).product::<u64>();
    worst_progression(width, 1, 0, width, rows)
}

/// The dimensions of a matrix product after transposition flags are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatMulDims {
    /// Rows of the output.
    pub m: u32,
    /// Reduction length.
    pub k: u32,
    /// Columns of the output.
    pub n: u32,
    /// Number of reduction chunks.
    pub chunks: u32,
}

/// [`Program::step_local_slots`] of a step body that may still be being built.
pub(crate) fn step_local(slots: &[Slot], ops: &[Op]) -> Vec<bool> {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        Untouched,
        /// First accessed by a read (or by an op that reads and writes it).
        ReadFirst,
        /// First accessed by a write, not read since.
        Written,
        /// First accessed by a write, then read by a later op.
        Intermediate,
    }
    let mut seen = vec![Seen::Untouched; slots.len()];
    for op in ops {
        for id in op.inputs() {
            let s = &mut seen[id as usize];
            *s = match *s {
                Seen::Untouched => Seen::ReadFirst,
                Seen::Written => Seen::Intermediate,
                other => other,
            };
        }
        let out = &mut seen[op.output() as usize];
        if *out == Seen::Untouched {
            *out = Seen::Written;
        }
    }
    seen.iter()
        .zip(slots)
        .map(|(s, slot)| *s == Seen::Intermediate && matches!(slot.kind, SlotKind::Var { .. }))
        .collect()
}

impl Program {
    /// Parses a program from its JSON form and validates it.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let program: Program = serde_json::from_slice(bytes).map_err(ProgramError::Json)?;
        program.validate()?;
        Ok(program)
    }

    /// The canonical JSON form (what the program hash is taken over).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a program always serializes")
    }

    /// keccak256 of the canonical JSON form.
    pub fn hash(&self) -> Hash32 {
        Hash32::of(&self.to_json())
    }

    /// For every slot, in slot order, whether it is **step-local**: a variable slot whose
    /// first access in the step body is a write (no earlier operator reads it, nor the
    /// writing one) and that a later operator of the step reads (`docs/program.md`,
    /// "State and step-local slots"). Every other slot is state.
    pub fn step_local_slots(&self) -> Vec<bool> {
        step_local(&self.slots, &self.ops)
    }

    /// For every slot, in slot order, whether the step body **clears** it: the last
    /// operator that writes it is a `scale` by 0, so the slot holds zeros after every
    /// step whatever it held before (`docs/program.md`, "Clearing step-local slots").
    pub fn cleared_slots(&self) -> Vec<bool> {
        let mut cleared = vec![false; self.slots.len()];
        for op in &self.ops {
            cleared[op.output() as usize] = op.is_clear();
        }
        cleared
    }

    /// The program without its clears ([`Op::is_clear`]): for a compiled training
    /// program, the step body it had before the compiler cleared its step-local slots
    /// (what benchmarks compare against).
    pub fn without_clears(&self) -> Program {
        Program { ops: self.ops.iter().filter(|op| !op.is_clear()).cloned().collect(), ..self.clone() }
    }

    /// Shape of a slot (the slot must exist).
    pub fn shape(&self, id: SlotId) -> &[u32] {
        &self.slots[id as usize].shape
    }

    /// Resolves the dimensions of a `MatMul` from its operand shapes.
    pub fn matmul_dims(&self, a: SlotId, b: SlotId, trans_a: bool, trans_b: bool, k_chunk: u32) -> MatMulDims {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let (m, k) = if trans_a { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
        let n = if trans_b { sb[0] } else { sb[1] };
        MatMulDims { m, k, n, chunks: k.div_ceil(k_chunk.max(1)) }
    }

    /// The most commitment chunks ([`CHUNK_ELEMENTS`] elements each) that the on-chain
    /// replay of one output element of `op` opens, summed over its inputs and maximised
    /// over its output elements: exactly the distinct chunks holding the positions
    /// `OneStepReplay` reads (docs/contracts.md, "Using it in the last step"). The
    /// operator's shapes must be valid ([`Program::validate`] checks them first).
    ///
    /// A run of positions `p0 + i * stride` spans one chunk per position when the
    /// stride is 512 or more, else the chunks from `p0`'s to the last position's; the
    /// worst case is the worst start over the output elements.
    pub fn replay_chunks(&self, op: &Op) -> u64 {
        let rows = |id: SlotId| -> (u64, u64) {
            let s = self.shape(id);
            let len: u64 = s.iter().map(|&d| d as u64).product();
            (s[0] as u64, len / s[0] as u64)
        };
        match *op {
            Op::Add { .. } | Op::Sub { .. } | Op::Mul { .. } | Op::ReluGrad { .. } | Op::Sgd { .. } => 2,
            Op::AddBias { .. } | Op::Gather { .. } => 2,
            Op::Scale { .. } | Op::Relu { .. } | Op::Transpose { .. } => 1,
            Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
                let (a_chunks, b_chunks) = self.matmul_replay_chunks(a, b, trans_a, trans_b, k_chunk);
                a_chunks + b_chunks
            }
            Op::SumRows { a, .. } => sum_rows_replay_chunks(self.shape(a)),
            // Row r of `[R, N]`: positions r N .. r N + N.
            Op::Softmax { a, .. } | Op::Argmax { a, .. } => {
                let (r, n) = rows(a);
                worst_progression(r, n, 0, 1, n)
            }
            // The logits row and one label.
            Op::SoftmaxXentGrad { logits, .. } => {
                let (r, n) = rows(logits);
                worst_progression(r, n, 0, 1, n) + 1
            }
            // The logits row and the labels row (same shape).
            Op::XentLoss { logits, .. } => {
                let (r, n) = rows(logits);
                2 * worst_progression(r, n, 0, 1, n)
            }
        }
    }

    /// [`Program::replay_chunks`] of a `mat_mul` of slots `a` and `b`, split as the
    /// chunks of `a` and of `b` at the worst output element.
    pub fn matmul_replay_chunks(&self, a: SlotId, b: SlotId, trans_a: bool, trans_b: bool, k_chunk: u32) -> (u64, u64) {
        matmul_replay_chunks(self.shape(a), self.shape(b), trans_a, trans_b, k_chunk)
    }

    /// Checks every rule of the format: the structural ones
    /// ([`Program::validate_structure`]) and the replay bound, that no operator's
    /// one-element replay opens more than [`MAX_REPLAY_CHUNKS`] chunks
    /// ([`Program::replay_chunks`]). A job's program must pass it: a program beyond the
    /// bound runs, but a dispute over it cannot be settled within the gas bound.
    pub fn validate(&self) -> Result<()> {
        self.validate_structure()?;
        for (i, op) in self.ops.iter().enumerate() {
            self.check_replay_bound(i, op)?;
        }
        Ok(())
    }

    /// Checks every structural rule; on success every operator can run. Backends and
    /// test harnesses that run programs which are never disputed (operator suites,
    /// benchmarks) check only this; [`Program::validate`] adds the replay bound.
    pub fn validate_structure(&self) -> Result<()> {
        let err = |op: usize, msg: String| Err(ProgramError::InvalidOp { op, msg }.into());
        if self.version != PROGRAM_VERSION {
            return Err(ProgramError::Version { found: self.version, expected: PROGRAM_VERSION }.into());
        }
        if self.steps == 0 || self.steps > u32::MAX as u64 {
            return Err(ProgramError::Steps(self.steps).into());
        }
        if self.ops.is_empty() {
            return Err(ProgramError::NoOps.into());
        }
        let mut names = std::collections::HashSet::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let bad = |msg: String| Err(ProgramError::InvalidSlot { slot: i, name: slot.name.clone(), msg }.into());
            if !names.insert(slot.name.as_str()) {
                return bad("duplicate slot name".into());
            }
            if slot.shape.is_empty() || slot.shape.len() > 3 || slot.shape.contains(&0) {
                return bad(format!("shape {:?} must have 1 to 3 non-zero dimensions", slot.shape));
            }
            if slot.shape.iter().map(|&d| d as u64).product::<u64>() > MAX_SLOT_ELEMENTS {
                return bad(format!("shape {:?} exceeds {MAX_SLOT_ELEMENTS} elements", slot.shape));
            }
        }
        let n_slots = self.slots.len();
        for (i, op) in self.ops.iter().enumerate() {
            let ids = op.inputs().into_iter().chain([op.output()]);
            for id in ids {
                if id as usize >= n_slots {
                    return err(i, format!("slot {id} does not exist ({n_slots} slots)"));
                }
            }
            let out = op.output();
            if matches!(self.slots[out as usize].kind, SlotKind::Const { .. }) {
                return err(i, format!("writes constant slot `{}`", self.slots[out as usize].name));
            }
            if let Err(msg) = self.check_shapes(op) {
                return err(i, format!("{}: {msg}", op.name()));
            }
        }
        Ok(())
    }

    /// The replay bound: `op` (at index `index`) must satisfy
    /// `replay_chunks(op) <= MAX_REPLAY_CHUNKS`.
    fn check_replay_bound(&self, index: usize, op: &Op) -> Result<()> {
        let chunks = self.replay_chunks(op);
        if chunks <= MAX_REPLAY_CHUNKS {
            return Ok(());
        }
        let name = |id: SlotId| self.slots[id as usize].name.as_str();
        let (reads, hint) = match *op {
            Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
                let (ca, cb) = self.matmul_replay_chunks(a, b, trans_a, trans_b, k_chunk);
                (
                    format!("{ca} of `{}` and {cb} of `{}`", name(a), name(b)),
                    "read `A` along the rows of `a` (`trans_a` false) and `B` along the rows of `b` \
                     (`trans_b` true), materialising the other layout with a `transpose`, or use a \
                     shorter `k_chunk`"
                        .to_string(),
                )
            }
            Op::SumRows { a, .. } => {
                let s = self.shape(a);
                let width: u64 = s[1..].iter().map(|&d| d as u64).product();
                (
                    format!("a column of {} rows {width} elements apart in `{}` {s:?}", s[0], name(a)),
                    "sum fewer rows (a smaller batch, or fewer partial sums: a shorter reduction) or \
                     rows of fewer elements"
                        .to_string(),
                )
            }
            _ => (format!("its inputs {:?}", op.inputs().iter().map(|&x| name(x)).collect::<Vec<_>>()), String::new()),
        };
        Err(ProgramError::ReplayBound {
            op: index,
            name: op.name(),
            out: name(op.output()).to_string(),
            chunks,
            reads,
            hint,
        }
        .into())
    }

    fn check_shapes(&self, op: &Op) -> std::result::Result<(), String> {
        let s = |id: SlotId| self.shape(id).to_vec();
        let name = |id: SlotId| self.slots[id as usize].name.clone();
        let same = |a: SlotId, b: SlotId| {
            if s(a) == s(b) {
                Ok(())
            } else {
                Err(format!("`{}` {:?} and `{}` {:?} must have the same shape", name(a), s(a), name(b), s(b)))
            }
        };
        let rank = |id: SlotId, r: usize| {
            if s(id).len() == r { Ok(()) } else { Err(format!("`{}` {:?} must have rank {r}", name(id), s(id))) }
        };
        let row_len = |id: SlotId| {
            let n = *s(id).last().unwrap_or(&0);
            if n <= MAX_REDUCE {
                Ok(())
            } else {
                Err(format!("rows of `{}` have {n} elements, more than {MAX_REDUCE}", name(id)))
            }
        };
        match *op {
            Op::Gather { table, index, out } => {
                rank(table, 2)?;
                rank(index, 2)?;
                let want = vec![s(index)[1], s(table)[1]];
                if s(out) != want {
                    return Err(format!("`{}` is {:?}, expected {want:?}", name(out), s(out)));
                }
                if matches!(self.slots[index as usize].kind, SlotKind::Var { .. }) {
                    return Err(format!("index `{}` must be a constant slot", name(index)));
                }
            }
            Op::MatMul { a, b, out, trans_a, trans_b, k_chunk } => {
                rank(a, 2)?;
                rank(b, 2)?;
                if k_chunk == 0 || k_chunk > MAX_REDUCE {
                    return Err(format!("k_chunk {k_chunk} must be in 1..={MAX_REDUCE}"));
                }
                let d = self.matmul_dims(a, b, trans_a, trans_b, k_chunk);
                let kb = if trans_b { s(b)[1] } else { s(b)[0] };
                if kb != d.k {
                    return Err(format!(
                        "inner dimensions differ: {} (from `{}`) vs {kb} (from `{}`)",
                        d.k,
                        name(a),
                        name(b)
                    ));
                }
                let want = if d.chunks == 1 { vec![d.m, d.n] } else { vec![d.chunks, d.m, d.n] };
                if s(out) != want {
                    return Err(format!("`{}` is {:?}, expected {want:?}", name(out), s(out)));
                }
            }
            Op::SumRows { a, out } => {
                let sa = s(a);
                if sa[0] > MAX_REDUCE {
                    return Err(format!("`{}` has {} rows, more than {MAX_REDUCE}", name(a), sa[0]));
                }
                let want = if sa.len() == 1 { vec![1] } else { sa[1..].to_vec() };
                if s(out) != want {
                    return Err(format!("`{}` is {:?}, expected {want:?}", name(out), s(out)));
                }
            }
            Op::Add { a, b, out } | Op::Sub { a, b, out } | Op::Mul { a, b, out } => {
                same(a, b)?;
                same(a, out)?;
            }
            Op::AddBias { a, bias, out } => {
                rank(a, 2)?;
                same(a, out)?;
                if s(bias) != vec![s(a)[1]] {
                    return Err(format!("bias `{}` is {:?}, expected [{}]", name(bias), s(bias), s(a)[1]));
                }
            }
            Op::Scale { a, out, .. } | Op::Relu { a, out } => same(a, out)?,
            Op::ReluGrad { pre, grad, out } => {
                same(pre, grad)?;
                same(pre, out)?;
            }
            Op::Transpose { a, out } => {
                rank(a, 2)?;
                let want = vec![s(a)[1], s(a)[0]];
                if s(out) != want {
                    return Err(format!("`{}` is {:?}, expected {want:?}", name(out), s(out)));
                }
            }
            Op::Softmax { a, out } => {
                rank(a, 2)?;
                row_len(a)?;
                same(a, out)?;
            }
            Op::SoftmaxXentGrad { logits, labels, out, .. } => {
                rank(logits, 2)?;
                row_len(logits)?;
                same(logits, labels)?;
                same(logits, out)?;
            }
            Op::XentLoss { logits, labels, out } => {
                rank(logits, 2)?;
                row_len(logits)?;
                same(logits, labels)?;
                if s(out) != vec![s(logits)[0]] {
                    return Err(format!("`{}` is {:?}, expected [{}]", name(out), s(out), s(logits)[0]));
                }
            }
            Op::Sgd { param, grad, out, .. } => {
                same(param, grad)?;
                same(param, out)?;
            }
            Op::Argmax { a, out } => {
                rank(a, 2)?;
                row_len(a)?;
                if s(out) != vec![s(a)[0]] {
                    return Err(format!("`{}` is {:?}, expected [{}]", name(out), s(out), s(a)[0]));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, shape: &[u32]) -> Slot {
        Slot { name: name.into(), shape: shape.to_vec(), kind: SlotKind::Var { init: None } }
    }

    #[test]
    fn a_slot_is_cleared_only_when_its_last_write_scales_by_zero() {
        let p = Program {
            version: PROGRAM_VERSION,
            slots: vec![var("a", &[2]), var("b", &[2]), var("c", &[2]), var("d", &[2])],
            ops: vec![
                Op::Relu { a: 0, out: 1 },
                Op::Scale { a: 1, factor: 0, out: 1 },
                Op::Scale { a: 0, factor: 0, out: 2 },
                Op::Relu { a: 1, out: 2 },
                Op::Scale { a: 0, factor: 1, out: 3 },
            ],
            steps: 2,
        };
        p.validate().unwrap();
        // `b` is cleared in place; `c` is written by a clear and then again; `d` is
        // scaled by something else; `a` is never written.
        assert_eq!(p.cleared_slots(), [false, true, false, false]);
        // `b` is first written then read: step-local; `c` and `d` are never read.
        assert_eq!(p.step_local_slots(), [false, true, false, false]);
    }

    #[test]
    fn without_clears_drops_every_scale_by_zero_and_nothing_else() {
        let ops = vec![
            Op::Relu { a: 0, out: 1 },
            Op::Scale { a: 1, factor: 0, out: 1 },
            Op::Scale { a: 0, factor: 1, out: 2 },
            Op::Scale { a: 0, factor: 0, out: 2 },
        ];
        let p = Program {
            version: PROGRAM_VERSION,
            slots: vec![var("a", &[2]), var("b", &[2]), var("c", &[2])],
            ops,
            steps: 2,
        };
        let kept = p.without_clears();
        assert_eq!(kept.ops, [p.ops[0].clone(), p.ops[2].clone()]);
        assert_eq!((&kept.slots, kept.steps), (&p.slots, p.steps));
        assert!(!kept.cleared_slots().contains(&true));
    }

    /// `c = a x b` with `a [4, 8]`, `b [8, 3]`, plus a constant.
    fn base() -> Program {
        Program {
            version: PROGRAM_VERSION,
            slots: vec![
                var("a", &[4, 8]),
                var("b", &[8, 3]),
                var("c", &[4, 3]),
                Slot { name: "k".into(), shape: vec![4, 3], kind: SlotKind::Const { data: Hash32::of(b"k") } },
            ],
            ops: vec![Op::MatMul { a: 0, b: 1, out: 2, trans_a: false, trans_b: false, k_chunk: 8 }],
            steps: 1,
        }
    }

    fn rejects(p: Program, needle: &str) {
        let e = p.validate().expect_err("invalid program accepted").to_string();
        assert!(e.contains(needle), "expected `{needle}` in: {e}");
    }

    #[test]
    fn base_is_valid_and_round_trips_json() {
        let p = base();
        p.validate().unwrap();
        assert_eq!(Program::from_json(&p.to_json()).unwrap(), p);
    }

    #[test]
    fn chunked_matmul_needs_the_chunk_axis() {
        let mut p = base();
        p.ops[0] = Op::MatMul { a: 0, b: 1, out: 2, trans_a: false, trans_b: false, k_chunk: 3 };
        rejects(p.clone(), "expected [3, 4, 3]");
        p.slots[2].shape = vec![3, 4, 3];
        p.validate().unwrap();
    }

    #[test]
    fn structural_errors_are_reported() {
        let mut p = base();
        p.version = 2;
        rejects(p, "version 2");
        let mut p = base();
        p.steps = 0;
        rejects(p, "0 steps");
        let mut p = base();
        p.ops.clear();
        rejects(p, "no operators");
        let mut p = base();
        p.slots[1].name = "a".into();
        rejects(p, "duplicate slot name");
        let mut p = base();
        p.slots[0].shape = vec![4, 0];
        rejects(p, "non-zero");
        let mut p = base();
        p.slots[0].shape = vec![1 << 14, 1 << 14];
        rejects(p, "exceeds");
        let mut p = base();
        p.ops[0] = Op::Relu { a: 0, out: 9 };
        rejects(p, "slot 9 does not exist");
        let mut p = base();
        p.ops[0] = Op::Relu { a: 2, out: 3 };
        rejects(p, "writes constant slot `k`");
    }

    #[test]
    fn shape_errors_name_the_slots() {
        let mut p = base();
        p.ops[0] = Op::MatMul { a: 0, b: 1, out: 2, trans_a: false, trans_b: false, k_chunk: 0 };
        rejects(p.clone(), "k_chunk 0");
        p.ops[0] = Op::MatMul { a: 0, b: 1, out: 2, trans_a: false, trans_b: false, k_chunk: MAX_REDUCE + 1 };
        rejects(p.clone(), "k_chunk 129");
        p.ops[0] = Op::MatMul { a: 0, b: 1, out: 2, trans_a: true, trans_b: false, k_chunk: 8 };
        rejects(p.clone(), "inner dimensions differ");
        p.ops[0] = Op::Add { a: 0, b: 1, out: 2 };
        rejects(p.clone(), "must have the same shape");
        p.ops[0] = Op::AddBias { a: 2, bias: 0, out: 2 };
        rejects(p.clone(), "bias `a`");
        p.ops[0] = Op::Transpose { a: 0, out: 1 };
        rejects(p.clone(), "expected [8, 4]");
        let mut q = base();
        q.slots[2].shape = vec![3, 8];
        q.ops[0] = Op::Gather { table: 0, index: 1, out: 2 };
        rejects(q, "must be a constant slot");
        p.ops[0] = Op::XentLoss { logits: 2, labels: 2, out: 0 };
        rejects(p.clone(), "expected [4]");
        p.slots[0].shape = vec![200];
        p.ops[0] = Op::SumRows { a: 0, out: 2 };
        rejects(p.clone(), "more than 128");
        p.slots[0].shape = vec![2, 200];
        p.ops[0] = Op::Softmax { a: 0, out: 0 };
        rejects(p, "200 elements, more than 128");
    }

    /// A program of `op` over slots of the given shapes (inputs first, output last).
    fn one_op(shapes: &[&[u32]], op: Op) -> Program {
        let slots = shapes.iter().enumerate().map(|(i, s)| var(&format!("s{i}"), s)).collect();
        Program { version: PROGRAM_VERSION, slots, ops: vec![op], steps: 1 }
    }

    fn matmul(a: &[u32], b: &[u32], out: &[u32], trans_a: bool, trans_b: bool, k_chunk: u32) -> Program {
        one_op(&[a, b, out], Op::MatMul { a: 0, b: 1, out: 2, trans_a, trans_b, k_chunk })
    }

    /// Replay chunks of the program's only op, checking the shapes first.
    fn chunks(p: &Program) -> u64 {
        p.validate_structure().unwrap();
        p.replay_chunks(&p.ops[0])
    }

    #[test]
    fn progressions_count_the_chunks_they_touch() {
        assert_eq!(progression_chunks(0, 1, 0), 0);
        assert_eq!(progression_chunks(0, 1, 512), 1, "one aligned chunk");
        assert_eq!(progression_chunks(1, 1, 512), 2, "misaligned by one");
        assert_eq!(progression_chunks(511, 1, 2), 2, "across a boundary");
        assert_eq!(progression_chunks(100, 100, 5), 1, "100..=500");
        assert_eq!(progression_chunks(0, 0, 7), 1, "one position read again");
        assert_eq!(progression_chunks(5, 600, 4), 4, "a stride of a chunk or more");
        assert_eq!(progression_chunks(1024 + 7, 512, 3), 3);
        assert_eq!(progression_chunks(0, 32, 64), 4, "0..=2016");
        assert_eq!(progression_chunks(31, 32, 64), 4, "31..=2047");
        assert_eq!(progression_chunks(32, 32, 64), 5, "32..=2048");
    }

    #[test]
    fn matmul_chunks_by_hand() {
        // Everything in one chunk.
        assert_eq!(chunks(&base()), 2);
        // The digits first layer: A's rows of 64 are aligned (1 chunk); B [64, 32]'s
        // column col + 32 d, d < 64, spans col..=col + 2016: 4 chunks.
        assert_eq!(chunks(&matmul(&[32, 64], &[64, 32], &[32, 32], false, false, 64)), 5);
        // MNIST's first layer: A's row chunk row 784 + 64 s straddles a boundary for some
        // rows (2 chunks); B [784, 128]'s column 8192 s + col + 128 d spans
        // (col + 63 * 128) / 512 + 1 = 16 chunks at col = 127.
        let p = matmul(&[64, 784], &[784, 128], &[13, 64, 128], false, false, 64);
        assert_eq!(p.matmul_replay_chunks(0, 1, false, false, 64), (2, 16));
        // ... and through `trans_b` (B = w^T, w [128, 784]) B's column is a row: 2 chunks.
        let p = matmul(&[64, 784], &[128, 784], &[13, 64, 128], false, true, 64);
        assert_eq!(p.matmul_replay_chunks(0, 1, false, true, 64), (2, 2));
        // The old worst case: B [128, 512] row-major, its column in 128 chunks.
        assert_eq!(chunks(&matmul(&[1, 128], &[128, 512], &[1, 512], false, false, 128)), 129);
        // trans_a: a [130, 8] is A^T; A's row reads a[d, row] at 8 d + row. Chunk 0 (128
        // products) spans 0..=1023 + row: 2 chunks; the last (2 products) 1 chunk.
        let p = matmul(&[130, 8], &[130, 3], &[2, 8, 3], true, false, 128);
        assert_eq!(p.matmul_replay_chunks(0, 1, true, false, 128).0, 2);
        // The last, partial reduction chunk is the worst: A [1, 560], k_chunk 100. Chunks
        // 0..=4 read 100s inside chunk 0 (0..=499); chunk 5 reads 500..=559, 2 chunks.
        let p = matmul(&[1, 560], &[560, 1], &[6, 1, 1], false, false, 100);
        assert_eq!(p.matmul_replay_chunks(0, 1, false, false, 100), (2, 2));
        let p = matmul(&[1, 500], &[500, 1], &[5, 1, 1], false, false, 100);
        assert_eq!(p.matmul_replay_chunks(0, 1, false, false, 100), (1, 1));
    }

    #[test]
    fn row_and_column_chunks_by_hand() {
        let sum = |shape: &[u32]| {
            let out = if shape.len() == 1 { vec![1] } else { shape[1..].to_vec() };
            chunks(&one_op(&[shape, &out], Op::SumRows { a: 0, out: 1 }))
        };
        assert_eq!(sum(&[100]), 1, "a rank-1 sum reads the whole tensor");
        assert_eq!(sum(&[3, 5]), 1);
        assert_eq!(sum(&[2, 700]), 2);
        assert_eq!(sum(&[16, 512]), 16, "a row per chunk");
        assert_eq!(sum(&[128, 800]), 128);
        assert_eq!(sum(&[64, 128]), 16, "MNIST's bias gradient: 8192 elements");
        assert_eq!(sum(&[128, 128]), 32);
        assert_eq!(sum(&[13, 64, 128]), 13, "MNIST's partial sums, 8192 apart");
        assert_eq!(sum(&[13, 2, 10]), 1, "260 elements");
        let rows = |op: fn(SlotId, SlotId, SlotId) -> Op, n: u32, out: &[u32]| {
            chunks(&one_op(&[&[100, n], &[100, n], out], op(0, 1, 2)))
        };
        let softmax = |a, _, out| Op::Softmax { a, out };
        let argmax = |a, _, out| Op::Argmax { a, out };
        let grad = |logits, labels, out| Op::SoftmaxXentGrad { logits, labels, scale: 1, out };
        let xent = |logits, labels, out| Op::XentLoss { logits, labels, out };
        assert_eq!(rows(softmax, 128, &[100, 128]), 1, "rows of 128 never straddle");
        assert_eq!(rows(softmax, 10, &[100, 10]), 2);
        assert_eq!(rows(argmax, 127, &[100]), 2);
        assert_eq!(rows(grad, 10, &[100, 10]), 3, "the row and one label");
        assert_eq!(rows(xent, 10, &[100]), 4, "both rows");
        assert_eq!(rows(xent, 128, &[100]), 2);
        let c = |shapes: &[&[u32]], op| chunks(&one_op(shapes, op));
        assert_eq!(c(&[&[4, 8], &[4, 8], &[4, 8]], Op::Add { a: 0, b: 1, out: 2 }), 2);
        assert_eq!(c(&[&[4, 8], &[4, 8]], Op::Relu { a: 0, out: 1 }), 1);
        assert_eq!(c(&[&[4, 8], &[8], &[4, 8]], Op::AddBias { a: 0, bias: 1, out: 2 }), 2);
        assert_eq!(c(&[&[40, 30], &[30, 40]], Op::Transpose { a: 0, out: 1 }), 1);
        let mut g = one_op(&[&[400, 30], &[7, 8], &[8, 30]], Op::Gather { table: 0, index: 1, out: 2 });
        g.slots[1].kind = SlotKind::Const { data: Hash32::of(b"index") };
        assert_eq!(chunks(&g), 2, "the index and the table element");
    }

    #[test]
    fn the_validator_refuses_an_op_beyond_the_replay_bound() {
        // A strided B column: 128 chunks of `s1`.
        let p = matmul(&[1, 128], &[128, 512], &[1, 512], false, false, 128);
        p.validate_structure().unwrap();
        let e = p.validate().unwrap_err().to_string();
        for needle in [
            "op 0 (`mat_mul` writing `s2`)",
            "129 chunks",
            "1 of `s0` and 128 of `s1`",
            "more than the 16",
            "`trans_b` true",
        ] {
            assert!(e.contains(needle), "expected `{needle}` in: {e}");
        }
        // The same product through `trans_b` is within the bound.
        matmul(&[1, 128], &[512, 128], &[1, 512], false, true, 128).validate().unwrap();
        // A column sum over 32 chunks; 16 (the bound itself) passes.
        let p = one_op(&[&[128, 128], &[128]], Op::SumRows { a: 0, out: 1 });
        let e = p.validate().unwrap_err().to_string();
        for needle in ["`sum_rows` writing `s1`", "32 chunks", "128 rows 128 elements apart", "smaller batch"] {
            assert!(e.contains(needle), "expected `{needle}` in: {e}");
        }
        one_op(&[&[64, 128], &[128]], Op::SumRows { a: 0, out: 1 }).validate().unwrap();
        // The bound is on the inputs together: A = a^T reads a [9, 512] down a column (9
        // chunks), B = b [9, 448] too (col + 448 d spans 8 chunks at col = 447).
        let p = matmul(&[9, 512], &[9, 448], &[512, 448], true, false, 9);
        assert_eq!(p.matmul_replay_chunks(0, 1, true, false, 9), (9, 8));
        assert!(p.validate().unwrap_err().to_string().contains("17 chunks"));
        // JSON from elsewhere is held to it too.
        let strided = matmul(&[1, 128], &[128, 512], &[1, 512], false, false, 128);
        assert!(Program::from_json(&strided.to_json()).unwrap_err().to_string().contains("129 chunks"));
    }

    /// The positions each input of `op` is read at for output element `e`, spelled out
    /// as `OneStepReplay._compute` reads them (a `gather`'s table element is one
    /// position whichever row the index names; row 0 here).
    fn replay_positions(p: &Program, op: &Op, e: u64) -> Vec<Vec<u64>> {
        let shape = |id: SlotId| p.shape(id).iter().map(|&d| d as u64).collect::<Vec<u64>>();
        match *op {
            Op::MatMul { a, b, trans_a, trans_b, k_chunk, .. } => {
                let (sa, sb) = (shape(a), shape(b));
                let (m, k) = if trans_a { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
                let n = if trans_b { sb[0] } else { sb[1] };
                let kc = k_chunk as u64;
                let (s, row, col) = (e / (m * n), (e / n) % m, e % n);
                let (lo, hi) = (s * kc, (s * kc + kc).min(k));
                vec![
                    (lo..hi).map(|d| if trans_a { d * m + row } else { row * k + d }).collect(),
                    (lo..hi).map(|d| if trans_b { col * k + d } else { d * n + col }).collect(),
                ]
            }
            Op::SumRows { a, .. } => {
                let s = shape(a);
                let width = s.iter().product::<u64>() / s[0];
                vec![(0..s[0]).map(|r| r * width + e).collect()]
            }
            Op::Softmax { a, .. }
            | Op::SoftmaxXentGrad { logits: a, .. }
            | Op::XentLoss { logits: a, .. }
            | Op::Argmax { a, .. } => {
                let n = shape(a)[1];
                let per_element = matches!(op, Op::Softmax { .. } | Op::SoftmaxXentGrad { .. });
                let r = if per_element { e / n } else { e };
                let row: Vec<u64> = (r * n..r * n + n).collect();
                match op {
                    Op::SoftmaxXentGrad { .. } => vec![row, vec![e]],
                    Op::XentLoss { .. } => vec![row.clone(), row],
                    _ => vec![row],
                }
            }
            Op::AddBias { a, .. } => vec![vec![e], vec![e % shape(a)[1]]],
            Op::Transpose { a, .. } => {
                let s = shape(a);
                vec![vec![(e % s[0]) * s[1] + e / s[0]]]
            }
            Op::Gather { table, .. } => {
                let cols = shape(table)[1];
                vec![vec![e % cols], vec![e / cols]]
            }
            _ => op.inputs().iter().map(|_| vec![e]).collect(),
        }
    }

    /// The most distinct chunks any output element's replay reads, element by element.
    fn brute_force_chunks(p: &Program) -> u64 {
        let op = &p.ops[0];
        let out_len = p.slots[op.output() as usize].len() as u64;
        (0..out_len)
            .map(|e| {
                replay_positions(p, op, e)
                    .iter()
                    .map(|pos| {
                        pos.iter().map(|q| q / CHUNK_ELEMENTS).collect::<std::collections::BTreeSet<_>>().len() as u64
                    })
                    .sum::<u64>()
            })
            .max()
            .unwrap()
    }

    /// A `mat_mul` of `A [m, k] x B [k, n]` stored as the flags say, with at most about
    /// 300k products in all (the brute force reads every one).
    fn matmul_case() -> impl proptest::strategy::Strategy<Value = Program> {
        use proptest::prelude::*;
        (1u32..=40, 1u32..=260, 1u32..=700, 1u32..=128, any::<bool>(), any::<bool>()).prop_map(
            |(m, k, n, kc, ta, tb)| {
                let n = n.min(300_000 / (m * k)).max(1);
                let kc = kc.min(k);
                let a = if ta { [k, m] } else { [m, k] };
                let b = if tb { [n, k] } else { [k, n] };
                let s = k.div_ceil(kc);
                let out = if s == 1 { vec![m, n] } else { vec![s, m, n] };
                matmul(&a, &b, &out, ta, tb, kc)
            },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(96))]

        /// The closed form equals the chunks the replay opens, element by element.
        #[test]
        fn matmul_chunks_equal_the_brute_force(p in matmul_case()) {
            proptest::prop_assert_eq!(chunks(&p), brute_force_chunks(&p), "{:?} {:?}", p.ops[0], p.slots);
        }

        #[test]
        fn sum_rows_chunks_equal_the_brute_force(r in 1u32..=128, w in 1u32..=1500, d in 1u32..=3) {
            let shape = if d == 1 { vec![r, w] } else { vec![r, d, w.div_ceil(d)] };
            let p = one_op(&[&shape, &shape[1..]], Op::SumRows { a: 0, out: 1 });
            proptest::prop_assert_eq!(chunks(&p), brute_force_chunks(&p), "{:?}", shape);
        }

        #[test]
        fn row_chunks_equal_the_brute_force(r in 1u32..=60, n in 1u32..=128, kind in 0usize..4) {
            let (out, op) = match kind {
                0 => (vec![r, n], Op::Softmax { a: 0, out: 2 }),
                1 => (vec![r], Op::Argmax { a: 0, out: 2 }),
                2 => (vec![r, n], Op::SoftmaxXentGrad { logits: 0, labels: 1, scale: 1, out: 2 }),
                _ => (vec![r], Op::XentLoss { logits: 0, labels: 1, out: 2 }),
            };
            let p = one_op(&[&[r, n], &[r, n], &out], op);
            proptest::prop_assert_eq!(chunks(&p), brute_force_chunks(&p), "{:?}", p.ops[0]);
        }
    }

    #[test]
    fn json_with_unknown_fields_or_ops_is_rejected() {
        let text = String::from_utf8(base().to_json()).unwrap();
        let e = Program::from_json(text.replace("\"k_chunk\"", "\"kchunk\"").as_bytes()).unwrap_err().to_string();
        assert!(e.contains("kchunk"), "{e}");
        let e = Program::from_json(text.replace("mat_mul", "conv2d").as_bytes()).unwrap_err().to_string();
        assert!(e.contains("conv2d"), "{e}");
        assert!(Program::from_json(b"{").is_err());
    }
}
