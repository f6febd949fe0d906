//! Every single-bit change to a proof, to the root it is checked against, to a leaf or
//! to an index makes verification fail.

use gavel_executor::Hash32;
use gavel_prover::{CheckpointProof, ChunkProof, ElementOpening, OpRootProof, Position, SlotProof, TraceStore};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::common::{digits, record};

/// Every value that differs from `v` in exactly one bit of one hash or number.
/// Numbers are flipped in their `i64` bits and, when they fit, their `i32` bits
/// (so the sign bit of an element is covered too).
pub(crate) fn single_bit_changes(v: &Value) -> Vec<Value> {
    match v {
        Value::String(s) if s.starts_with("0x") && s.len() == 66 => {
            let h: Hash32 = s.parse().unwrap();
            (0..256)
                .map(|bit| {
                    let mut m = h;
                    m.0[bit / 8] ^= 1 << (bit % 8);
                    Value::String(m.to_string())
                })
                .collect()
        }
        Value::Number(n) => {
            let x = n.as_i64().or_else(|| n.as_u64().map(|u| u as i64)).expect("integers only");
            let mut out: Vec<Value> = (0..64)
                .map(|bit| {
                    let m = x ^ (1i64 << bit);
                    if m < 0 && x >= 0 { Value::from(m as u64) } else { Value::from(m) }
                })
                .collect();
            if let Ok(y) = i32::try_from(x) {
                out.extend((0..32).map(|bit| Value::from(y ^ (1i32 << bit))));
            }
            out
        }
        Value::Array(items) => (0..items.len())
            .flat_map(|i| {
                single_bit_changes(&items[i]).into_iter().map(move |m| {
                    let mut a = items.clone();
                    a[i] = m;
                    Value::Array(a)
                })
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, child)| {
                single_bit_changes(child).into_iter().map(move |m| {
                    let mut o = map.clone();
                    o.insert(k.clone(), m);
                    Value::Object(o)
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks that `proof` verifies against `root` and that every one-bit change to it or
/// to `root` is rejected, unless `still_true` says the changed claim is true anyway.
/// Returns how many changed proofs were checked.
fn assert_tamper_proof<T: Serialize + DeserializeOwned>(
    proof: &T,
    root: &Hash32,
    verify: impl Fn(&T, &Hash32) -> bool,
    still_true: impl Fn(&T) -> bool,
) -> usize {
    assert!(verify(proof, root), "the genuine proof verifies");
    for bit in 0..256 {
        let mut r = *root;
        r.0[bit / 8] ^= 1 << (bit % 8);
        assert!(!verify(proof, &r), "accepted against a root with bit {bit} flipped");
    }
    let mut checked = 0;
    for changed in single_bit_changes(&serde_json::to_value(proof).unwrap()) {
        // A change the type cannot hold (an index past u32, say) never reaches verify.
        let Ok(p) = serde_json::from_value::<T>(changed.clone()) else { continue };
        checked += 1;
        if verify(&p, root) {
            assert!(still_true(&p), "a changed proof verified: {changed}");
        }
    }
    checked
}

fn store() -> (TraceStore, tempfile::TempDir, gavel_executor::CompiledJob) {
    let job = digits(6);
    let dir = tempfile::tempdir().unwrap();
    record(&job, dir.path(), 2);
    (TraceStore::open(dir.path()).unwrap(), dir, job)
}

#[test]
fn every_proof_type_rejects_every_single_bit_change() {
    let (mut s, _dir, job) = store();
    let trace = s.trace_root();
    let n = assert_tamper_proof(&s.prove_checkpoint(3).unwrap(), &trace, |p, r| p.verify(r).is_ok(), |_| false);
    assert!(n > 256 * 4, "{n}");
    let _: CheckpointProof = s.prove_checkpoint(6).unwrap();

    let sr = s.step_root(4).unwrap();
    for op in [0, 5, job.program.ops.len() as u32] {
        let p: OpRootProof = s.prove_op_root(4, op).unwrap();
        assert_tamper_proof(&p, &sr, |p, r| p.verify(r).is_ok(), |_| false);
    }

    let at = Position::Op { step: 4, op: 7 };
    let memory_root = *s.prove_state(at).unwrap().memory_root();
    let b0 = job.params[0].bias;
    let p: SlotProof = s.prove_slot(at, b0).unwrap();
    assert_tamper_proof(&p, &memory_root, |p, r| p.verify(r).is_ok(), |_| false);

    // A one-chunk tensor (the bias, 32 elements): every bit of every element.
    let slot_root = p.root;
    let c: ChunkProof = s.prove_chunk(at, b0, 0).unwrap();
    assert_eq!(c.values.len(), 32);
    assert_tamper_proof(&c, &slot_root, |p, r| p.verify(r).is_ok(), |_| false);
}

#[test]
fn multi_chunk_tensors_reject_changes_to_any_chunk_proof() {
    let (mut s, _dir, job) = store();
    // The training features: 180 chunks, the last one partial.
    let at = Position::Checkpoint(2);
    let slot = 0;
    assert_eq!(job.program.slots[0].name, "x_train");
    let root = s.prove_slot(at, slot).unwrap().root;
    let len = job.program.slots[0].len() as u64;
    let last = gavel_prover::chunk_count(len) - 1;
    assert!(!len.is_multiple_of(gavel_prover::CHUNK_ELEMENTS as u64));
    for chunk in [0, 1, last / 2, last] {
        let mut c = s.prove_chunk(at, slot, chunk).unwrap();
        // Keep the sweep small: only three elements carry the values under test.
        let keep: Vec<i32> = c.values.clone();
        assert!(c.verify(&root).is_ok());
        for i in [0, c.values.len() / 2, c.values.len() - 1] {
            for bit in 0..32 {
                c.values[i] ^= 1 << bit;
                assert!(c.verify(&root).is_err(), "chunk {chunk} element {i} bit {bit}");
                c.values[i] = keep[i];
            }
        }
        for (field, value) in [("chunk", Value::from(chunk ^ 1)), ("chunk", Value::from(chunk ^ 256))] {
            let mut v = serde_json::to_value(&c).unwrap();
            v[field] = value;
            let p: ChunkProof = serde_json::from_value(v).unwrap();
            assert!(p.verify(&root).is_err(), "{field} changed");
        }
        let mut short = c.clone();
        short.values.pop();
        assert!(short.verify(&root).is_err());
        let mut reshaped = c.clone();
        reshaped.shape = vec![reshaped.shape[1], reshaped.shape[0]];
        assert!(reshaped.verify(&root).is_err());
    }
}

#[test]
fn element_openings_reject_every_change_that_makes_a_false_claim() {
    let (mut s, _dir, job) = store();
    let b1 = job.params[1].bias;
    for at in [Position::Checkpoint(5), Position::Op { step: 2, op: 9 }] {
        let anchor = s.anchor(at).unwrap();
        let memory = s.memory(at).unwrap();
        let truth = memory.slot(b1).to_vec();
        let e: ElementOpening = s.open_element(at, b1, 7).unwrap();
        assert_eq!(e.value, truth[7]);
        let n = assert_tamper_proof(
            &e,
            &anchor,
            |p, r| p.verify(r).is_ok(),
            // Moving the index to an element with the same value is still a true claim.
            |p| p.slot.slot == b1 && truth.get(p.index as usize) == Some(&p.value),
        );
        assert!(n > 3000, "{n}");
    }
    // A checkpoint opening is not accepted against a step root, nor the other way round.
    let e = s.open_element(Position::Checkpoint(3), b1, 0).unwrap();
    assert!(e.verify(&s.step_root(3).unwrap()).is_err());
    let e = s.open_element(Position::Op { step: 3, op: 0 }, b1, 0).unwrap();
    assert!(e.verify(&s.trace_root()).is_err());
    assert!(e.verify(&s.step_root(3).unwrap()).is_ok());
}
