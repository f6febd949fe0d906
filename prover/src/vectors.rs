//! Test vectors of the commitment scheme for other implementations (the Solidity
//! library): tensor roots, padded trees, and proofs of every kind from a small real
//! trace, valid ones and tampered ones that must be rejected. The format is in
//! `docs/protocol.md`, "Test vectors"; `gavel trace vectors` writes the files.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use gavel_executor::{
    Backend, CpuBackend, Hash32, Inputs, JobSpec, Memory, Op, PROGRAM_VERSION, Program, Slot, SlotKind, SplitMix64,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    commit::{self, CHUNK_ELEMENTS, MemoryRoots, memory_root, step_root, tensor_root, trace_root},
    error::Result,
    files, merkle,
    program::{OP_KINDS, OpTable, ProgramCommitment},
    proof::{CheckpointProof, ChunkProof, ElementOpening, OpRootProof, SlotProof, StateProof},
};

/// Version of the vector files' layout.
pub const VECTORS_VERSION: u32 = 1;

/// Every vector file: `(file name, contents)`.
pub fn generate() -> Result<Vec<(&'static str, Value)>> {
    Ok(vec![
        ("tensors.json", tensors()?),
        ("trees.json", trees()),
        ("proofs.json", proofs()?),
        ("program.json", programs()?),
    ])
}

/// Writes every vector file into `dir` and returns their paths.
pub fn export(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(files::io("creating", dir))?;
    let mut out = Vec::new();
    for (name, value) in generate()? {
        let path = dir.join(name);
        files::write_atomic(&path, &to_text(&value), false)?;
        out.push(path);
    }
    Ok(out)
}

/// The exact bytes of a vector file.
pub fn to_text(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).expect("JSON values serialize");
    text.push(b'\n');
    text
}

fn header(what: &str) -> Value {
    json!({
        "version": VECTORS_VERSION,
        "scheme": "gavel commitments, docs/protocol.md",
        "chunk_elements": CHUNK_ELEMENTS,
        "contents": what,
    })
}

fn values(rng: &mut SplitMix64, n: usize) -> Vec<i32> {
    (0..n).map(|_| rng.next_u64() as i32).collect()
}

fn tensors() -> Result<Value> {
    let mut rng = SplitMix64::new(0x7465_6e73_6f72);
    let mut cases = Vec::new();
    let mut add = |name: &str, shape: Vec<u32>, v: Vec<i32>| -> Result<()> {
        let leaves = commit::chunk_leaves(&v);
        cases.push(json!({
            "name": name,
            "shape": shape,
            "values": v,
            "chunk_leaves": leaves,
            "chunk_tree_root": merkle::root(&leaves),
            "root": tensor_root(&shape, &v)?,
        }));
        Ok(())
    };
    add("one zero", vec![1], vec![0])?;
    add("one i32::MIN", vec![1], vec![i32::MIN])?;
    add("one -1", vec![1], vec![-1])?;
    add("same values, shape [2, 3]", vec![2, 3], (1..=6).collect())?;
    add("same values, shape [3, 2]", vec![3, 2], (1..=6).collect())?;
    add("same values, shape [6]", vec![6], (1..=6).collect())?;
    add("same values, shape [6, 1, 1]", vec![6, 1, 1], (1..=6).collect())?;
    add("one full chunk", vec![CHUNK_ELEMENTS as u32], values(&mut rng, CHUNK_ELEMENTS))?;
    add("one chunk and one element", vec![CHUNK_ELEMENTS as u32 + 1], values(&mut rng, CHUNK_ELEMENTS + 1))?;
    add("three chunks, the last partial", vec![2, 700], values(&mut rng, 1400))?;
    add("five chunks (padded to eight)", vec![4, 5, 128], values(&mut rng, 2560))?;
    add("edge values", vec![8], vec![0, 1, -1, i32::MAX, i32::MIN, 65536, -65536, 0x1234_5678])?;
    Ok(json!({ "header": header("tensor roots: shape, values, chunk leaves, chunk tree root, root"), "cases": cases }))
}

fn trees() -> Value {
    let leaves: Vec<Hash32> = (0..9u8).map(|i| Hash32::of(&[0xAB, i])).collect();
    let cases: Vec<Value> = (1..=leaves.len())
        .map(|n| {
            let l = &leaves[..n];
            json!({
                "leaves": l,
                "depth": merkle::depth(n as u64),
                "tree_root": merkle::root(l),
                "memory_root": memory_root(l),
                "trace_root": trace_root(l),
                "step_root_of_step_7": step_root(7, l),
            })
        })
        .collect();
    json!({
        "header": header("padded trees over 1 to 9 leaves, and the memory, trace and step roots over them"),
        "node_of_zero_words": merkle::node(&Hash32::default(), &Hash32::default()),
        "cases": cases,
    })
}

/// The small program the proof vectors come from: an SGD update of a weight, a chunked
/// product, a ReLU, and an SGD update of a 1400-element tensor (three chunks), over 5
/// steps, so that every operator changes the memory.
fn tiny_program() -> (Program, Inputs) {
    let mut rng = SplitMix64::new(0x0074_7261_6365);
    let mut inputs = Inputs::new();
    let slot = |name: &str, shape: &[u32], kind: SlotKind| Slot { name: name.into(), shape: shape.to_vec(), kind };
    let x = inputs.insert((0..15).map(|_| (rng.next_u64() % 131072) as i32 - 65536).collect());
    let w = inputs.insert((0..10).map(|_| (rng.next_u64() % 131072) as i32 - 65536).collect());
    let big = inputs.insert(values(&mut rng, 1400).into_iter().map(|v| v >> 8).collect());
    let grad = inputs.insert((0..1400).map(|_| (rng.next_u64() % 4096) as i32 - 2048).collect());
    let w_grad = inputs.insert((0..10).map(|_| (rng.next_u64() % 65536) as i32 - 32768).collect());
    let slots = vec![
        slot("x", &[3, 5], SlotKind::Const { data: x }),
        slot("w", &[5, 2], SlotKind::Var { init: Some(w) }),
        slot("z", &[3, 3, 2], SlotKind::Var { init: None }),
        slot("a", &[3, 2], SlotKind::Var { init: None }),
        slot("h", &[3, 2], SlotKind::Var { init: None }),
        slot("big", &[2, 700], SlotKind::Var { init: Some(big) }),
        slot("grad", &[2, 700], SlotKind::Const { data: grad }),
        slot("w_grad", &[5, 2], SlotKind::Const { data: w_grad }),
    ];
    let ops = vec![
        Op::Sgd { param: 1, grad: 7, lr: 6554, out: 1 },
        Op::MatMul { a: 0, b: 1, out: 2, trans_a: false, trans_b: false, k_chunk: 2 },
        Op::SumRows { a: 2, out: 3 },
        Op::Relu { a: 3, out: 4 },
        Op::Sgd { param: 5, grad: 6, lr: 6554, out: 5 },
    ];
    (Program { version: PROGRAM_VERSION, slots, ops, steps: 5 }, inputs)
}

#[derive(Serialize)]
struct Case {
    name: String,
    kind: &'static str,
    /// The root the proof is checked against.
    anchor: Hash32,
    proof: Value,
    valid: bool,
}

fn case<T: Serialize>(name: impl Into<String>, kind: &'static str, anchor: Hash32, proof: &T, valid: bool) -> Case {
    Case { name: name.into(), kind, anchor, proof: serde_json::to_value(proof).expect("proofs serialize"), valid }
}

fn flip(h: &Hash32, bit: usize) -> Hash32 {
    let mut m = *h;
    m.0[bit / 8] ^= 1 << (bit % 8);
    m
}

fn proofs() -> Result<Value> {
    let (program, inputs) = tiny_program();
    program.validate()?;
    let program = Arc::new(program);
    let memory = Memory::initial(&program, &inputs)?;
    let mut cpu = CpuBackend::new(program.clone(), memory.clone());
    let k = program.ops.len();
    // Every memory: op boundaries of every step.
    let mut states = vec![vec![cpu.memory().clone()]];
    for step in 0..program.steps {
        for j in 0..k {
            cpu.run_ops(step, j..j + 1)?;
            states[step as usize].push(cpu.memory().clone());
        }
        states.push(vec![cpu.memory().clone()]);
    }
    let roots_of = |m: &Memory| MemoryRoots::new(&program, m);
    let checkpoints: Vec<Hash32> = states.iter().map(|s| roots_of(&s[0]).map(|r| r.root())).collect::<Result<_>>()?;
    let tr = trace_root(&checkpoints);
    let step = 2u64;
    let op_roots: Vec<Hash32> =
        states[step as usize].iter().map(|m| roots_of(m).map(|r| r.root())).collect::<Result<_>>()?;
    let sr = step_root(step, &op_roots);

    let mut cases = Vec::new();
    // Checkpoints in the trace.
    for i in 0..checkpoints.len() as u64 {
        cases.push(case(format!("h_{i}"), "checkpoint", tr, &CheckpointProof::new(&checkpoints, i)?, true));
    }
    let cp = CheckpointProof::new(&checkpoints, 3)?;
    cases.push(case(
        "h_3, root bit 0 flipped",
        "checkpoint",
        tr,
        &CheckpointProof { root: flip(&cp.root, 0), ..cp.clone() },
        false,
    ));
    for (s, bit) in [(0, 255), (1, 7), (2, 128)] {
        let mut p = cp.clone();
        p.siblings[s] = flip(&p.siblings[s], bit);
        cases.push(case(format!("h_3, sibling {s} bit {bit} flipped"), "checkpoint", tr, &p, false));
    }
    cases.push(case("h_3 claimed at index 2", "checkpoint", tr, &CheckpointProof { step: 2, ..cp.clone() }, false));
    cases.push(case(
        "h_3, count 7 instead of 6 (same depth)",
        "checkpoint",
        tr,
        &CheckpointProof { count: 7, ..cp.clone() },
        false,
    ));
    cases.push(case("h_3 against the trace root with bit 100 flipped", "checkpoint", flip(&tr, 100), &cp, false));
    let mut short = cp.clone();
    short.siblings.pop();
    cases.push(case("h_3, one sibling missing", "checkpoint", tr, &short, false));
    let mut long = cp.clone();
    long.siblings.push(Hash32::default());
    cases.push(case("h_3, one zero sibling too many", "checkpoint", tr, &long, false));
    let last = CheckpointProof::new(&checkpoints, 5)?;
    cases.push(case(
        "h_5 claimed at padding index 6",
        "checkpoint",
        tr,
        &CheckpointProof { step: 6, ..last.clone() },
        false,
    ));
    // An inner node of the trace tree passed off as a leaf, with a shorter path.
    let levels = merkle::levels(checkpoints.clone());
    let inner =
        CheckpointProof { step: 0, count: 3, root: levels[1][0], siblings: merkle::path(&levels, 0)[1..].to_vec() };
    cases.push(case("inner node (h_0, h_1) passed off as a leaf", "checkpoint", tr, &inner, false));

    // Op-level roots in the step root.
    for j in 0..=k as u32 {
        cases.push(case(format!("M_{{2,{j}}}"), "op_root", sr, &OpRootProof::new(step, &op_roots, j)?, true));
    }
    let op = OpRootProof::new(step, &op_roots, 3)?;
    cases.push(case("M_{2,3} claimed for step 3", "op_root", sr, &OpRootProof { step: 3, ..op.clone() }, false));
    cases.push(case("M_{2,3} claimed at op 1", "op_root", sr, &OpRootProof { op: 1, ..op.clone() }, false));
    cases.push(case(
        "M_{2,3}, root bit 31 flipped",
        "op_root",
        sr,
        &OpRootProof { root: flip(&op.root, 31), ..op.clone() },
        false,
    ));
    cases.push(case("M_{2,3} against the trace root", "op_root", tr, &op, false));

    // Slots in a memory (the memory after op 2 of step 2).
    let mem = &states[step as usize][2];
    let mr = roots_of(mem)?;
    for s in 0..program.slots.len() as u32 {
        cases.push(case(
            format!("slot {s} in M_{{2,2}}"),
            "slot",
            mr.root(),
            &SlotProof::new(mr.slot_roots(), s)?,
            true,
        ));
    }
    let sp = SlotProof::new(mr.slot_roots(), 5)?;
    cases.push(case("slot 5 claimed as slot 4", "slot", mr.root(), &SlotProof { slot: 4, ..sp.clone() }, false));
    cases.push(case("slot 5, count 9 instead of 8", "slot", mr.root(), &SlotProof { count: 9, ..sp.clone() }, false));
    let mut p = sp.clone();
    p.siblings[2] = flip(&p.siblings[2], 9);
    cases.push(case("slot 5, sibling 2 bit 9 flipped", "slot", mr.root(), &p, false));

    // Chunks in a tensor.
    let big = mem.slot(5);
    let big_root = mr.slot_roots()[5];
    for c in 0..3 {
        cases.push(case(format!("chunk {c} of big"), "chunk", big_root, &ChunkProof::new(&[2, 700], big, c)?, true));
    }
    let a_root = mr.slot_roots()[3];
    cases.push(case("chunk 0 of a [3, 2]", "chunk", a_root, &ChunkProof::new(&[3, 2], mem.slot(3), 0)?, true));
    let chunk = ChunkProof::new(&[2, 700], big, 2)?;
    let mut p = chunk.clone();
    p.values[0] ^= 1;
    cases.push(case("chunk 2, element 0 bit 0 flipped", "chunk", big_root, &p, false));
    let mut p = chunk.clone();
    p.values[375] ^= i32::MIN;
    cases.push(case("chunk 2, last element's sign bit flipped", "chunk", big_root, &p, false));
    let mut p = chunk.clone();
    p.values.push(0);
    cases.push(case("chunk 2 with a zero element appended", "chunk", big_root, &p, false));
    cases.push(case(
        "chunk 2 with shape [700, 2]",
        "chunk",
        big_root,
        &ChunkProof { shape: vec![700, 2], ..chunk.clone() },
        false,
    ));
    cases.push(case(
        "chunk 2 with shape [1400]",
        "chunk",
        big_root,
        &ChunkProof { shape: vec![1400], ..chunk.clone() },
        false,
    ));
    cases.push(case(
        "chunk 2 claimed as chunk 3 (padding)",
        "chunk",
        big_root,
        &ChunkProof { chunk: 3, ..chunk.clone() },
        false,
    ));
    let full = ChunkProof::new(&[2, 700], big, 1)?;
    cases.push(case("chunk 1 claimed as chunk 0", "chunk", big_root, &ChunkProof { chunk: 0, ..full.clone() }, false));

    // Element openings, from the trace root and from the step root.
    let open = |state: StateProof, m: &Memory, slot: u32, index: u64| -> Result<ElementOpening> {
        let r = roots_of(m)?;
        let shape = program.shape(slot).to_vec();
        let chunk = ChunkProof::new(&shape, m.slot(slot), index / CHUNK_ELEMENTS as u64)?;
        Ok(ElementOpening {
            state,
            slot: SlotProof::new(r.slot_roots(), slot)?,
            value: m.slot(slot)[index as usize],
            chunk,
            index,
        })
    };
    let at_ckpt = open(StateProof::Checkpoint(CheckpointProof::new(&checkpoints, 4)?), &states[4][0], 5, 1300)?;
    cases.push(case("big[1300] after step 4", "element", tr, &at_ckpt, true));
    let at_op = open(StateProof::Op(OpRootProof::new(step, &op_roots, 3)?), &states[2][3], 4, 5)?;
    cases.push(case("h[5] after op 3 of step 2", "element", sr, &at_op, true));
    cases.push(case(
        "big[1300], value + 1",
        "element",
        tr,
        &ElementOpening { value: at_ckpt.value.wrapping_add(1), ..at_ckpt.clone() },
        false,
    ));
    let other = (0..1400u64)
        .find(|&i| i / 512 == 2 && states[4][0].slot(5)[i as usize] != at_ckpt.value)
        .expect("distinct values");
    cases.push(case(
        "big[1300]'s value claimed for another element of its chunk",
        "element",
        tr,
        &ElementOpening { index: other, ..at_ckpt.clone() },
        false,
    ));
    cases.push(case(
        "big[1300] claimed at index 1300 - 512 (other chunk)",
        "element",
        tr,
        &ElementOpening { index: 1300 - 512, ..at_ckpt.clone() },
        false,
    ));
    cases.push(case("h[5] after op 3 of step 2, against the trace root", "element", tr, &at_op, false));
    cases.push(case("big[1300] after step 4, against the step root", "element", sr, &at_ckpt, false));
    let mut p = at_ckpt.clone();
    p.slot = SlotProof::new(roots_of(&states[3][0])?.slot_roots(), 5)?;
    cases.push(case("big[1300] with the slot proof of step 3", "element", tr, &p, false));

    let cases: Vec<Case> = cases;
    Ok(json!({
        "header": header("proofs from a 5-step trace of a 8-slot, 5-operator program; every case says whether it must verify"),
        "program": serde_json::from_slice::<Value>(&program.to_json()).expect("program JSON"),
        "trace_root": tr,
        "output_root": checkpoints.last(),
        "checkpoints": checkpoints,
        "step": step,
        "step_root": sr,
        "op_roots": op_roots,
        "cases": cases,
    }))
}

/// A program with every operator kind once, in kind order, then a second `mat_mul`
/// (17 ops: the op tree is padded), with a negative parameter, both transposition flags
/// and a chunked product whose output is `[S, M, N]`.
fn every_kind_program() -> (Program, Inputs) {
    let mut inputs = Inputs::new();
    let index = inputs.insert(vec![0, 4, -1, 7, 2, 3, 1, 1]);
    let labels = inputs.insert(vec![65536, 0, 0, 0, 32768, 32768]);
    let slot = |name: &str, shape: &[u32], kind: SlotKind| Slot { name: name.into(), shape: shape.to_vec(), kind };
    let var = |name: &str, shape: &[u32]| slot(name, shape, SlotKind::Var { init: None });
    let slots = vec![
        var("table", &[5, 3]),                                     // 0
        slot("index", &[4, 2], SlotKind::Const { data: index }),   // 1
        var("x", &[2, 3]),                                         // 2
        var("at", &[4, 2]),                                        // 3: a^T of A [2, 4]
        var("bt", &[3, 4]),                                        // 4: b^T of B [4, 3]
        var("chunks", &[2, 2, 3]),                                 // 5: K = 4, k_chunk 3
        var("y", &[2, 3]),                                         // 6
        var("bias", &[3]),                                         // 7
        var("t", &[3, 2]),                                         // 8
        slot("labels", &[2, 3], SlotKind::Const { data: labels }), // 9
        var("loss", &[2]),                                         // 10
        var("best", &[2]),                                         // 11
        var("a", &[2, 4]),                                         // 12
        var("b", &[4, 3]),                                         // 13
    ];
    let ops = vec![
        Op::Gather { table: 0, index: 1, out: 2 },
        Op::MatMul { a: 3, b: 4, out: 5, trans_a: true, trans_b: true, k_chunk: 3 },
        Op::SumRows { a: 5, out: 6 },
        Op::Add { a: 2, b: 6, out: 6 },
        Op::Sub { a: 6, b: 2, out: 2 },
        Op::Mul { a: 2, b: 6, out: 6 },
        Op::AddBias { a: 6, bias: 7, out: 2 },
        Op::Scale { a: 2, factor: -98304, out: 2 },
        Op::Relu { a: 2, out: 6 },
        Op::ReluGrad { pre: 2, grad: 6, out: 6 },
        Op::Transpose { a: 6, out: 8 },
        Op::Softmax { a: 2, out: 6 },
        Op::SoftmaxXentGrad { logits: 2, labels: 9, scale: 32768, out: 6 },
        Op::XentLoss { logits: 2, labels: 9, out: 10 },
        Op::Sgd { param: 7, grad: 7, lr: 6554, out: 7 },
        Op::Argmax { a: 6, out: 11 },
        Op::MatMul { a: 12, b: 13, out: 6, trans_a: false, trans_b: false, k_chunk: 4 },
    ];
    (Program { version: PROGRAM_VERSION, slots, ops, steps: 3 }, inputs)
}

/// The digits example (`examples/digits.toml`) compiled, from the checkout this crate
/// was built in.
fn digits_program() -> Result<(Program, Inputs)> {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/digits.toml");
    let job = JobSpec::load(&spec)?.compile()?;
    Ok((job.program, job.inputs))
}

/// One program's commitment: descriptors with their ABI encodings and leaves, the op
/// tree, every op's path, and the program root.
fn program_case(name: &str, program: &Program, inputs: &Inputs) -> Result<Value> {
    let table = OpTable::new(program)?;
    let commitment = ProgramCommitment::initial(program, inputs)?;
    let ops: Vec<Value> = (0..table.len())
        .map(|j| {
            let d = table.descriptor(j)?;
            Ok(json!({
                "index": j,
                "name": d.name(),
                "descriptor": d,
                "abi": format!("0x{}", d.abi_encode().iter().map(|b| format!("{b:02x}")).collect::<String>()),
                "leaf": d.leaf(),
                "path": table.path(j)?,
            }))
        })
        .collect::<Result<_>>()?;
    Ok(json!({
        "name": name,
        "program_hash": program.hash(),
        "depth": merkle::depth(table.len().into()),
        "ops": ops,
        "op_tree": table.root(),
        "commitment": commitment,
        "program_root": commitment.root(),
    }))
}

fn programs() -> Result<Value> {
    let (every, every_inputs) = every_kind_program();
    let (digits, digits_inputs) = digits_program()?;
    Ok(json!({
        "header": header(
            "program commitments (docs/contracts.md, \"Program root\"): op descriptors, their abi.encode and \
             leaves, the op tree, every op's path, the commitment and the program root"
        ),
        "op_kinds": OP_KINDS,
        "programs": [
            program_case("every operator kind, then a second mat_mul", &every, &every_inputs)?,
            program_case("examples/digits.toml", &digits, &digits_inputs)?,
        ],
    }))
}

/// Checks one case of `proofs.json` with the Rust verifiers: `Ok(true)` if it
/// verifies, `Ok(false)` if it is rejected, an error if it does not parse.
pub fn verify_case(case: &Value) -> std::result::Result<bool, String> {
    let anchor: Hash32 = serde_json::from_value(case["anchor"].clone()).map_err(|e| e.to_string())?;
    let proof = case["proof"].clone();
    let parse = |e: serde_json::Error| e.to_string();
    Ok(match case["kind"].as_str().unwrap_or_default() {
        "checkpoint" => serde_json::from_value::<CheckpointProof>(proof).map_err(parse)?.verify(&anchor).is_ok(),
        "op_root" => serde_json::from_value::<OpRootProof>(proof).map_err(parse)?.verify(&anchor).is_ok(),
        "slot" => serde_json::from_value::<SlotProof>(proof).map_err(parse)?.verify(&anchor).is_ok(),
        "chunk" => serde_json::from_value::<ChunkProof>(proof).map_err(parse)?.verify(&anchor).is_ok(),
        "element" => serde_json::from_value::<ElementOpening>(proof).map_err(parse)?.verify(&anchor).is_ok(),
        other => return Err(format!("unknown kind `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_verifies_as_labelled() {
        let proofs = proofs().unwrap();
        let cases = proofs["cases"].as_array().unwrap();
        assert!(cases.len() > 50);
        // Every operator changes the memory, so no tampered index lands on an equal root.
        for list in ["op_roots", "checkpoints"] {
            let mut roots: Vec<&str> = proofs[list].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            let n = roots.len();
            roots.sort();
            roots.dedup();
            assert_eq!(roots.len(), n, "{list} repeat");
        }
        for c in cases {
            assert_eq!(verify_case(c), Ok(c["valid"].as_bool().unwrap()), "{}", c["name"]);
        }
    }

    #[test]
    fn program_vectors_open_every_op() {
        use crate::program::{OpDescriptor, OpOpening};
        let v = programs().unwrap();
        let programs = v["programs"].as_array().unwrap();
        assert_eq!(programs.len(), 2);
        for p in programs {
            let c: ProgramCommitment = serde_json::from_value(p["commitment"].clone()).unwrap();
            assert_eq!(p["program_root"], json!(c.root()));
            let ops = p["ops"].as_array().unwrap();
            assert_eq!(ops.len() as u32, c.ops);
            for (j, op) in ops.iter().enumerate() {
                let descriptor: OpDescriptor = serde_json::from_value(op["descriptor"].clone()).unwrap();
                assert_eq!(op["leaf"], json!(descriptor.leaf()));
                let siblings = serde_json::from_value(op["path"].clone()).unwrap();
                OpOpening { index: j as u32, count: c.ops, descriptor, siblings }.verify(&c).unwrap();
            }
        }
        // The first program has every kind, in kind order, and pads its tree.
        let kinds: Vec<u64> =
            programs[0]["ops"].as_array().unwrap().iter().map(|o| o["descriptor"]["kind"].as_u64().unwrap()).collect();
        assert_eq!(kinds, (0..16).chain([1]).collect::<Vec<u64>>());
        assert_eq!(programs[0]["depth"], 5);
    }
}
