//! Program memory (the values of every slot) and content-addressed inputs.

use std::{collections::HashMap, sync::Arc};

use crate::{
    error::{InputError, Result},
    hash::Hash32,
    program::{Program, SlotId, SlotKind},
};

/// Content-addressed input tensors, keyed by the keccak256 of their bytes.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    tensors: HashMap<Hash32, Arc<Vec<i32>>>,
}

impl Inputs {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tensor and returns its address.
    pub fn insert(&mut self, values: Vec<i32>) -> Hash32 {
        let hash = Hash32::of_tensor(&values);
        self.tensors.insert(hash, Arc::new(values));
        hash
    }

    /// Adds a tensor received under `hash`, checking that the hash is right.
    pub fn insert_checked(&mut self, hash: Hash32, values: Vec<i32>) -> Result<()> {
        let actual = Hash32::of_tensor(&values);
        if actual != hash {
            return Err(InputError::HashMismatch { expected: hash, actual }.into());
        }
        self.tensors.insert(hash, Arc::new(values));
        Ok(())
    }

    /// The tensor stored under `hash`.
    pub fn get(&self, hash: &Hash32) -> Option<&Arc<Vec<i32>>> {
        self.tensors.get(hash)
    }

    /// Every stored address.
    pub fn hashes(&self) -> impl Iterator<Item = &Hash32> {
        self.tensors.keys()
    }
}

/// The value of every slot of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    slots: Vec<Arc<Vec<i32>>>,
}

impl Memory {
    /// The memory before step 0: constants and initial values from `inputs`, zeros
    /// elsewhere. Fails if an input is missing or has the wrong length.
    pub fn initial(program: &Program, inputs: &Inputs) -> Result<Self> {
        let mut slots = Vec::with_capacity(program.slots.len());
        for slot in &program.slots {
            let hash = match &slot.kind {
                SlotKind::Const { data } => Some(data),
                SlotKind::Var { init } => init.as_ref(),
            };
            let values = match hash {
                None => Arc::new(vec![0; slot.len()]),
                Some(hash) => {
                    let t =
                        inputs.get(hash).ok_or_else(|| InputError::Missing { slot: slot.name.clone(), hash: *hash })?;
                    if t.len() != slot.len() {
                        return Err(InputError::Length {
                            slot: slot.name.clone(),
                            hash: *hash,
                            expected: slot.len(),
                            actual: t.len(),
                        }
                        .into());
                    }
                    Arc::clone(t)
                }
            };
            slots.push(values);
        }
        Ok(Self { slots })
    }

    /// Builds a memory from explicit slot values (lengths are the caller's business).
    pub fn from_slots(slots: Vec<Vec<i32>>) -> Self {
        Self { slots: slots.into_iter().map(Arc::new).collect() }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no slots.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The values of one slot.
    pub fn slot(&self, id: SlotId) -> &[i32] {
        &self.slots[id as usize]
    }

    /// Mutable values of one slot (copied first if shared).
    pub fn slot_mut(&mut self, id: SlotId) -> &mut Vec<i32> {
        Arc::make_mut(&mut self.slots[id as usize])
    }

    /// Whether every element of one slot is 0.
    pub fn slot_is_zero(&self, id: SlotId) -> bool {
        all_zero(self.slot(id))
    }

    /// Replaces one slot's values.
    pub fn set_slot(&mut self, id: SlotId, values: Vec<i32>) {
        self.slots[id as usize] = Arc::new(values);
    }

    /// Every slot's little-endian bytes, concatenated in slot order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * self.slots.iter().map(|s| s.len()).sum::<usize>());
        for v in self.slots.iter().flat_map(|s| s.iter()) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// keccak256 of [`Memory::to_bytes`].
    pub fn digest(&self) -> Hash32 {
        Hash32::of(&self.to_bytes())
    }
}

/// Whether every value is 0: an OR over blocks (which vectorises, unlike a test per
/// element that may stop early), stopping at the first block that is not.
pub(crate) fn all_zero(values: &[i32]) -> bool {
    values.chunks(256).all(|block| block.iter().fold(0, |acc, &v| acc | v) == 0)
}

#[cfg(test)]
mod tests {
    use super::all_zero;

    #[test]
    fn all_zero_sees_any_non_zero_element_in_any_block() {
        assert!(all_zero(&[]));
        for len in [1, 255, 256, 257, 600] {
            let mut v = vec![0; len];
            assert!(all_zero(&v));
            for i in 0..len {
                for x in [1, -1, i32::MIN, i32::MAX, 1 << 16] {
                    v[i] = x;
                    assert!(!all_zero(&v), "{x} at {i} of {len}");
                }
                v[i] = 0;
            }
        }
    }
}
