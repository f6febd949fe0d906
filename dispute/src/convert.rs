//! The prover's proofs and descriptors as the game's ABI structs.

use alloy::primitives::{B256, Bytes};
use gavel_chain_client::bindings::game::{DisputeGame::OpDescriptor as SolOpDescriptor, GavelMerkle};
use gavel_executor::Hash32;
use gavel_prover::{CheckpointProof, ChunkProof, OpDescriptor, OpRootProof, SlotProof};

pub(crate) fn b256(h: &Hash32) -> B256 {
    B256::from(h.0)
}

fn siblings(s: &[Hash32]) -> Vec<B256> {
    s.iter().map(b256).collect()
}

/// Elements as the bytes a chunk leaf hashes: 4 little-endian bytes each.
pub(crate) fn chunk_bytes(values: &[i32]) -> Bytes {
    values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>().into()
}

/// Element `i` of a chunk's bytes (as `GavelMerkle.elementAt`).
pub(crate) fn element_at(data: &[u8], i: usize) -> Option<i32> {
    data.get(4 * i..4 * i + 4).map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")))
}

pub(crate) fn checkpoint(p: &CheckpointProof) -> GavelMerkle::CheckpointProof {
    GavelMerkle::CheckpointProof { step: p.step, count: p.count, root: b256(&p.root), siblings: siblings(&p.siblings) }
}

/// The proof `commitStep` takes for `_end` when it ignores it.
pub(crate) fn empty_checkpoint() -> GavelMerkle::CheckpointProof {
    GavelMerkle::CheckpointProof { step: 0, count: 0, root: B256::ZERO, siblings: vec![] }
}

pub(crate) fn op_root(p: &OpRootProof) -> GavelMerkle::OpRootProof {
    GavelMerkle::OpRootProof {
        step: p.step,
        op: p.op,
        count: p.count,
        root: b256(&p.root),
        siblings: siblings(&p.siblings),
    }
}

pub(crate) fn slot(p: &SlotProof) -> GavelMerkle::SlotProof {
    GavelMerkle::SlotProof { slot: p.slot, count: p.count, root: b256(&p.root), siblings: siblings(&p.siblings) }
}

pub(crate) fn chunk(p: &ChunkProof) -> GavelMerkle::ChunkProof {
    GavelMerkle::ChunkProof {
        shape: p.shape.clone(),
        chunk: p.chunk,
        data: chunk_bytes(&p.values),
        siblings: siblings(&p.siblings),
    }
}

pub(crate) fn descriptor(d: &OpDescriptor) -> SolOpDescriptor {
    SolOpDescriptor {
        kind: d.kind,
        out: d.out,
        inputs: d.inputs.clone(),
        shapes: d.shapes.clone(),
        param: d.param,
        kChunk: d.k_chunk,
        transA: d.trans_a,
        transB: d.trans_b,
    }
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::SolValue;

    use super::*;

    #[test]
    fn descriptors_encode_as_the_prover_hashes_them() {
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
        // `abi.encode(descriptor)` in the contract is alloy's `abi_encode` of the struct.
        assert_eq!(descriptor(&d).abi_encode(), d.abi_encode());
    }

    #[test]
    fn chunk_bytes_are_little_endian() {
        let b = chunk_bytes(&[1, -2]);
        assert_eq!(&b[..], &[1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
        assert_eq!(element_at(&b, 1), Some(-2));
        assert_eq!(element_at(&b, 2), None);
    }
}
