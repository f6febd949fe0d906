//! `gavel trace`: inspect a trace store, prove values from it, verify proof files.
//!
//! A proof file is JSON: `{"kind", "anchor", "anchor_kind", "proof"}`, where `anchor`
//! is the root the proof checks against (`docs/protocol.md`, "Proof files").

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use gavel_executor::{Hash32, SlotId};
use gavel_prover::{
    CheckpointProof, ChunkProof, ElementOpening, OpDescriptor, OpRootProof, OpTable, Position, ProgramCommitment,
    SlotProof, TraceStore, vectors,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::output::Output;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Show a store's program, steps and roots; `--check` re-reads every kept checkpoint.
    Info {
        /// The trace store folder (`gavel run --trace DIR`).
        dir: PathBuf,
        /// Also check the tensors of every kept checkpoint against their roots.
        #[arg(long)]
        check: bool,
    },
    /// Prove a value from a store and print (or write) the proof file.
    Prove {
        /// The trace store folder.
        dir: PathBuf,
        #[command(subcommand)]
        what: Prove,
        /// Write the proof file here instead of printing it.
        #[arg(long, global = true)]
        out: Option<PathBuf>,
    },
    /// Verify a proof file against a root (by default the anchor written in the file).
    Verify {
        /// The proof file.
        file: PathBuf,
        /// The root you trust (a trace root, step root, memory root or tensor root, as
        /// the proof's kind needs). Without it the file's own anchor is used, which only
        /// checks that the file is self-consistent.
        #[arg(long)]
        root: Option<Hash32>,
    },
    /// The program commitment of a job spec (what `gavel job post` registers on chain):
    /// the initial memory root, slot and op counts, the op tree and the program root,
    /// with every op's descriptor leaf; `--op J` prints op J's descriptor and its path in
    /// the op tree (the `_op` and `_opPath` of the game's `revealSlot`). No chain needed.
    Program {
        /// The job spec (TOML), as `gavel run` and `gavel job post` take it.
        spec: PathBuf,
        /// Print op J's descriptor and op tree path instead of the summary.
        #[arg(long, value_name = "J")]
        op: Option<u32>,
    },
    /// Write the commitment test vectors for other implementations (Solidity).
    Vectors {
        /// Folder to write into.
        #[arg(long, default_value = "tests/vectors/merkle")]
        dir: PathBuf,
    },
}

/// Where in the run: after step `--step`, or, with `--op`, after that many operators
/// of step `--step`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct At {
    /// The checkpoint (memory after this many steps), or with `--op` the step.
    #[arg(long)]
    step: u64,
    /// Operators of the step run (0 to K): an op-level state inside the step.
    #[arg(long)]
    op: Option<u32>,
}

impl At {
    fn position(&self) -> Position {
        match self.op {
            None => Position::Checkpoint(self.step),
            Some(op) => Position::Op { step: self.step, op },
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Prove {
    /// `h_i` in the trace root.
    Checkpoint {
        /// The step `i` (0: the initial memory).
        #[arg(long)]
        step: u64,
    },
    /// The op-level roots `M_{i,0..K}` of a step and their step root (no proof file).
    Ops {
        /// The step `i`.
        #[arg(long)]
        step: u64,
    },
    /// `M_{i,j}` in the step root of step `i`.
    OpRoot {
        /// The step `i`.
        #[arg(long)]
        step: u64,
        /// Operators run, `j` in `0..=K`.
        #[arg(long)]
        op: u32,
    },
    /// A slot's root in the memory root at a position.
    Slot {
        #[command(flatten)]
        at: At,
        /// Slot name or id.
        #[arg(long)]
        slot: String,
    },
    /// A chunk of a slot's elements in the slot's root.
    Chunk {
        #[command(flatten)]
        at: At,
        /// Slot name or id.
        #[arg(long)]
        slot: String,
        /// Chunk index.
        #[arg(long)]
        chunk: u64,
    },
    /// One element, proven up to the trace root (or the step root with `--op`).
    Element {
        #[command(flatten)]
        at: At,
        /// Slot name or id.
        #[arg(long)]
        slot: String,
        /// Element index (row-major).
        #[arg(long)]
        index: u64,
    },
}

/// The JSON file `prove` writes and `verify` reads.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofFile {
    /// `checkpoint`, `op_root`, `slot`, `chunk` or `element`.
    kind: String,
    /// The root the proof checks against.
    anchor: Hash32,
    /// What the anchor is: `trace_root`, `step_root`, `memory_root` or `tensor_root`.
    anchor_kind: String,
    proof: Value,
}

#[derive(Debug, Serialize)]
struct Info {
    dir: PathBuf,
    program_hash: Hash32,
    steps: u64,
    ops_per_step: usize,
    slots: Vec<String>,
    every: u64,
    trace_root: Hash32,
    output_root: Hash32,
    checked: bool,
}

pub(crate) fn run(cmd: Command, out: &Output) -> anyhow::Result<()> {
    match cmd {
        Command::Info { dir, check } => info(&dir, check, out),
        Command::Prove { dir, what, out: file } => prove(&dir, what, file.as_deref(), out),
        Command::Verify { file, root } => verify(&file, root, out),
        Command::Program { spec, op } => program(&spec, op, out),
        Command::Vectors { dir } => {
            let files = vectors::export(&dir)?;
            out.result(&files, || {
                let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!("wrote {} files:\n{}", files.len(), list.join("\n"))
            });
            Ok(())
        }
    }
}

fn open(dir: &Path) -> anyhow::Result<TraceStore> {
    TraceStore::open(dir).with_context(|| format!("opening trace store {}", dir.display()))
}

fn info(dir: &Path, check: bool, out: &Output) -> anyhow::Result<()> {
    let store = open(dir)?;
    if check {
        store.check()?;
    }
    let program = store.program();
    let info = Info {
        dir: dir.into(),
        program_hash: program.hash(),
        steps: store.steps(),
        ops_per_step: program.ops.len(),
        slots: program.slots.iter().map(|s| format!("{} {:?}", s.name, s.shape)).collect(),
        every: store.every(),
        trace_root: store.trace_root(),
        output_root: store.output_root(),
        checked: check,
    };
    out.result(&info, || {
        let slots: Vec<String> = info.slots.iter().enumerate().map(|(i, s)| format!("  {i:>3} {s}")).collect();
        format!(
            "trace store      {}\nprogram          {}\nsteps            {} ({} operators each)\n\
             tensors kept     every {} steps\ntrace root       {}\noutput root      {}{}\nslots\n{}",
            info.dir.display(),
            info.program_hash,
            info.steps,
            info.ops_per_step,
            info.every,
            info.trace_root,
            info.output_root,
            if check { "\nevery kept checkpoint checked" } else { "" },
            slots.join("\n"),
        )
    });
    Ok(())
}

/// `gavel trace program`'s summary.
#[derive(Debug, Serialize)]
struct ProgramInfo {
    spec: PathBuf,
    program_hash: Hash32,
    program_root: Hash32,
    commitment: ProgramCommitment,
    ops: Vec<OpInfo>,
}

#[derive(Debug, Serialize)]
struct OpInfo {
    index: u32,
    name: &'static str,
    leaf: Hash32,
    descriptor: OpDescriptor,
}

fn program(spec: &Path, op: Option<u32>, out: &Output) -> anyhow::Result<()> {
    let job = gavel_executor::JobSpec::load(spec)?.compile()?;
    let table = OpTable::new(&job.program)?;
    let commitment = ProgramCommitment::initial(&job.program, &job.inputs)
        .with_context(|| format!("computing the program commitment of {}", spec.display()))?;
    if let Some(j) = op {
        let opening = table.open(j).map_err(|_| {
            crate::config::UsageError(format!(
                "--op {j}: the program has {} ops (0 to {})",
                table.len(),
                table.len() - 1
            ))
        })?;
        opening.verify(&commitment)?;
        out.result(&opening, || {
            let d = &opening.descriptor;
            let path: Vec<String> = opening.siblings.iter().map(|h| format!("  {h}")).collect();
            format!(
                "op {j} of {}: {} (kind {})\n  out {}, inputs {:?}, shapes {:?}\n  param {}, k_chunk {}, trans_a {}, \
                 trans_b {}\n  leaf {}\nop tree path ({} siblings, bottom up)\n{}",
                opening.count,
                d.name().unwrap_or("?"),
                d.kind,
                d.out,
                d.inputs,
                d.shapes,
                d.param,
                d.k_chunk,
                d.trans_a,
                d.trans_b,
                d.leaf(),
                path.len(),
                path.join("\n")
            )
        });
        return Ok(());
    }
    let info = ProgramInfo {
        spec: spec.into(),
        program_hash: job.program.hash(),
        program_root: commitment.root(),
        commitment,
        ops: table
            .descriptors()
            .iter()
            .enumerate()
            .map(|(j, d)| OpInfo {
                index: j as u32,
                name: d.name().unwrap_or("?"),
                leaf: d.leaf(),
                descriptor: d.clone(),
            })
            .collect(),
    };
    out.result(&info, || {
        let c = &info.commitment;
        let slots = &job.program.slots;
        let name = |id: &u32| slots.get(*id as usize).map_or("?", |s| s.name.as_str());
        let ops: Vec<String> = info
            .ops
            .iter()
            .map(|o| {
                let inputs: Vec<&str> = o.descriptor.inputs.iter().map(name).collect();
                format!(
                    "  {:>3} {:<18} {:<10} <- {:<24} {}",
                    o.index,
                    o.name,
                    name(&o.descriptor.out),
                    inputs.join(", "),
                    o.leaf
                )
            })
            .collect();
        format!(
            "program root     {}\ninitial memory   {}\nslots            {}\nops              {}\nop tree          {}\n\
             program hash     {}\nops (descriptor leaves)\n{}",
            info.program_root,
            c.initial_memory,
            c.slots,
            c.ops,
            c.op_tree,
            info.program_hash,
            ops.join("\n")
        )
    });
    Ok(())
}

fn slot_id(store: &TraceStore, slot: &str) -> anyhow::Result<SlotId> {
    let slots = &store.program().slots;
    if let Some(i) = slots.iter().position(|s| s.name == slot) {
        return Ok(i as SlotId);
    }
    match slot.parse::<SlotId>() {
        Ok(id) if (id as usize) < slots.len() => Ok(id),
        _ => {
            let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
            bail!("no slot `{slot}` in the program; slots are {} or ids 0 to {}", names.join(", "), slots.len() - 1)
        }
    }
}

fn file<T: Serialize>(kind: &str, anchor: Hash32, anchor_kind: &str, proof: &T) -> ProofFile {
    ProofFile {
        kind: kind.into(),
        anchor,
        anchor_kind: anchor_kind.into(),
        proof: serde_json::to_value(proof).expect("proofs serialize"),
    }
}

fn position_anchor(at: Position) -> &'static str {
    match at {
        Position::Checkpoint(_) => "trace_root",
        Position::Op { .. } => "step_root",
    }
}

fn prove(dir: &Path, what: Prove, dest: Option<&Path>, out: &Output) -> anyhow::Result<()> {
    let mut store = open(dir)?;
    let proof = match what {
        Prove::Checkpoint { step } => {
            file("checkpoint", store.trace_root(), "trace_root", &store.prove_checkpoint(step)?)
        }
        Prove::Ops { step } => {
            let roots = store.op_roots(step)?;
            let step_root = store.step_root(step)?;
            let value = serde_json::json!({ "step": step, "step_root": step_root, "op_roots": roots });
            out.result(&value, || {
                let lines: Vec<String> =
                    roots.iter().enumerate().map(|(j, r)| format!("M_{{{step},{j}}}  {r}")).collect();
                format!("step root {step_root}\n{}", lines.join("\n"))
            });
            return Ok(());
        }
        Prove::OpRoot { step, op } => {
            file("op_root", store.step_root(step)?, "step_root", &store.prove_op_root(step, op)?)
        }
        Prove::Slot { at, slot } => {
            let id = slot_id(&store, &slot)?;
            let pos = at.position();
            let memory_root = *store.prove_state(pos)?.memory_root();
            file("slot", memory_root, "memory_root", &store.prove_slot(pos, id)?)
        }
        Prove::Chunk { at, slot, chunk } => {
            let id = slot_id(&store, &slot)?;
            let pos = at.position();
            let tensor_root = store.prove_slot(pos, id)?.root;
            file("chunk", tensor_root, "tensor_root", &store.prove_chunk(pos, id, chunk)?)
        }
        Prove::Element { at, slot, index } => {
            let id = slot_id(&store, &slot)?;
            let pos = at.position();
            let anchor = store.anchor(pos)?;
            file("element", anchor, position_anchor(pos), &store.open_element(pos, id, index)?)
        }
    };
    let text = serde_json::to_string_pretty(&proof)?;
    match dest {
        Some(path) => {
            std::fs::write(path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))?;
            let done = serde_json::json!({ "written": path, "kind": proof.kind, "anchor": proof.anchor });
            out.result(&done, || format!("wrote {} proof to {} (anchor {})", proof.kind, path.display(), proof.anchor));
        }
        None => println!("{text}"),
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct Verdict {
    valid: bool,
    kind: String,
    root: Hash32,
    root_from_file: bool,
    error: Option<String>,
}

fn verify(path: &Path, root: Option<Hash32>, out: &Output) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file: ProofFile =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a proof file", path.display()))?;
    let anchor = root.unwrap_or(file.anchor);
    let parse = |e: serde_json::Error| anyhow::anyhow!("{}: bad {} proof: {e}", path.display(), file.kind);
    let proof = file.proof.clone();
    let result = match file.kind.as_str() {
        "checkpoint" => serde_json::from_value::<CheckpointProof>(proof).map_err(parse)?.verify(&anchor),
        "op_root" => serde_json::from_value::<OpRootProof>(proof).map_err(parse)?.verify(&anchor),
        "slot" => serde_json::from_value::<SlotProof>(proof).map_err(parse)?.verify(&anchor),
        "chunk" => serde_json::from_value::<ChunkProof>(proof).map_err(parse)?.verify(&anchor),
        "element" => serde_json::from_value::<ElementOpening>(proof).map_err(parse)?.verify(&anchor),
        other => bail!("{}: unknown proof kind `{other}`", path.display()),
    };
    let verdict = Verdict {
        valid: result.is_ok(),
        kind: file.kind.clone(),
        root: anchor,
        root_from_file: root.is_none(),
        error: result.as_ref().err().map(ToString::to_string),
    };
    out.result(&verdict, || match &verdict.error {
        None => format!(
            "valid {} proof against {} {}{}",
            verdict.kind,
            file.anchor_kind,
            anchor,
            if verdict.root_from_file {
                " (the anchor in the file; pass --root to check against a root you trust)"
            } else {
                ""
            }
        ),
        Some(e) => format!("INVALID {} proof: {e}", verdict.kind),
    });
    result.map_err(|e| anyhow::Error::new(gavel_prover::Error::from(e)).context("the proof does not verify"))
}

#[cfg(test)]
mod tests {
    use gavel_chain_client::{
        alloy::{
            primitives::{B256, keccak256},
            sol_types::SolValue,
        },
        bindings::game::DisputeGame::OpDescriptor as SolOpDescriptor,
    };
    use gavel_prover::OpDescriptor;

    fn sol(d: &OpDescriptor) -> SolOpDescriptor {
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

    /// The prover's hand-written `abi.encode` is alloy's, for the digits program's ops and
    /// for edge descriptors (negative and extreme parameters, empty arrays).
    #[test]
    fn descriptor_encoding_is_alloys() {
        let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/digits.toml");
        let job = gavel_executor::JobSpec::load(&spec).unwrap().compile().unwrap();
        let table = gavel_prover::OpTable::new(&job.program).unwrap();
        let mut all = table.descriptors().to_vec();
        let edge = OpDescriptor {
            kind: 255,
            out: u32::MAX,
            inputs: vec![],
            shapes: vec![vec![], vec![u32::MAX, 1, 2]],
            param: i32::MIN,
            k_chunk: u32::MAX,
            trans_a: true,
            trans_b: false,
        };
        all.push(edge.clone());
        all.push(OpDescriptor { shapes: vec![], param: i32::MAX, ..edge.clone() });
        all.push(OpDescriptor { param: -1, ..edge });
        for d in &all {
            let theirs = sol(d).abi_encode();
            assert_eq!(d.abi_encode(), theirs, "{d:?}");
            assert_eq!(&theirs[..32], B256::with_last_byte(0x20).as_slice());
            assert_eq!(d.leaf().0, keccak256([&[0x06u8][..], &theirs].concat()).0);
        }
    }
}
