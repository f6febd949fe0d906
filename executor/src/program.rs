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

    /// Checks every structural rule; on success every operator can run.
    pub fn validate(&self) -> Result<()> {
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
