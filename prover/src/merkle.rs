//! The keccak256 binary Merkle tree every commitment is built from (`docs/protocol.md`).
//!
//! A tree over `n >= 1` leaves has depth `d = ceil(log2 n)` and `2^d` leaf positions;
//! positions `n..2^d` hold the zero word. An inner node is
//! `keccak256(0x01 ‖ left ‖ right)`, always, including over padding, so a path is
//! exactly `d` siblings whatever the index. Leaves are themselves tagged hashes
//! (see [`Tag`]), so no leaf can be read as an inner node or the other way round.

use std::{collections::HashMap, hash::BuildHasherDefault};

use gavel_executor::Hash32;
use tiny_keccak::{Hasher, Keccak};

use crate::keccak;

/// Domain tags: the first byte of every preimage the scheme hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    /// A chunk of tensor elements (a leaf of a tensor tree).
    Chunk = 0x00,
    /// An inner node of any tree.
    Node = 0x01,
    /// A tensor (slot) root: shape and the root of its chunk tree.
    Tensor = 0x02,
    /// A memory root: slot count and the root of the slot tree.
    Memory = 0x03,
    /// A trace root: checkpoint count and the root of the checkpoint tree.
    Trace = 0x04,
    /// A step root: step number, op-level root count and the root of their tree.
    Step = 0x05,
}

/// keccak256 of `tag ‖ parts...`.
pub(crate) fn hash_tagged(tag: Tag, parts: &[&[u8]]) -> Hash32 {
    let mut k = Keccak::v256();
    k.update(&[tag as u8]);
    for p in parts {
        k.update(p);
    }
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    Hash32(out)
}

/// An inner node.
#[inline]
pub(crate) fn node(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut buf = [0u8; 65];
    buf[0] = Tag::Node as u8;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    let mut k = Keccak::v256();
    k.update(&buf);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    Hash32(out)
}

/// Largest supported depth (a tree of `2^64` leaves).
pub(crate) const MAX_DEPTH: usize = 64;

/// `ZEROS[h]`: the root of a subtree of height `h` whose leaves are all padding.
fn zeros() -> &'static [Hash32; MAX_DEPTH + 1] {
    static ZEROS: std::sync::OnceLock<[Hash32; MAX_DEPTH + 1]> = std::sync::OnceLock::new();
    ZEROS.get_or_init(|| {
        let mut z = [Hash32::default(); MAX_DEPTH + 1];
        for h in 1..=MAX_DEPTH {
            z[h] = node(&z[h - 1], &z[h - 1]);
        }
        z
    })
}

/// Depth of a tree over `n` leaves: `ceil(log2 n)`, 0 for one leaf.
pub(crate) fn depth(n: u64) -> usize {
    if n <= 1 { 0 } else { (64 - (n - 1).leading_zeros()) as usize }
}

/// The root of the tree over `leaves` (the zero word for no leaves).
pub(crate) fn root(leaves: &[Hash32]) -> Hash32 {
    match leaves.len() {
        0 => Hash32::default(),
        1 => leaves[0],
        _ => {
            let mut level = pair_up(leaves, 0);
            let mut h = 1;
            while level.len() > 1 {
                level = pair_up(&level, h);
                h += 1;
            }
            level[0]
        }
    }
}

/// Every level of the tree, leaves first, root last (for proofs).
pub(crate) fn levels(leaves: Vec<Hash32>) -> Vec<Vec<Hash32>> {
    let mut out = vec![leaves];
    let mut h = 0;
    while out[h].len() > 1 {
        let next = pair_up(&out[h], h);
        out.push(next);
        h += 1;
    }
    out
}

/// The next level up from `level`, which sits at height `h` (its nodes hashed as one
/// batch, [`keccak::hash_many`]).
fn pair_up(level: &[Hash32], h: usize) -> Vec<Hash32> {
    let pad = zeros()[h];
    let pairs: Vec<[u8; 64]> = level.chunks(2).map(|p| concat(&p[0], p.get(1).unwrap_or(&pad))).collect();
    let mut out = vec![Hash32::default(); pairs.len()];
    hash_pairs(&pairs, &mut out);
    out
}

/// `left ‖ right`: the body of an inner node's preimage.
fn concat(left: &Hash32, right: &Hash32) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[..32].copy_from_slice(&left.0);
    b[32..].copy_from_slice(&right.0);
    b
}

/// Inner nodes of the given children, as one batch.
fn hash_pairs(pairs: &[[u8; 64]], out: &mut [Hash32]) {
    let bodies: Vec<&[u8]> = pairs.iter().map(|p| p.as_slice()).collect();
    keccak::hash_many(Tag::Node as u8, &bodies, out);
}

/// Reduces each of several trees to its root, in place: `trees[t]` holds tree `t`'s
/// leaves (at least one) and is left holding its root alone. The nodes of one height
/// are hashed as one batch across all the trees.
pub(crate) fn roots_many(trees: &mut [Vec<Hash32>]) {
    reduce(trees, None);
}

/// Inner nodes by their children (`left ‖ right`): a node is a function of its children
/// alone, so one computed before can be taken again instead of hashed.
pub(crate) type NodeMemo = HashMap<[u8; 64], Hash32, BuildHasherDefault<ChildWords>>;

/// [`roots_many`], taking from `memo` every node it holds and hashing only the others;
/// `memo` is left holding the nodes of these trees. For trees that change in a few
/// leaves from one call to the next (the slot trees of consecutive steps), most nodes
/// are hashed once.
pub(crate) fn roots_many_memo(trees: &mut [Vec<Hash32>], memo: &mut NodeMemo) {
    reduce(trees, Some(memo));
}

fn reduce(trees: &mut [Vec<Hash32>], memo: Option<&mut NodeMemo>) {
    let mut pairs: Vec<[u8; 64]> = Vec::new();
    let mut out: Vec<Hash32> = Vec::new();
    let mut seen = NodeMemo::with_capacity_and_hasher(memo.as_ref().map_or(0, |m| m.len()), Default::default());
    for pad in zeros() {
        pairs.clear();
        for t in trees.iter().filter(|t| t.len() > 1) {
            pairs.extend(t.chunks(2).map(|p| concat(&p[0], p.get(1).unwrap_or(pad))));
        }
        if pairs.is_empty() {
            break;
        }
        out.clear();
        out.resize(pairs.len(), Hash32::default());
        match memo.as_deref() {
            None => hash_pairs(&pairs, &mut out),
            Some(known) => {
                let mut missing: Vec<[u8; 64]> = Vec::new();
                for p in &pairs {
                    if !seen.contains_key(p) {
                        match known.get(p) {
                            Some(h) => seen.insert(*p, *h),
                            None => {
                                missing.push(*p);
                                seen.insert(*p, Hash32::default())
                            }
                        };
                    }
                }
                let mut hashed = vec![Hash32::default(); missing.len()];
                hash_pairs(&missing, &mut hashed);
                seen.extend(missing.into_iter().zip(hashed));
                for (o, p) in out.iter_mut().zip(&pairs) {
                    *o = seen[p];
                }
            }
        }
        let mut next = out.iter();
        for t in trees.iter_mut().filter(|t| t.len() > 1) {
            let n = t.len().div_ceil(2);
            t.clear();
            t.extend(next.by_ref().take(n));
        }
    }
    if let Some(memo) = memo {
        *memo = seen;
    }
}

/// The hasher of [`NodeMemo`]: its keys are two keccak digests, already uniform, so the
/// first 8 bytes of each make the hash.
#[derive(Default)]
pub(crate) struct ChildWords(u64);

impl std::hash::Hasher for ChildWords {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // The key's bytes come in one call of 64; the slice length before them is skipped.
        if let (Some(l), Some(r)) = (bytes.get(..8), bytes.get(32..40)) {
            let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
            self.0 = word(l) ^ word(r).rotate_left(29);
        }
    }
}

/// The siblings of leaf `index`, bottom up, from [`levels`].
pub(crate) fn path(levels: &[Vec<Hash32>], index: u64) -> Vec<Hash32> {
    let z = zeros();
    (0..levels.len() - 1)
        .map(|h| {
            let sibling = ((index >> h) ^ 1) as usize;
            levels[h].get(sibling).copied().unwrap_or(z[h])
        })
        .collect()
}

/// The root that `leaf` at `index` and its `siblings` hash up to.
pub(crate) fn fold_path(leaf: Hash32, index: u64, siblings: &[Hash32]) -> Hash32 {
    siblings.iter().enumerate().fold(
        leaf,
        |acc, (h, s)| {
            if (index >> h) & 1 == 0 { node(&acc, s) } else { node(s, &acc) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n).map(|i| hash_tagged(Tag::Chunk, &[&(i as u32).to_le_bytes()])).collect()
    }

    #[test]
    fn depth_is_ceil_log2() {
        let cases = [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4), (1 << 20, 20), ((1 << 20) + 1, 21)];
        for (n, d) in cases {
            assert_eq!(depth(n), d, "n = {n}");
        }
        assert_eq!(depth(u64::MAX), 64);
    }

    #[test]
    fn padding_is_zero_leaves() {
        for n in 1..20 {
            let l = leaves(n);
            let mut padded = l.clone();
            padded.resize(n.next_power_of_two(), Hash32::default());
            // A full tree needs no padding; compare against the plain pairwise fold.
            let mut level = padded;
            while level.len() > 1 {
                level = level.chunks(2).map(|p| node(&p[0], &p[1])).collect();
            }
            assert_eq!(root(&l), level[0], "n = {n}");
            assert_eq!(levels(l.clone()).last().unwrap()[0], level[0]);
        }
    }

    #[test]
    fn every_path_folds_to_the_root() {
        for n in 1..40u64 {
            let l = leaves(n as usize);
            let lv = levels(l.clone());
            let r = root(&l);
            for i in 0..n {
                let p = path(&lv, i);
                assert_eq!(p.len(), depth(n));
                assert_eq!(fold_path(l[i as usize], i, &p), r, "n = {n}, i = {i}");
            }
        }
    }

    #[test]
    fn roots_many_is_root_of_each() {
        let mut trees: Vec<Vec<Hash32>> = [1usize, 2, 3, 5, 8, 9, 17, 1, 33].iter().map(|&n| leaves(n)).collect();
        let expected: Vec<Hash32> = trees.iter().map(|t| root(t)).collect();
        roots_many(&mut trees);
        assert_eq!(trees, expected.iter().map(|r| vec![*r]).collect::<Vec<_>>());
        roots_many(&mut []);
    }

    #[test]
    fn node_matches_tagged_hash() {
        let (a, b) = (Hash32::of(b"a"), Hash32::of(b"b"));
        assert_eq!(node(&a, &b), hash_tagged(Tag::Node, &[&a.0, &b.0]));
        assert_ne!(node(&a, &b), node(&b, &a));
    }
}
