//! Property tests: the commitment against a from-the-spec reference over random
//! tensors and shapes, and proofs for random chunks.

use gavel_executor::Hash32;
use gavel_prover::{CHUNK_ELEMENTS, ChunkProof, SlotProof, memory_root, tensor_root};
use proptest::prelude::*;

/// `docs/protocol.md`, written out the slow way: pad to a power of two with zero
/// words, hash pairs with 0x01, wrap with 0x02 and the shape.
fn reference_root(shape: &[u32], values: &[i32]) -> Hash32 {
    let mut level: Vec<Hash32> = values
        .chunks(CHUNK_ELEMENTS)
        .map(|c| {
            let mut pre = vec![0x00u8];
            c.iter().for_each(|v| pre.extend_from_slice(&v.to_le_bytes()));
            Hash32::of(&pre)
        })
        .collect();
    level.resize(level.len().next_power_of_two(), Hash32::default());
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                let mut pre = vec![0x01u8];
                pre.extend_from_slice(&p[0].0);
                pre.extend_from_slice(&p[1].0);
                Hash32::of(&pre)
            })
            .collect();
    }
    let mut pre = vec![0x02u8];
    for i in 0..3 {
        pre.extend_from_slice(&shape.get(i).copied().unwrap_or(0).to_be_bytes());
    }
    pre.extend_from_slice(&level[0].0);
    Hash32::of(&pre)
}

/// A shape of rank 1 to 3 with at most `4 * CHUNK_ELEMENTS + 100` elements, and values.
fn tensor() -> impl Strategy<Value = (Vec<u32>, Vec<i32>)> {
    prop::collection::vec(1u32..64, 1..=3)
        .prop_filter("not too large", |s| s.iter().product::<u32>() as usize <= 4 * CHUNK_ELEMENTS + 100)
        .prop_flat_map(|shape| {
            let n = shape.iter().product::<u32>() as usize;
            (Just(shape), prop::collection::vec(any::<i32>(), n))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn tensor_root_matches_the_reference((shape, values) in tensor()) {
        prop_assert_eq!(tensor_root(&shape, &values).unwrap(), reference_root(&shape, &values));
    }

    #[test]
    fn every_chunk_proves_and_no_other_tensor_shares_the_root(
        (shape, values) in tensor(),
        pick in any::<prop::sample::Index>(),
        delta in 1i32..,
    ) {
        let root = tensor_root(&shape, &values).unwrap();
        let chunks = values.len().div_ceil(CHUNK_ELEMENTS);
        for c in 0..chunks as u64 {
            let p = ChunkProof::new(&shape, &values, c).unwrap();
            prop_assert!(p.verify(&root).is_ok());
        }
        // One element changed, one element appended, or the same values reshaped.
        let i = pick.index(values.len());
        let mut changed = values.clone();
        changed[i] = changed[i].wrapping_add(delta);
        prop_assert_ne!(tensor_root(&shape, &changed).unwrap(), root);
        let mut longer = values.clone();
        longer.push(0);
        prop_assert_ne!(tensor_root(&[longer.len() as u32], &longer).unwrap(), root);
        if shape.len() > 1 || values.len() > 1 {
            let flat = [values.len() as u32];
            let other = if shape.as_slice() == flat { vec![1, values.len() as u32] } else { flat.to_vec() };
            prop_assert_ne!(tensor_root(&other, &values).unwrap(), root);
        }
    }

    #[test]
    fn slot_proofs_verify_for_any_memory(
        roots in prop::collection::vec(any::<[u8; 32]>().prop_map(Hash32), 1..70),
        pick in any::<prop::sample::Index>(),
    ) {
        let mr = memory_root(&roots);
        let i = pick.index(roots.len()) as u32;
        let p = SlotProof::new(&roots, i).unwrap();
        prop_assert!(p.verify(&mr).is_ok());
        prop_assert_eq!(p.root, roots[i as usize]);
        let mut fewer = p.clone();
        fewer.count = fewer.count.saturating_sub(1).max(1);
        if fewer.count != p.count {
            prop_assert!(fewer.verify(&mr).is_err());
        }
    }
}
