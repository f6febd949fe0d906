//! The inner nodes of a tensor's chunk tree, for the descent phase of the dispute game.
//!
//! A tensor root is `keccak(0x02 ‖ dims ‖ tree(chunk leaves))` (`docs/protocol.md`); the
//! game's `Slot` phase reveals `tree(chunk leaves)` (the *data root*) and its `Descent`
//! phase walks down that tree, each party revealing the two children of its current
//! node. [`ChunkTree`] answers those queries, padding included.

use gavel_executor::Hash32;

use crate::{commit::chunk_leaves, merkle};

/// Every level of one tensor's chunk tree, leaves (chunk leaves) first, data root last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkTree {
    levels: Vec<Vec<Hash32>>,
}

impl ChunkTree {
    /// The chunk tree of a tensor's elements (row-major; at least one element).
    pub fn new(values: &[i32]) -> Self {
        Self { levels: merkle::levels(chunk_leaves(values)) }
    }

    /// Number of chunks (leaves that are not padding).
    pub fn chunks(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The tree's depth, `ceil(log2 chunks)` (0 for one chunk).
    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// The data root: the root of the tree over the chunk leaves (what `revealSlot`
    /// takes; the tensor root wraps it with the shape).
    pub fn root(&self) -> Hash32 {
        self.node(self.depth(), 0)
    }

    /// The node at `height` (0: chunk leaves) and `index` from the left; a position past
    /// the last chunk is padding (the zero word at height 0, `Z_h` above).
    pub fn node(&self, height: usize, index: u64) -> Hash32 {
        match self.levels.get(height) {
            Some(level) => level.get(index as usize).copied().unwrap_or_else(|| zero(height)),
            None => zero(height),
        }
    }

    /// The two children of the node at `height >= 1` and `index`: what a party reveals
    /// in the descent when its current node is that one.
    pub fn children(&self, height: usize, index: u64) -> (Hash32, Hash32) {
        assert!(height >= 1, "a chunk leaf has no children");
        (self.node(height - 1, 2 * index), self.node(height - 1, 2 * index + 1))
    }
}

/// The root of a subtree of height `h` that holds only padding.
fn zero(h: usize) -> Hash32 {
    (0..h).fold(Hash32::default(), |z, _| merkle::node(&z, &z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CHUNK_ELEMENTS, tensor_root};

    #[test]
    fn nodes_hash_up_to_the_tensor_root() {
        for chunks in [1usize, 2, 3, 5, 8] {
            let len = (chunks - 1) * CHUNK_ELEMENTS + 7;
            let values: Vec<i32> = (0..len as i32).map(|i| i.wrapping_mul(7919)).collect();
            let tree = ChunkTree::new(&values);
            assert_eq!(tree.chunks(), chunks as u64);
            assert_eq!(tree.depth(), merkle::depth(chunks as u64));
            let shape = [len as u32];
            assert_eq!(crate::commit::wrap_tensor(&shape, &tree.root()), tensor_root(&shape, &values).unwrap());
            for h in 1..=tree.depth() {
                for i in 0..(1u64 << (tree.depth() - h)) {
                    let (l, r) = tree.children(h, i);
                    assert_eq!(merkle::node(&l, &r), tree.node(h, i), "chunks {chunks}, height {h}, index {i}");
                }
            }
            // Past the last chunk: padding.
            assert_eq!(tree.node(0, chunks as u64), Hash32::default());
        }
    }
}
