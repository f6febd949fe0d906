//! The program commitment a job is bound to on-chain: the op table and the initial memory.
//!
//! The dispute game replays one operator of the step body, so it needs that operator's
//! *descriptor* (kind, slots, shapes, scalar parameters), and the descriptor must be the
//! job's. The job's submitter registers a [`ProgramCommitment`] with
//! `DisputeGameFactory.registerProgram`; a party opens an op's descriptor against it with
//! the op's index and the [`OpTable::path`] of its leaf (`revealSlot(_op, _opPath, ...)`).
//! The scheme is fixed by the contracts (`docs/contracts.md`, "Program root"):
//!
//! ```text
//! op leaf       = keccak256(0x06 ‖ abi.encode(OpDescriptor))      // one per op, program order
//! op tree       = tree(op leaves)                                  // docs/protocol.md, "Trees"
//! program root  = keccak256(0x07 ‖ h_0 ‖ slots (u32 BE) ‖ ops K (u32 BE) ‖ op tree)
//! OpDescriptor  = (uint8 kind, uint32 out, uint32[] inputs, uint32[][] shapes,
//!                  int32 param, uint32 kChunk, bool transA, bool transB)
//! ```
//!
//! `abi.encode` is Solidity's encoding of the struct as one dynamic value (it starts
//! with the offset word `0x20`), written here by hand and checked against Solidity by the
//! vectors in `tests/vectors/merkle/program.json`.

use gavel_executor::{Hash32, Inputs, Memory, Op, Program};
use serde::{Deserialize, Serialize};
use tiny_keccak::{Hasher, Keccak};

use crate::{
    commit::MemoryRoots,
    error::{Error, Result, VerifyError},
    merkle,
};

/// Tag of an op descriptor leaf (`GavelMerkle.TAG_OP`).
pub const TAG_OP: u8 = 0x06;

/// Tag of a program root (`GavelMerkle.TAG_PROGRAM`).
pub const TAG_PROGRAM: u8 = 0x07;

/// The operators by descriptor kind: `OP_KINDS[kind]` is the operator's name (the
/// order of `docs/numerics.md`'s table, `OpKind` in `contracts/src/game/GameTypes.sol`),
/// which is the executor's operator order.
pub const OP_KINDS: [&str; 16] = gavel_executor::vectors::OP_NAMES;

/// The descriptor kind of an operator (`OpKind`).
pub fn op_kind(op: &Op) -> u8 {
    match op {
        Op::Gather { .. } => 0,
        Op::MatMul { .. } => 1,
        Op::SumRows { .. } => 2,
        Op::Add { .. } => 3,
        Op::Sub { .. } => 4,
        Op::Mul { .. } => 5,
        Op::AddBias { .. } => 6,
        Op::Scale { .. } => 7,
        Op::Relu { .. } => 8,
        Op::ReluGrad { .. } => 9,
        Op::Transpose { .. } => 10,
        Op::Softmax { .. } => 11,
        Op::SoftmaxXentGrad { .. } => 12,
        Op::XentLoss { .. } => 13,
        Op::Sgd { .. } => 14,
        Op::Argmax { .. } => 15,
    }
}

/// One operator of the step body as the op tree commits it (`OpDescriptor` in
/// `contracts/src/game/GameTypes.sol`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpDescriptor {
    /// The operator, an index into [`OP_KINDS`].
    pub kind: u8,
    /// The slot it writes.
    pub out: u32,
    /// The slots it reads, in the operator's argument order ([`Op::inputs`]).
    pub inputs: Vec<u32>,
    /// `shapes[0]` is the output slot's shape, `shapes[1 + j]` input `j`'s: the slots'
    /// shapes as the program declares them (`[S, M, N]` for a chunked `mat_mul`).
    pub shapes: Vec<Vec<u32>>,
    /// The Q16.16 scalar: `scale`'s factor, `sgd`'s learning rate, `softmax_xent_grad`'s
    /// scale; 0 otherwise.
    pub param: i32,
    /// `mat_mul`'s reduction chunk; 0 otherwise.
    pub k_chunk: u32,
    /// `mat_mul`'s `trans_a`; false otherwise.
    pub trans_a: bool,
    /// `mat_mul`'s `trans_b`; false otherwise.
    pub trans_b: bool,
}

impl OpDescriptor {
    /// The descriptor of `op`, an operator of `program` (its slots give the shapes).
    pub fn of(program: &Program, op: &Op) -> Result<Self> {
        let slots = program.slots.len();
        let shape = |id: u32| {
            program.slots.get(id as usize).map(|s| s.shape.clone()).ok_or(Error::NoSuchSlot { slot: id, slots })
        };
        let inputs = op.inputs();
        let mut shapes = vec![shape(op.output())?];
        for &id in &inputs {
            shapes.push(shape(id)?);
        }
        let (param, k_chunk, trans_a, trans_b) = match *op {
            Op::Scale { factor, .. } => (factor, 0, false, false),
            Op::Sgd { lr, .. } => (lr, 0, false, false),
            Op::SoftmaxXentGrad { scale, .. } => (scale, 0, false, false),
            Op::MatMul { k_chunk, trans_a, trans_b, .. } => (0, k_chunk, trans_a, trans_b),
            _ => (0, 0, false, false),
        };
        Ok(Self { kind: op_kind(op), out: op.output(), inputs, shapes, param, k_chunk, trans_a, trans_b })
    }

    /// The operator's name, or `None` for a kind no operator has.
    pub fn name(&self) -> Option<&'static str> {
        OP_KINDS.get(self.kind as usize).copied()
    }

    /// Solidity's `abi.encode(descriptor)`: the descriptor as one dynamic tuple, so the
    /// first word is its offset, `0x20`.
    pub fn abi_encode(&self) -> Vec<u8> {
        // The tuple's head is 8 words; `inputs` follows it, then `shapes`.
        let inputs_len = 32 * (1 + self.inputs.len());
        let mut out = Vec::with_capacity(32 * 9 + inputs_len + 32 * (1 + 3 * self.shapes.len()) * 2);
        out.extend_from_slice(&word(32));
        out.extend_from_slice(&word(self.kind.into()));
        out.extend_from_slice(&word(self.out.into()));
        out.extend_from_slice(&word(8 * 32));
        out.extend_from_slice(&word((8 * 32 + inputs_len) as u64));
        out.extend_from_slice(&signed_word(self.param));
        out.extend_from_slice(&word(self.k_chunk.into()));
        out.extend_from_slice(&word(self.trans_a.into()));
        out.extend_from_slice(&word(self.trans_b.into()));
        push_u32_array(&mut out, &self.inputs);
        // uint32[][]: the count, one offset per inner array (from the first offset
        // word), then the inner arrays.
        out.extend_from_slice(&word(self.shapes.len() as u64));
        let mut offset = 32 * self.shapes.len();
        for s in &self.shapes {
            out.extend_from_slice(&word(offset as u64));
            offset += 32 * (1 + s.len());
        }
        for s in &self.shapes {
            push_u32_array(&mut out, s);
        }
        out
    }

    /// The op tree leaf: `keccak256(0x06 ‖ abi.encode(descriptor))`.
    pub fn leaf(&self) -> Hash32 {
        keccak(&[&[TAG_OP], &self.abi_encode()])
    }
}

/// A big-endian 32-byte word holding `v`.
fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// An `int32` as ABI-encoded: sign-extended to 32 bytes.
fn signed_word(v: i32) -> [u8; 32] {
    let mut w = if v < 0 { [0xff; 32] } else { [0u8; 32] };
    w[28..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The tail of a `uint32[]`: its length, then one word per element.
fn push_u32_array(out: &mut Vec<u8>, values: &[u32]) {
    out.extend_from_slice(&word(values.len() as u64));
    for &v in values {
        out.extend_from_slice(&word(v.into()));
    }
}

fn keccak(parts: &[&[u8]]) -> Hash32 {
    let mut k = Keccak::v256();
    for p in parts {
        k.update(p);
    }
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    Hash32(out)
}

/// The op descriptors of a program's step body, their leaves and the op tree over them.
#[derive(Clone, Debug)]
pub struct OpTable {
    descriptors: Vec<OpDescriptor>,
    /// The tree's levels, leaves first, root last.
    levels: Vec<Vec<Hash32>>,
}

impl OpTable {
    /// The table of a program's step body (the program is validated first).
    pub fn new(program: &Program) -> Result<Self> {
        program.validate()?;
        let descriptors = program.ops.iter().map(|op| OpDescriptor::of(program, op)).collect::<Result<_>>()?;
        Self::from_descriptors(descriptors)
    }

    /// The table of the given descriptors, in program order (at least one).
    pub fn from_descriptors(descriptors: Vec<OpDescriptor>) -> Result<Self> {
        if descriptors.is_empty() {
            return Err(Error::Inconsistent("an op table needs at least one operator".into()));
        }
        if u32::try_from(descriptors.len()).is_err() {
            return Err(Error::Inconsistent(format!("{} operators do not fit a u32 count", descriptors.len())));
        }
        let leaves = descriptors.iter().map(OpDescriptor::leaf).collect();
        Ok(Self { descriptors, levels: merkle::levels(leaves) })
    }

    /// `K`, the number of operators (never 0).
    pub fn len(&self) -> u32 {
        self.descriptors.len() as u32
    }

    /// Always false: a table has at least one operator.
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// Every descriptor, in program order.
    pub fn descriptors(&self) -> &[OpDescriptor] {
        &self.descriptors
    }

    /// Op `j`'s descriptor.
    pub fn descriptor(&self, j: u32) -> Result<&OpDescriptor> {
        self.descriptors.get(j as usize).ok_or(self.out_of_range(j))
    }

    /// Every leaf, in program order.
    pub fn leaves(&self) -> &[Hash32] {
        &self.levels[0]
    }

    /// The root of the op tree.
    pub fn root(&self) -> Hash32 {
        self.levels.last().expect("a tree has a root level")[0]
    }

    /// The siblings of op `j`'s leaf, bottom up: the `_opPath` of `revealSlot`.
    pub fn path(&self, j: u32) -> Result<Vec<Hash32>> {
        if j >= self.len() {
            return Err(self.out_of_range(j));
        }
        Ok(merkle::path(&self.levels, j.into()))
    }

    /// Op `j`'s descriptor with its path, checkable against the op tree.
    pub fn open(&self, j: u32) -> Result<OpOpening> {
        Ok(OpOpening { index: j, count: self.len(), descriptor: self.descriptor(j)?.clone(), siblings: self.path(j)? })
    }

    fn out_of_range(&self, j: u32) -> Error {
        Error::OutOfRange { what: "op", index: j.into(), count: self.len().into() }
    }
}

/// An op descriptor and its path in the op tree: what a party sends to `revealSlot`
/// (`descriptor` as `_op`, `siblings` as `_opPath`; the game knows `index` and `count`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpOpening {
    /// The op's index `j` in the step body.
    pub index: u32,
    /// `K`, the operators in the step body.
    pub count: u32,
    /// The descriptor.
    pub descriptor: OpDescriptor,
    /// Siblings of its leaf, bottom up.
    pub siblings: Vec<Hash32>,
}

impl OpOpening {
    /// Checks the opening against a program commitment, as the game does: `count` must
    /// be the commitment's `ops`, and the leaf at `index` with the siblings must fold to
    /// its op tree (`foldChecked`).
    pub fn verify(&self, program: &ProgramCommitment) -> Result<(), VerifyError> {
        let what = "op descriptor";
        if self.count != program.ops {
            return Err(VerifyError::Mismatch(format!(
                "{what} proof is for {} operators, the program has {}",
                self.count, program.ops
            )));
        }
        let op_tree = &program.op_tree;
        let leaves = u64::from(self.count);
        if leaves == 0 {
            return Err(VerifyError::Malformed(format!("{what} proof: a tree has at least one leaf")));
        }
        if self.index >= self.count {
            return Err(VerifyError::IndexOutOfRange { what, index: self.index.into(), leaves });
        }
        let expected = merkle::depth(leaves);
        if self.siblings.len() != expected {
            return Err(VerifyError::PathLength { what, leaves, expected, actual: self.siblings.len() });
        }
        let computed = merkle::fold_path(self.descriptor.leaf(), self.index.into(), &self.siblings);
        if computed == *op_tree {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch { what, expected: *op_tree, computed })
        }
    }
}

/// What `DisputeGameFactory.registerProgram` binds a job to (`ProgramCommitment` in
/// `contracts/src/game/GameTypes.sol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramCommitment {
    /// `h_0`, the memory root before the first step.
    pub initial_memory: Hash32,
    /// The program's slot count.
    pub slots: u32,
    /// `K`, the operators of one step.
    pub ops: u32,
    /// The root of the op tree ([`OpTable::root`]).
    pub op_tree: Hash32,
}

impl ProgramCommitment {
    /// The commitment of `program` whose initial memory root is `initial_memory`
    /// (`MemoryRoots::new(program, &Memory::initial(..))?.root()`; see
    /// [`ProgramCommitment::initial`]).
    pub fn of(program: &Program, initial_memory: Hash32) -> Result<Self> {
        Self::of_table(program, &OpTable::new(program)?, initial_memory)
    }

    /// The commitment of `program` with its op table already built.
    pub fn of_table(program: &Program, table: &OpTable, initial_memory: Hash32) -> Result<Self> {
        let slots = u32::try_from(program.slots.len())
            .map_err(|_| Error::Inconsistent(format!("{} slots do not fit a u32 count", program.slots.len())))?;
        Ok(Self { initial_memory, slots, ops: table.len(), op_tree: table.root() })
    }

    /// The commitment of a job: `program` starting from the memory its `inputs` give
    /// ([`Memory::initial`]).
    pub fn initial(program: &Program, inputs: &Inputs) -> Result<Self> {
        let table = OpTable::new(program)?;
        let h0 = MemoryRoots::new(program, &Memory::initial(program, inputs)?)?.root();
        Self::of_table(program, &table, h0)
    }

    /// The program root:
    /// `keccak256(0x07 ‖ h_0 ‖ slots (u32 BE) ‖ ops (u32 BE) ‖ op tree)`, what
    /// `DisputeGameFactory.programRootOf` returns.
    pub fn root(&self) -> Hash32 {
        keccak(&[
            &[TAG_PROGRAM],
            &self.initial_memory.0,
            &self.slots.to_be_bytes(),
            &self.ops.to_be_bytes(),
            &self.op_tree.0,
        ])
    }
}

#[cfg(test)]
mod tests {
    use gavel_executor::{PROGRAM_VERSION, Slot, SlotKind};

    use super::*;

    fn var(name: &str, shape: &[u32]) -> Slot {
        Slot { name: name.into(), shape: shape.to_vec(), kind: SlotKind::Var { init: None } }
    }

    /// `c = a x b` (chunked), then `d = sgd(c, c)`, `e = scale(d)`.
    fn program() -> Program {
        Program {
            version: PROGRAM_VERSION,
            slots: vec![var("a", &[4, 8]), var("b", &[3, 8]), var("c", &[2, 4, 3]), var("e", &[2, 4, 3])],
            ops: vec![
                Op::MatMul { a: 0, b: 1, out: 2, trans_a: false, trans_b: true, k_chunk: 4 },
                Op::Sgd { param: 2, grad: 2, lr: -6554, out: 2 },
                Op::Scale { a: 2, factor: 3, out: 3 },
            ],
            steps: 2,
        }
    }

    fn hx(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn words(bytes: &[u8]) -> Vec<String> {
        bytes.chunks(32).map(hx).collect()
    }

    #[test]
    fn every_operator_has_its_kind_and_parameters() {
        let p = program();
        let d = OpDescriptor::of(&p, &p.ops[0]).unwrap();
        assert_eq!(d.name(), Some("mat_mul"));
        assert_eq!(d.inputs, vec![0, 1]);
        assert_eq!(d.shapes, vec![vec![2, 4, 3], vec![4, 8], vec![3, 8]]);
        assert_eq!((d.param, d.k_chunk, d.trans_a, d.trans_b), (0, 4, false, true));
        let d = OpDescriptor::of(&p, &p.ops[1]).unwrap();
        assert_eq!((d.kind, d.out, d.param, d.k_chunk), (14, 2, -6554, 0));
        let d = OpDescriptor::of(&p, &p.ops[2]).unwrap();
        assert_eq!((d.kind, d.inputs.as_slice(), d.param), (7, &[2][..], 3));
        // The numbers are the names' positions, and every name is an operator's.
        let all = [
            Op::Gather { table: 0, index: 0, out: 0 },
            Op::MatMul { a: 0, b: 0, out: 0, trans_a: false, trans_b: false, k_chunk: 1 },
            Op::SumRows { a: 0, out: 0 },
            Op::Add { a: 0, b: 0, out: 0 },
            Op::Sub { a: 0, b: 0, out: 0 },
            Op::Mul { a: 0, b: 0, out: 0 },
            Op::AddBias { a: 0, bias: 0, out: 0 },
            Op::Scale { a: 0, factor: 0, out: 0 },
            Op::Relu { a: 0, out: 0 },
            Op::ReluGrad { pre: 0, grad: 0, out: 0 },
            Op::Transpose { a: 0, out: 0 },
            Op::Softmax { a: 0, out: 0 },
            Op::SoftmaxXentGrad { logits: 0, labels: 0, scale: 0, out: 0 },
            Op::XentLoss { logits: 0, labels: 0, out: 0 },
            Op::Sgd { param: 0, grad: 0, lr: 0, out: 0 },
            Op::Argmax { a: 0, out: 0 },
        ];
        for (i, op) in all.iter().enumerate() {
            assert_eq!(op_kind(op) as usize, i);
            assert_eq!(OP_KINDS[i], op.name());
        }
        // A slot the program does not have.
        let err = OpDescriptor::of(&p, &Op::Relu { a: 9, out: 0 }).unwrap_err().to_string();
        assert!(err.contains("slot 9 does not exist"), "{err}");
    }

    #[test]
    fn abi_encoding_is_soliditys() {
        // abi.encode(OpDescriptor(1, 2, [0, 1], [[2, 4, 3], [4, 8], [3, 8]], -6554, 4, false, true)),
        // laid out word by word.
        let d = OpDescriptor {
            kind: 1,
            out: 2,
            inputs: vec![0, 1],
            shapes: vec![vec![2, 4, 3], vec![4, 8], vec![3, 8]],
            param: -6554,
            k_chunk: 4,
            trans_a: false,
            trans_b: true,
        };
        let w = |v: u64| hx(&word(v));
        let expected = vec![
            w(0x20),  // offset of the tuple
            w(1),     // kind
            w(2),     // out
            w(0x100), // inputs at 8 words
            w(0x160), // shapes after inputs' 3 words
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe666".into(),
            w(4), // kChunk
            w(0), // transA
            w(1), // transB
            w(2), // inputs: length, 0, 1
            w(0),
            w(1),
            w(3),    // shapes: length 3
            w(0x60), // offsets from the first offset word
            w(0xe0),
            w(0x140),
            w(3), // [2, 4, 3]
            w(2),
            w(4),
            w(3),
            w(2), // [4, 8]
            w(4),
            w(8),
            w(2), // [3, 8]
            w(3),
            w(8),
        ];
        assert_eq!(words(&d.abi_encode()), expected);
        let mut pre = vec![TAG_OP];
        pre.extend(d.abi_encode());
        assert_eq!(d.leaf(), Hash32::of(&pre));
        // Empty arrays are a length word each.
        let e = OpDescriptor { inputs: vec![], shapes: vec![], ..d };
        let enc = words(&e.abi_encode());
        assert_eq!(enc.len(), 11);
        assert_eq!(enc[4], w(0x120));
    }

    #[test]
    fn paths_open_every_op_and_nothing_else() {
        for k in 1..=9usize {
            let descriptors: Vec<OpDescriptor> = (0..k)
                .map(|i| OpDescriptor {
                    kind: (i % 16) as u8,
                    out: i as u32,
                    inputs: vec![i as u32 + 1],
                    shapes: vec![vec![1], vec![i as u32 + 1]],
                    param: -(i as i32),
                    k_chunk: 0,
                    trans_a: false,
                    trans_b: false,
                })
                .collect();
            let table = OpTable::from_descriptors(descriptors.clone()).unwrap();
            let leaves: Vec<Hash32> = descriptors.iter().map(OpDescriptor::leaf).collect();
            assert_eq!(table.leaves(), leaves.as_slice());
            assert_eq!(table.root(), merkle::root(&leaves));
            let c = ProgramCommitment {
                initial_memory: Hash32::of(b"h0"),
                slots: 40,
                ops: k as u32,
                op_tree: table.root(),
            };
            for j in 0..k as u32 {
                let o = table.open(j).unwrap();
                assert_eq!(o.siblings.len(), merkle::depth(k as u64));
                o.verify(&c).unwrap();
                // Another index, count, descriptor or op tree fails.
                if k > 1 {
                    let moved = OpOpening { index: (j + 1) % k as u32, ..o.clone() };
                    assert!(moved.verify(&c).is_err(), "k = {k}, j = {j}");
                }
                let mut other = o.clone();
                other.descriptor.param += 1;
                assert!(matches!(other.verify(&c), Err(VerifyError::RootMismatch { .. })));
                assert!(matches!(o.verify(&ProgramCommitment { ops: c.ops + 1, ..c }), Err(VerifyError::Mismatch(_))));
                assert!(o.verify(&ProgramCommitment { op_tree: Hash32::of(b"x"), ..c }).is_err());
                let mut short = o.clone();
                if short.siblings.pop().is_some() {
                    assert!(matches!(short.verify(&c), Err(VerifyError::PathLength { .. })));
                }
            }
            assert!(matches!(table.path(k as u32), Err(Error::OutOfRange { .. })));
            let past = OpOpening { index: k as u32, ..table.open(0).unwrap() };
            assert!(matches!(past.verify(&c), Err(VerifyError::IndexOutOfRange { .. })));
        }
        assert!(OpTable::from_descriptors(vec![]).is_err());
    }

    #[test]
    fn program_root_binds_every_field() {
        let p = program();
        let h0 = Hash32::of(b"h0");
        let c = ProgramCommitment::of(&p, h0).unwrap();
        let table = OpTable::new(&p).unwrap();
        assert_eq!((c.slots, c.ops, c.op_tree, c.initial_memory), (4, 3, table.root(), h0));
        let mut pre = vec![TAG_PROGRAM];
        pre.extend_from_slice(&h0.0);
        pre.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 3]);
        pre.extend_from_slice(&table.root().0);
        assert_eq!(c.root(), Hash32::of(&pre));
        let others = [
            ProgramCommitment { initial_memory: Hash32::of(b"h1"), ..c },
            ProgramCommitment { slots: 5, ..c },
            ProgramCommitment { ops: 4, ..c },
            ProgramCommitment { op_tree: h0, ..c },
        ];
        for o in others {
            assert_ne!(o.root(), c.root());
        }
        // The job form computes h_0 from the initial memory (zeros here).
        let job = ProgramCommitment::initial(&p, &Inputs::new()).unwrap();
        let memory = Memory::initial(&p, &Inputs::new()).unwrap();
        assert_eq!(job.initial_memory, MemoryRoots::new(&p, &memory).unwrap().root());
        assert_eq!(job.op_tree, c.op_tree);
        // An invalid program has no commitment.
        let mut bad = p.clone();
        bad.ops.clear();
        assert!(ProgramCommitment::of(&bad, h0).is_err());
        // The serde form is the contract's field list in snake case.
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["slots"], 4);
        assert_eq!(json["op_tree"], table.root().to_string());
    }
}
