//! Proofs: a value and the siblings that hash it up to a committed root.
//!
//! Each proof carries the size of its tree (a count, or a tensor's shape). Every root
//! binds that size, so a proof that lies about it hashes to another root; a verifier
//! needs nothing but the proof and the root it trusts.

use gavel_executor::Hash32;
use serde::{Deserialize, Serialize};

use crate::{
    commit::{self, CHUNK_ELEMENTS, chunk_leaf, shape_len, wrap_memory, wrap_step, wrap_tensor, wrap_trace},
    error::{Error, Result, VerifyError},
    merkle,
};

/// Checks index and path length, then folds the path.
fn fold(what: &'static str, leaf: Hash32, index: u64, leaves: u64, siblings: &[Hash32]) -> Result<Hash32, VerifyError> {
    if leaves == 0 {
        return Err(VerifyError::Malformed(format!("{what} proof: a tree has at least one leaf")));
    }
    if index >= leaves {
        return Err(VerifyError::IndexOutOfRange { what, index, leaves });
    }
    let expected = merkle::depth(leaves);
    if siblings.len() != expected {
        return Err(VerifyError::PathLength { what, leaves, expected, actual: siblings.len() });
    }
    Ok(merkle::fold_path(leaf, index, siblings))
}

/// A leaf and its siblings.
fn prove_leaf(what: &'static str, leaves: &[Hash32], index: u64) -> Result<(Hash32, Vec<Hash32>)> {
    let leaf = *leaves.get(index as usize).ok_or(Error::OutOfRange { what, index, count: leaves.len() as u64 })?;
    Ok((leaf, merkle::path(&merkle::levels(leaves.to_vec()), index)))
}

fn check(what: &'static str, expected: &Hash32, computed: Hash32) -> Result<(), VerifyError> {
    if *expected == computed { Ok(()) } else { Err(VerifyError::RootMismatch { what, expected: *expected, computed }) }
}

/// `h_i` (the memory root after step `i`) in a trace root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointProof {
    /// The step `i` (0 is the initial memory).
    pub step: u64,
    /// Checkpoints in the trace, `N + 1` for `N` steps.
    pub count: u64,
    /// `h_i`.
    pub root: Hash32,
    /// Siblings, bottom up.
    pub siblings: Vec<Hash32>,
}

impl CheckpointProof {
    /// Proves `h_step` among `checkpoints` (`h_0..h_N`).
    pub fn new(checkpoints: &[Hash32], step: u64) -> Result<Self> {
        let (root, siblings) = prove_leaf("checkpoint", checkpoints, step)?;
        Ok(Self { step, count: checkpoints.len() as u64, root, siblings })
    }

    /// Checks the proof against a trace root.
    pub fn verify(&self, trace_root: &Hash32) -> Result<(), VerifyError> {
        let tree = fold("checkpoint", self.root, self.step, self.count, &self.siblings)?;
        check("checkpoint", trace_root, wrap_trace(self.count, &tree))
    }
}

/// `M_{i,j}` (the memory root after the first `j` operators of step `i`) in a step root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpRootProof {
    /// The step `i`.
    pub step: u64,
    /// Operators run, `j` in `0..=K`.
    pub op: u32,
    /// Op-level roots of the step, `K + 1`.
    pub count: u32,
    /// `M_{i,j}`.
    pub root: Hash32,
    /// Siblings, bottom up.
    pub siblings: Vec<Hash32>,
}

impl OpRootProof {
    /// Proves `M_{step,op}` among the op-level roots of step `step`.
    pub fn new(step: u64, op_roots: &[Hash32], op: u32) -> Result<Self> {
        let (root, siblings) = prove_leaf("op", op_roots, op as u64)?;
        Ok(Self { step, op, count: op_roots.len() as u32, root, siblings })
    }

    /// Checks the proof against a step root (the commitment to `M_{i,0..K}`).
    pub fn verify(&self, step_root: &Hash32) -> Result<(), VerifyError> {
        let tree = fold("op root", self.root, self.op as u64, self.count as u64, &self.siblings)?;
        check("op root", step_root, wrap_step(self.step, self.count, &tree))
    }
}

/// A slot's root in a memory root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotProof {
    /// The slot id.
    pub slot: u32,
    /// Slots in the memory.
    pub count: u32,
    /// The slot's tensor root.
    pub root: Hash32,
    /// Siblings, bottom up.
    pub siblings: Vec<Hash32>,
}

impl SlotProof {
    /// Proves slot `slot` among the slot roots of a memory.
    pub fn new(slot_roots: &[Hash32], slot: u32) -> Result<Self> {
        let (root, siblings) = prove_leaf("slot", slot_roots, slot as u64)?;
        Ok(Self { slot, count: slot_roots.len() as u32, root, siblings })
    }

    /// Checks the proof against a memory root (`h_i` or `M_{i,j}`).
    pub fn verify(&self, memory_root: &Hash32) -> Result<(), VerifyError> {
        let tree = fold("slot", self.root, self.slot as u64, self.count as u64, &self.siblings)?;
        check("slot", memory_root, wrap_memory(self.count, &tree))
    }
}

/// One chunk of a tensor's elements in the tensor's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkProof {
    /// The tensor's shape (bound into its root).
    pub shape: Vec<u32>,
    /// Chunk index: elements `chunk * CHUNK_ELEMENTS ..`.
    pub chunk: u64,
    /// The chunk's elements: [`CHUNK_ELEMENTS`], fewer in the last chunk.
    pub values: Vec<i32>,
    /// Siblings, bottom up.
    pub siblings: Vec<Hash32>,
}

impl ChunkProof {
    /// Proves chunk `chunk` of a tensor of shape `shape`.
    pub fn new(shape: &[u32], values: &[i32], chunk: u64) -> Result<Self> {
        let len = shape_len(shape)?;
        if len != values.len() as u64 {
            return Err(Error::Shape {
                shape: shape.to_vec(),
                msg: format!("has {len} elements but the tensor has {}", values.len()),
            });
        }
        let leaves = commit::chunk_leaves(values);
        if chunk >= leaves.len() as u64 {
            return Err(Error::OutOfRange { what: "chunk", index: chunk, count: leaves.len() as u64 });
        }
        let start = chunk as usize * CHUNK_ELEMENTS;
        Ok(Self {
            shape: shape.to_vec(),
            chunk,
            values: values[start..(start + CHUNK_ELEMENTS).min(values.len())].to_vec(),
            siblings: merkle::path(&merkle::levels(leaves), chunk),
        })
    }

    /// Checks the proof against a tensor (slot) root.
    pub fn verify(&self, tensor_root: &Hash32) -> Result<(), VerifyError> {
        let len = shape_len(&self.shape).map_err(|e| VerifyError::Malformed(format!("chunk proof: {e}")))?;
        let chunks = commit::chunk_count(len);
        if self.chunk >= chunks {
            return Err(VerifyError::IndexOutOfRange { what: "chunk", index: self.chunk, leaves: chunks });
        }
        let want = (len - self.chunk * CHUNK_ELEMENTS as u64).min(CHUNK_ELEMENTS as u64);
        if self.values.len() as u64 != want {
            return Err(VerifyError::Malformed(format!(
                "chunk {} of a {len}-element tensor has {want} elements, the proof gives {}",
                self.chunk,
                self.values.len()
            )));
        }
        let tree = fold("chunk", chunk_leaf(&self.values), self.chunk, chunks, &self.siblings)?;
        check("chunk", tensor_root, wrap_tensor(&self.shape, &tree))
    }

    /// Number of elements of the tensor.
    pub fn tensor_len(&self) -> u64 {
        shape_len(&self.shape).unwrap_or(0)
    }
}

/// Where in the execution a memory was: a checkpoint, or an operator boundary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StateProof {
    /// `h_i` in the trace root.
    Checkpoint(CheckpointProof),
    /// `M_{i,j}` in the step root of step `i`.
    Op(OpRootProof),
}

impl StateProof {
    /// The memory root it proves.
    pub fn memory_root(&self) -> &Hash32 {
        match self {
            StateProof::Checkpoint(p) => &p.root,
            StateProof::Op(p) => &p.root,
        }
    }

    /// Checks it against its anchor: a trace root for a checkpoint, a step root for an
    /// operator boundary.
    pub fn verify(&self, anchor: &Hash32) -> Result<(), VerifyError> {
        match self {
            StateProof::Checkpoint(p) => p.verify(anchor),
            StateProof::Op(p) => p.verify(anchor),
        }
    }
}

/// One element of one slot at one point of the execution, proven all the way up to a
/// trace root (or a step root): state, slot, chunk, element.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementOpening {
    /// The memory root of the state, in its anchor.
    pub state: StateProof,
    /// The slot's root in that memory.
    pub slot: SlotProof,
    /// The chunk holding the element, in the slot's root.
    pub chunk: ChunkProof,
    /// Element index in the tensor (row-major).
    pub index: u64,
    /// The element.
    pub value: i32,
}

impl ElementOpening {
    /// Checks every link: the state against `anchor` (trace root, or step root for an
    /// operator boundary), the slot against the state, the chunk against the slot, and
    /// the value against the chunk.
    pub fn verify(&self, anchor: &Hash32) -> Result<(), VerifyError> {
        self.state.verify(anchor)?;
        self.slot.verify(self.state.memory_root())?;
        self.chunk.verify(&self.slot.root)?;
        let c = CHUNK_ELEMENTS as u64;
        if self.index / c != self.chunk.chunk {
            return Err(VerifyError::Mismatch(format!(
                "element {} lies in chunk {}, the proof opens chunk {}",
                self.index,
                self.index / c,
                self.chunk.chunk
            )));
        }
        let len = self.chunk.tensor_len();
        if self.index >= len {
            return Err(VerifyError::IndexOutOfRange { what: "element", index: self.index, leaves: len });
        }
        let in_chunk = self.chunk.values[(self.index % c) as usize];
        if in_chunk != self.value {
            return Err(VerifyError::Mismatch(format!(
                "element {} is {in_chunk} in the opened chunk, the opening claims {}",
                self.index, self.value
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::{memory_root, step_root, tensor_root, trace_root};

    fn hashes(n: usize, salt: u8) -> Vec<Hash32> {
        (0..n).map(|i| Hash32::of(&[salt, i as u8, (i >> 8) as u8])).collect()
    }

    #[test]
    fn each_proof_verifies_for_every_index() {
        for n in [1usize, 2, 3, 5, 8, 13] {
            let leaves = hashes(n, 1);
            let lv = merkle::levels(leaves.clone());
            let (tr, sr, mr) = (trace_root(&leaves), step_root(9, &leaves), memory_root(&leaves));
            for (i, leaf) in leaves.iter().enumerate() {
                let siblings = merkle::path(&lv, i as u64);
                let cp = CheckpointProof { step: i as u64, count: n as u64, root: *leaf, siblings: siblings.clone() };
                cp.verify(&tr).unwrap();
                let op =
                    OpRootProof { step: 9, op: i as u32, count: n as u32, root: *leaf, siblings: siblings.clone() };
                op.verify(&sr).unwrap();
                assert!(OpRootProof { step: 8, ..op }.verify(&sr).is_err(), "the step is bound");
                SlotProof { slot: i as u32, count: n as u32, root: *leaf, siblings }.verify(&mr).unwrap();
            }
        }
    }

    #[test]
    fn chunk_proof_checks_length_of_last_chunk() {
        let v: Vec<i32> = (0..(CHUNK_ELEMENTS as i32 + 3)).collect();
        let shape = vec![v.len() as u32];
        let root = tensor_root(&shape, &v).unwrap();
        let lv = merkle::levels(crate::commit::chunk_leaves(&v));
        let p = ChunkProof {
            shape: shape.clone(),
            chunk: 1,
            values: v[CHUNK_ELEMENTS..].to_vec(),
            siblings: merkle::path(&lv, 1),
        };
        p.verify(&root).unwrap();
        let mut long = p.clone();
        long.values.push(0);
        assert!(matches!(long.verify(&root), Err(VerifyError::Malformed(_))));
        let mut past = p.clone();
        past.chunk = 2;
        assert!(matches!(past.verify(&root), Err(VerifyError::IndexOutOfRange { .. })));
    }
}
