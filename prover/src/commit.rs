//! Roots: tensors, memories, traces and the op-level roots of one step.

use gavel_executor::{Hash32, Memory, Program, SlotId};
use rayon::prelude::*;

use crate::{
    error::{Error, Result},
    merkle::{self, Tag},
};

/// Elements per chunk, the leaves of a tensor tree (2 KiB of little-endian `i32`).
pub const CHUNK_ELEMENTS: usize = 512;

/// Largest tensor rank the commitment encodes (the program format allows 1 to 3).
pub const MAX_RANK: usize = 3;

/// Tensors with at least this many chunks hash their chunks in parallel.
const PAR_CHUNKS: usize = 16;

/// The leaf of one chunk: `keccak256(0x00 ‖ little-endian bytes of its elements)`.
pub(crate) fn chunk_leaf(values: &[i32]) -> Hash32 {
    #[cfg(target_endian = "little")]
    {
        merkle::hash_tagged(Tag::Chunk, &[bytemuck::cast_slice(values)])
    }
    #[cfg(not(target_endian = "little"))]
    {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        merkle::hash_tagged(Tag::Chunk, &[&bytes])
    }
}

/// The leaves of a tensor's chunk tree.
pub(crate) fn chunk_leaves(values: &[i32]) -> Vec<Hash32> {
    if values.len() >= PAR_CHUNKS * CHUNK_ELEMENTS {
        values.par_chunks(CHUNK_ELEMENTS).map(chunk_leaf).collect()
    } else {
        values.chunks(CHUNK_ELEMENTS).map(chunk_leaf).collect()
    }
}

/// Number of chunks of a tensor of `len` elements.
pub fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK_ELEMENTS as u64)
}

/// Number of elements of a shape, or an error if the commitment cannot encode it
/// (rank outside `1..=3`, a zero dimension).
pub(crate) fn shape_len(shape: &[u32]) -> Result<u64> {
    if shape.is_empty() || shape.len() > MAX_RANK || shape.contains(&0) {
        return Err(Error::Shape { shape: shape.to_vec(), msg: "must have 1 to 3 non-zero dimensions".into() });
    }
    Ok(shape.iter().map(|&d| d as u64).product())
}

/// `keccak256(0x02 ‖ d0 ‖ d1 ‖ d2 ‖ data_root)`, dimensions as big-endian `u32`,
/// absent ones 0.
pub(crate) fn wrap_tensor(shape: &[u32], data_root: &Hash32) -> Hash32 {
    let mut dims = [0u8; 4 * MAX_RANK];
    for (i, d) in shape.iter().enumerate() {
        dims[4 * i..4 * i + 4].copy_from_slice(&d.to_be_bytes());
    }
    merkle::hash_tagged(Tag::Tensor, &[&dims, &data_root.0])
}

/// The root of a tensor of the given shape: its chunk tree, bound to the shape.
pub fn tensor_root(shape: &[u32], values: &[i32]) -> Result<Hash32> {
    let len = shape_len(shape)?;
    if len != values.len() as u64 {
        return Err(Error::Shape {
            shape: shape.to_vec(),
            msg: format!("has {len} elements but the tensor has {}", values.len()),
        });
    }
    Ok(wrap_tensor(shape, &merkle::root(&chunk_leaves(values))))
}

/// `keccak256(0x03 ‖ slot count (u32 BE) ‖ root of the slot tree)`.
pub fn memory_root(slot_roots: &[Hash32]) -> Hash32 {
    merkle::hash_tagged(Tag::Memory, &[&(slot_roots.len() as u32).to_be_bytes(), &merkle::root(slot_roots).0])
}

/// `keccak256(0x04 ‖ checkpoint count (u64 BE) ‖ root of the checkpoint tree)` over
/// `h_0..h_N`.
pub fn trace_root(checkpoints: &[Hash32]) -> Hash32 {
    wrap_trace(checkpoints.len() as u64, &merkle::root(checkpoints))
}

pub(crate) fn wrap_trace(count: u64, tree: &Hash32) -> Hash32 {
    merkle::hash_tagged(Tag::Trace, &[&count.to_be_bytes(), &tree.0])
}

/// `keccak256(0x05 ‖ step (u64 BE) ‖ root count (u32 BE) ‖ root of the op-level tree)`
/// over `M_{i,0..K}`.
pub fn step_root(step: u64, op_roots: &[Hash32]) -> Hash32 {
    wrap_step(step, op_roots.len() as u32, &merkle::root(op_roots))
}

pub(crate) fn wrap_step(step: u64, count: u32, tree: &Hash32) -> Hash32 {
    merkle::hash_tagged(Tag::Step, &[&step.to_be_bytes(), &count.to_be_bytes(), &tree.0])
}

pub(crate) fn wrap_memory(count: u32, tree: &Hash32) -> Hash32 {
    merkle::hash_tagged(Tag::Memory, &[&count.to_be_bytes(), &tree.0])
}

/// The slot roots of a memory, kept up to date one slot at a time, so a step only
/// re-hashes the slots it wrote.
#[derive(Clone, Debug)]
pub struct MemoryRoots {
    shapes: Vec<Vec<u32>>,
    roots: Vec<Hash32>,
}

impl MemoryRoots {
    /// Hashes every slot of `memory` (slots in parallel).
    pub fn new(program: &Program, memory: &Memory) -> Result<Self> {
        let shapes: Vec<Vec<u32>> = program.slots.iter().map(|s| s.shape.clone()).collect();
        if memory.len() != shapes.len() {
            return Err(Error::Inconsistent(format!(
                "memory has {} slots, the program {}",
                memory.len(),
                shapes.len()
            )));
        }
        let roots = (0..shapes.len())
            .into_par_iter()
            .map(|i| tensor_root(&shapes[i], memory.slot(i as SlotId)))
            .collect::<Result<_>>()?;
        Ok(Self { shapes, roots })
    }

    /// Re-hashes one slot after it was written.
    pub fn update(&mut self, slot: SlotId, values: &[i32]) -> Result<()> {
        let shape = self.shapes.get(slot as usize).ok_or(Error::NoSuchSlot { slot, slots: self.shapes.len() })?;
        self.roots[slot as usize] = tensor_root(shape, values)?;
        Ok(())
    }

    /// Re-hashes several written slots (in parallel).
    pub fn update_many(&mut self, slots: &[(SlotId, &[i32])]) -> Result<()> {
        let new: Vec<Hash32> = slots
            .par_iter()
            .map(|(id, values)| {
                let shape =
                    self.shapes.get(*id as usize).ok_or(Error::NoSuchSlot { slot: *id, slots: self.shapes.len() })?;
                tensor_root(shape, values)
            })
            .collect::<Result<_>>()?;
        for ((id, _), root) in slots.iter().zip(new) {
            self.roots[*id as usize] = root;
        }
        Ok(())
    }

    /// Every slot's root, in slot order.
    pub fn slot_roots(&self) -> &[Hash32] {
        &self.roots
    }

    /// The memory root.
    pub fn root(&self) -> Hash32 {
        memory_root(&self.roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_root_binds_shape_and_length() {
        let v: Vec<i32> = (0..12).collect();
        let a = tensor_root(&[12], &v).unwrap();
        let b = tensor_root(&[3, 4], &v).unwrap();
        let c = tensor_root(&[4, 3], &v).unwrap();
        let d = tensor_root(&[12, 1], &v).unwrap();
        assert!(a != b && b != c && a != d && b != d && c != d);
        // A shorter tensor that is a prefix, or one with trailing zeros, differs too.
        assert_ne!(tensor_root(&[11], &v[..11]).unwrap(), a);
        let mut z = v.clone();
        z.push(0);
        assert_ne!(tensor_root(&[13], &z).unwrap(), a);
        assert!(tensor_root(&[5], &v).is_err());
        assert!(tensor_root(&[], &[]).is_err());
        assert!(tensor_root(&[1, 1, 1, 12], &v).is_err());
    }

    #[test]
    fn chunk_leaves_split_at_chunk_size() {
        let v: Vec<i32> = (0..(3 * CHUNK_ELEMENTS as i32 + 5)).collect();
        let leaves = chunk_leaves(&v);
        assert_eq!(leaves.len(), 4);
        assert_eq!(leaves[3], chunk_leaf(&v[3 * CHUNK_ELEMENTS..]));
        let bytes: Vec<u8> =
            std::iter::once(0u8).chain(v[..CHUNK_ELEMENTS].iter().flat_map(|x| x.to_le_bytes())).collect();
        assert_eq!(leaves[0], Hash32::of(&bytes));
        // The parallel path gives the same leaves.
        let big: Vec<i32> = (0..(PAR_CHUNKS * CHUNK_ELEMENTS + 7) as i32).collect();
        let seq: Vec<Hash32> = big.chunks(CHUNK_ELEMENTS).map(chunk_leaf).collect();
        assert_eq!(chunk_leaves(&big), seq);
    }
}
