//! Roots: tensors, memories, traces and the op-level roots of one step.

use std::borrow::Cow;

use gavel_executor::{Hash32, Memory, Program, SlotId};
use rayon::prelude::*;

use crate::{
    error::{Error, Result},
    keccak,
    merkle::{self, Tag},
};

/// Elements per chunk, the leaves of a tensor tree (2 KiB of little-endian `i32`).
pub const CHUNK_ELEMENTS: usize = 512;

/// Largest tensor rank the commitment encodes (the program format allows 1 to 3).
pub const MAX_RANK: usize = 3;

/// Hashing runs on the current rayon pool from this many chunk leaves up.
const PAR_CHUNKS: usize = 2 * keccak::LANES;

/// Bytes per full chunk.
const CHUNK_BYTES: usize = 4 * CHUNK_ELEMENTS;

/// The little-endian bytes of `values` (borrowed where that is the memory layout).
fn le_bytes(values: &[i32]) -> Cow<'_, [u8]> {
    #[cfg(target_endian = "little")]
    {
        Cow::Borrowed(bytemuck::cast_slice(values))
    }
    #[cfg(not(target_endian = "little"))]
    {
        Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

/// The leaf of one chunk: `keccak256(0x00 ‖ little-endian bytes of its elements)`.
pub(crate) fn chunk_leaf(values: &[i32]) -> Hash32 {
    keccak::hash_one(Tag::Chunk as u8, &le_bytes(values))
}

/// Where a batch of hashes runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum On {
    /// The calling thread only.
    ThisThread,
    /// The current rayon pool (the global one outside any other), when there is enough
    /// work to share.
    Pool,
}

/// The leaves of the chunks whose little-endian bytes are `chunks`, as one batch.
fn leaves_of(chunks: &[&[u8]], on: On) -> Vec<Hash32> {
    let mut out = vec![Hash32::default(); chunks.len()];
    if on == On::Pool && chunks.len() >= PAR_CHUNKS && rayon::current_num_threads() > 1 {
        chunks
            .par_chunks(keccak::LANES)
            .zip(out.par_chunks_mut(keccak::LANES))
            .for_each(|(c, o)| keccak::hash_many(Tag::Chunk as u8, c, o));
    } else {
        keccak::hash_many(Tag::Chunk as u8, chunks, &mut out);
    }
    out
}

/// The leaves of a tensor's chunk tree.
pub(crate) fn chunk_leaves(values: &[i32]) -> Vec<Hash32> {
    let bytes = le_bytes(values);
    leaves_of(&bytes.chunks(CHUNK_BYTES).collect::<Vec<_>>(), On::Pool)
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
    keccak::hash_one(Tag::Tensor as u8, &wrap_body(shape, data_root))
}

/// `d0 ‖ d1 ‖ d2 ‖ data_root`: the preimage of a tensor root after its tag.
fn wrap_body(shape: &[u32], data_root: &Hash32) -> [u8; 4 * MAX_RANK + 32] {
    let mut body = [0u8; 4 * MAX_RANK + 32];
    for (i, d) in shape.iter().enumerate() {
        body[4 * i..4 * i + 4].copy_from_slice(&d.to_be_bytes());
    }
    body[4 * MAX_RANK..].copy_from_slice(&data_root.0);
    body
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

/// The roots of several tensors (shape, elements), computed together: the chunk leaves
/// of all of them form one batch, then the tree nodes of each height, then the shape
/// wrappers, so that equal-length preimages are hashed several at a time
/// (`keccak::hash_many`). Each root is what [`tensor_root`] gives.
pub(crate) fn tensor_roots(tensors: &[(&[u32], &[i32])], on: On) -> Result<Vec<Hash32>> {
    for (shape, values) in tensors {
        let len = shape_len(shape)?;
        if len != values.len() as u64 {
            return Err(Error::Shape {
                shape: shape.to_vec(),
                msg: format!("has {len} elements but the tensor has {}", values.len()),
            });
        }
    }
    let bytes: Vec<Cow<'_, [u8]>> = tensors.iter().map(|(_, v)| le_bytes(v)).collect();
    let chunks: Vec<&[u8]> = bytes.iter().flat_map(|b| b.chunks(CHUNK_BYTES)).collect();
    let mut leaves = leaves_of(&chunks, on).into_iter();
    let mut trees: Vec<Vec<Hash32>> =
        bytes.iter().map(|b| leaves.by_ref().take(b.len().div_ceil(CHUNK_BYTES)).collect()).collect();
    merkle::roots_many(&mut trees);
    let wraps: Vec<[u8; 4 * MAX_RANK + 32]> =
        tensors.iter().zip(&trees).map(|((shape, _), tree)| wrap_body(shape, &tree[0])).collect();
    let bodies: Vec<&[u8]> = wraps.iter().map(|w| w.as_slice()).collect();
    let mut roots = vec![Hash32::default(); tensors.len()];
    keccak::hash_many(Tag::Tensor as u8, &bodies, &mut roots);
    Ok(roots)
}

/// `keccak256(0x03 ‖ slot count (u32 BE) ‖ root of the slot tree)`.
pub fn memory_root(slot_roots: &[Hash32]) -> Hash32 {
    merkle::hash_tagged(Tag::Memory, &[&(slot_roots.len() as u32).to_be_bytes(), &merkle::root(slot_roots).0])
}

/// The memory roots of several memories given by their slot roots (each at least one
/// slot), computed together: the slot trees' nodes of each height as one batch (those
/// `memo` holds taken from it, [`merkle::roots_many_memo`]), then the wrappers. Each is
/// what [`memory_root`] gives.
pub(crate) fn memory_roots_many(mut slot_roots: Vec<Vec<Hash32>>, memo: &mut merkle::NodeMemo) -> Vec<Hash32> {
    let counts: Vec<u32> = slot_roots.iter().map(|r| r.len() as u32).collect();
    merkle::roots_many_memo(&mut slot_roots, memo);
    let bodies: Vec<[u8; 36]> = counts
        .iter()
        .zip(&slot_roots)
        .map(|(count, tree)| {
            let mut body = [0u8; 36];
            body[..4].copy_from_slice(&count.to_be_bytes());
            body[4..].copy_from_slice(&tree[0].0);
            body
        })
        .collect();
    let bodies: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
    let mut roots = vec![Hash32::default(); bodies.len()];
    keccak::hash_many(Tag::Memory as u8, &bodies, &mut roots);
    roots
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
        let tensors: Vec<(&[u32], &[i32])> =
            shapes.iter().enumerate().map(|(i, s)| (s.as_slice(), memory.slot(i as SlotId))).collect();
        let roots = tensor_roots(&tensors, On::Pool)?;
        Ok(Self { shapes, roots })
    }

    /// Re-hashes one slot after it was written.
    pub fn update(&mut self, slot: SlotId, values: &[i32]) -> Result<()> {
        let shape = self.shapes.get(slot as usize).ok_or(Error::NoSuchSlot { slot, slots: self.shapes.len() })?;
        self.roots[slot as usize] = tensor_root(shape, values)?;
        Ok(())
    }

    /// Re-hashes several written slots, as one batch (the chunks on the current rayon
    /// pool when there are many).
    pub fn update_many(&mut self, slots: &[(SlotId, &[i32])]) -> Result<()> {
        self.update_batch(slots, On::Pool)
    }

    /// [`MemoryRoots::update_many`], run where `on` says.
    pub(crate) fn update_batch(&mut self, slots: &[(SlotId, &[i32])], on: On) -> Result<()> {
        let new = self.roots_of(slots, on)?;
        for ((id, _), root) in slots.iter().zip(new) {
            self.roots[*id as usize] = root;
        }
        Ok(())
    }

    /// The roots the given slots would have with the given values (a slot may appear
    /// more than once: the values of several steps), as one batch; nothing is updated.
    pub(crate) fn roots_of(&self, slots: &[(SlotId, &[i32])], on: On) -> Result<Vec<Hash32>> {
        let tensors = slots
            .iter()
            .map(|(id, values)| {
                let shape =
                    self.shapes.get(*id as usize).ok_or(Error::NoSuchSlot { slot: *id, slots: self.shapes.len() })?;
                Ok((shape.as_slice(), *values))
            })
            .collect::<Result<Vec<_>>>()?;
        tensor_roots(&tensors, on)
    }

    /// The root of slot `slot` holding zeros.
    pub(crate) fn zero_root(&self, slot: SlotId) -> Result<Hash32> {
        let shape = self.shapes.get(slot as usize).ok_or(Error::NoSuchSlot { slot, slots: self.shapes.len() })?;
        tensor_root(shape, &vec![0; shape_len(shape)? as usize])
    }

    /// Sets one slot's root (one the caller computed: [`MemoryRoots::zero_root`]).
    pub(crate) fn set_root(&mut self, slot: SlotId, root: Hash32) {
        self.roots[slot as usize] = root;
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
    fn memory_roots_of_several_memories_at_once_are_each_memory_root() {
        let memories: Vec<Vec<Hash32>> = [1usize, 2, 3, 24, 33, 24, 1]
            .iter()
            .enumerate()
            .map(|(m, &n)| (0..n).map(|i| Hash32::of(&[m as u8, i as u8])).collect())
            .collect();
        let one_by_one: Vec<Hash32> = memories.iter().map(|m| memory_root(m)).collect();
        let mut memo = merkle::NodeMemo::default();
        assert_eq!(memory_roots_many(memories.clone(), &mut memo), one_by_one);
        assert!(!memo.is_empty());
        // Again from the nodes remembered, and with one leaf changed: nothing stale.
        assert_eq!(memory_roots_many(memories.clone(), &mut memo), one_by_one);
        let mut changed = memories;
        changed[4][17] = Hash32::of(b"changed");
        let expected: Vec<Hash32> = changed.iter().map(|m| memory_root(m)).collect();
        assert_ne!(expected[4], one_by_one[4]);
        assert_eq!(memory_roots_many(changed, &mut memo), expected);
    }

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
        // The parallel and batched paths give the same leaves.
        let big: Vec<i32> = (0..(PAR_CHUNKS * CHUNK_ELEMENTS + 7) as i32).collect();
        let seq: Vec<Hash32> = big.chunks(CHUNK_ELEMENTS).map(chunk_leaf).collect();
        assert_eq!(chunk_leaves(&big), seq);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one.install(|| chunk_leaves(&big)), seq);
    }

    #[test]
    fn tensor_roots_together_are_each_tensor_root() {
        let shapes: Vec<Vec<u32>> = vec![
            vec![1],
            vec![32],
            vec![32, 64],
            vec![64, 32],
            vec![10],
            vec![32, 10],
            vec![3, 5, 700],
            vec![513],
            vec![32, 10],
        ];
        let values: Vec<Vec<i32>> = shapes
            .iter()
            .enumerate()
            .map(|(s, shape)| {
                let n: u32 = shape.iter().product();
                (0..n as i32).map(|i| i.wrapping_mul(0x9e37_79b9u32 as i32) ^ s as i32).collect()
            })
            .collect();
        let tensors: Vec<(&[u32], &[i32])> =
            shapes.iter().zip(&values).map(|(s, v)| (s.as_slice(), v.as_slice())).collect();
        let each: Vec<Hash32> = tensors.iter().map(|(s, v)| tensor_root(s, v).unwrap()).collect();
        // The one-by-one definition: leaves, tree and wrapper, no batching anywhere.
        for ((shape, v), root) in tensors.iter().zip(&each) {
            let mut level: Vec<Hash32> = v.chunks(CHUNK_ELEMENTS).map(chunk_leaf).collect();
            level.resize(level.len().next_power_of_two(), Hash32::default());
            while level.len() > 1 {
                level = level.chunks(2).map(|p| merkle::node(&p[0], &p[1])).collect();
            }
            assert_eq!(wrap_tensor(shape, &level[0]), *root, "shape {shape:?}");
        }
        assert_eq!(tensor_roots(&tensors, On::Pool).unwrap(), each);
        assert_eq!(tensor_roots(&tensors, On::ThisThread).unwrap(), each);
        assert!(tensor_roots(&[(&[4], &[1, 2, 3])], On::Pool).is_err());
        assert!(tensor_roots(&[], On::ThisThread).unwrap().is_empty());
    }
}
