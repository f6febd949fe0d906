//! Reading a trace store and answering the dispute game's queries from it.

use std::{
    fs,
    ops::Range,
    path::{Path, PathBuf},
    sync::Arc,
};

use gavel_executor::{Checkpoint, Hash32, Inputs, Memory, Program, SlotId, SlotKind, execute_op};
use serde::{Deserialize, Serialize};

use crate::{
    commit::{CHUNK_ELEMENTS, MemoryRoots, step_root, trace_root},
    error::{Error, Result},
    files::{self, Done, Manifest, corrupt},
    merkle,
    proof::{CheckpointProof, ChunkProof, ElementOpening, OpRootProof, SlotProof, StateProof},
    state::state_var_slots,
    tamper::Tamper,
};

/// A point of the execution at which memory is committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// After step `i` (`h_i`; 0 is the initial memory).
    Checkpoint(u64),
    /// After the first `op` operators of step `step` (`M_{step,op}`).
    Op {
        /// The step.
        step: u64,
        /// Operators run, `0..=K`.
        op: u32,
    },
}

impl Position {
    /// `(step, operators run)`, with checkpoint `i` as `(i, 0)`.
    fn key(self) -> (u64, u32) {
        match self {
            Position::Checkpoint(i) => (i, 0),
            Position::Op { step, op } => (step, op),
        }
    }
}

/// Everything read and checked from a store folder.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) program: Arc<Program>,
    pub(crate) inputs: Inputs,
    pub(crate) roots: Vec<Hash32>,
    pub(crate) done: Option<Done>,
}

impl Opened {
    /// Reads and checks the store; an unfinished one is an error unless `unfinished`.
    pub(crate) fn read(dir: &Path, unfinished: bool) -> Result<Self> {
        let manifest_path = dir.join(files::MANIFEST);
        if !manifest_path.is_file() {
            return Err(corrupt(
                dir,
                format!("no {}: not a trace store, or its creation was interrupted", files::MANIFEST),
            ));
        }
        let manifest: Manifest = read_manifest(&manifest_path)?;
        if manifest.chunk_elements != CHUNK_ELEMENTS as u32 || manifest.every == 0 {
            return Err(corrupt(&manifest_path, "unsupported chunk size or checkpoint interval"));
        }
        let program_path = dir.join(files::PROGRAM);
        let bytes = fs::read(&program_path).map_err(files::io("reading", &program_path))?;
        if Hash32::of(&bytes) != manifest.program {
            return Err(corrupt(&program_path, format!("keccak256 differs from the manifest's {}", manifest.program)));
        }
        let program = Arc::new(Program::from_json(&bytes).map_err(|e| corrupt(&program_path, e.to_string()))?);
        if program.steps != manifest.steps {
            return Err(corrupt(&manifest_path, "step count differs from the program's"));
        }
        let mut inputs = Inputs::new();
        for hash in &manifest.inputs {
            let path = files::input_path(dir, hash);
            let bytes = fs::read(&path).map_err(files::io("reading input", &path))?;
            if bytes.len() % 4 != 0 {
                return Err(corrupt(&path, "length is not a whole number of i32 elements"));
            }
            let values = bytes.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
            inputs.insert_checked(*hash, values).map_err(|e| corrupt(&path, e.to_string()))?;
        }
        let done_path = dir.join(files::DONE);
        let done: Option<Done> = if done_path.exists() { Some(files::read_sealed(&done_path)?) } else { None };
        let roots_path = dir.join(files::ROOTS);
        let (roots, torn) = files::read_roots(&roots_path, &manifest.program, done.is_none())?;
        if torn {
            tracing::warn!(path = %roots_path.display(), kept = roots.len(), "dropped a torn record at the end of the root log");
        }
        let total = manifest.steps + 1;
        match &done {
            Some(d) => {
                if roots.len() as u64 != total || d.steps != manifest.steps {
                    return Err(corrupt(
                        &roots_path,
                        format!("{} checkpoint roots recorded, a finished run has {total}", roots.len()),
                    ));
                }
                if trace_root(&roots) != d.trace_root || roots.last() != Some(&d.output_root) {
                    return Err(corrupt(&done_path, "the recorded roots do not hash to the trace root in done.json"));
                }
            }
            None if !unfinished => {
                return Err(Error::Incomplete { dir: dir.into(), recorded: roots.len() as u64, total });
            }
            None => {}
        }
        if roots.len() as u64 > total {
            return Err(corrupt(&roots_path, format!("{} roots recorded, more than {total}", roots.len())));
        }
        Ok(Self { dir: dir.into(), manifest, program, inputs, roots, done })
    }

    /// The memory after kept step `step`, checked against its recorded root: the
    /// initial memory for step 0; for a later one, step `step - 1` run on the CPU
    /// reference (with `tamper`, if any) from the state slots of its checkpoint file
    /// ([`Manifest::file_for`]; the initial memory for step 1), the step-local slots
    /// holding whatever the initial memory gives them. `base`, the roots of any memory of
    /// this program, saves re-hashing the constants.
    ///
    /// A file that is missing or damaged, or whose rebuilt memory does not hash to the
    /// recorded root, is reported as [`Error::Corrupt`], so that callers can skip it.
    pub(crate) fn load_checkpoint(
        &self,
        step: u64,
        base: Option<&MemoryRoots>,
        tamper: Option<&Tamper>,
    ) -> Result<(Memory, MemoryRoots)> {
        let mut memory = Memory::initial(&self.program, &self.inputs)?;
        let file = self.manifest.file_for(step);
        let path = files::checkpoint_path(&self.dir, file.unwrap_or(0));
        if let Some(before) = file {
            if !path.is_file() {
                return Err(corrupt(&path, "missing"));
            }
            let ckpt = Checkpoint::read(&path).map_err(|e| corrupt(&path, e.to_string()))?;
            if ckpt.step != before || ckpt.program != self.manifest.program {
                return Err(corrupt(&path, format!("holds step {} of program {}", ckpt.step, ckpt.program)));
            }
            let state = state_var_slots(&self.program);
            if ckpt.slots.len() != state.len() {
                return Err(corrupt(
                    &path,
                    format!("holds {} slots, the program has {} state slots", ckpt.slots.len(), state.len()),
                ));
            }
            for id in state {
                let slot = &self.program.slots[id as usize];
                let values = ckpt.slot(id).filter(|v| v.len() == slot.len()).ok_or_else(|| {
                    corrupt(&path, format!("slot `{}` is missing or has the wrong length", slot.name))
                })?;
                memory.set_slot(id, values.to_vec());
            }
        }
        if step > 0 {
            for (j, op) in self.program.ops.iter().enumerate() {
                let mut out = execute_op(&self.program, op, step - 1, &memory);
                if let Some(t) = tamper {
                    t.apply(step - 1, j, &mut out);
                }
                memory.set_slot(op.output(), out);
            }
        }
        let roots = match base {
            Some(base) => {
                let mut roots = base.clone();
                let vars: Vec<(SlotId, &[i32])> = (0..self.program.slots.len() as SlotId)
                    .filter(|&id| matches!(self.program.slots[id as usize].kind, SlotKind::Var { .. }))
                    .map(|id| (id, memory.slot(id)))
                    .collect();
                roots.update_many(&vars)?;
                roots
            }
            None => MemoryRoots::new(&self.program, &memory)?,
        };
        let Some(&recorded) = self.roots.get(step as usize) else {
            return Err(Error::Inconsistent(format!("no root is recorded for checkpoint {step}")));
        };
        if recorded != roots.root() {
            let root = roots.root();
            return Err(match file {
                Some(before) => corrupt(
                    &path,
                    format!(
                        "step {before} run from its state slots gives h_{step} = {root}, the root log says {recorded}"
                    ),
                ),
                None if step == 0 => corrupt(&self.dir, "the program and inputs do not hash to the recorded h_0"),
                None => Error::Inconsistent(format!(
                    "re-executing step 0 gives h_1 = {root}, the store recorded {recorded}"
                )),
            });
        }
        Ok((memory, roots))
    }
}

/// Reads the manifest and refuses a store of another format or version.
fn read_manifest(path: &Path) -> Result<Manifest> {
    #[derive(Deserialize)]
    struct Versioned {
        body: Header,
    }
    #[derive(Deserialize)]
    struct Header {
        format: String,
        version: u32,
    }
    // The format and version first, so that a store of another version is named as
    // such rather than reported as damaged.
    let bytes = fs::read(path).map_err(files::io("reading", path))?;
    if let Ok(Versioned { body: Header { format, version } }) = serde_json::from_slice(&bytes)
        && (format != files::FORMAT || version != files::VERSION)
    {
        let hint = if format == files::FORMAT && version < files::VERSION {
            "it was written by an older gavel; record the run again to answer queries from it"
        } else {
            "it was not written by this version of gavel"
        };
        return Err(corrupt(
            path,
            format!(
                "the store is {format} version {version}, this build reads {} version {}: {hint}",
                files::FORMAT,
                files::VERSION
            ),
        ));
    }
    files::read_sealed(path)
}

/// Runs operators `ops` of step `step` on `memory`, keeping `roots` current.
fn run_ops(
    program: &Program,
    memory: &mut Memory,
    roots: &mut MemoryRoots,
    step: u64,
    ops: Range<usize>,
    tamper: Option<&Tamper>,
) -> Result<()> {
    for (j, op) in program.ops[ops.clone()].iter().enumerate() {
        let mut out = execute_op(program, op, step, memory);
        if let Some(t) = tamper {
            t.apply(step, ops.start + j, &mut out);
        }
        roots.update(op.output(), &out)?;
        memory.set_slot(op.output(), out);
    }
    Ok(())
}

#[derive(Debug)]
struct State {
    at: (u64, u32),
    memory: Memory,
    roots: MemoryRoots,
}

/// A finished trace store, answering every query of the dispute game: checkpoint
/// roots, op-level roots, slot roots and chunks, each with its proof.
///
/// States between kept checkpoints are rebuilt by re-executing on the CPU reference
/// from the nearest kept checkpoint before them; every rebuilt checkpoint is checked
/// against its recorded root, so a store never answers with data it cannot stand by.
#[derive(Debug)]
pub struct TraceStore {
    opened: Opened,
    done: Done,
    trace_levels: Vec<Vec<Hash32>>,
    /// Roots of the initial memory: the constants' roots, reused by every load.
    base: Option<MemoryRoots>,
    state: Option<State>,
    op_roots: Option<(u64, Vec<Hash32>)>,
    /// A fault its re-executions apply (tests of the dispute game only).
    tamper: Option<Tamper>,
}

impl TraceStore {
    /// Opens a finished store, checking the manifest, program, inputs, root log and
    /// trace root. Checkpoint tensors are checked when they are first used (or by
    /// [`TraceStore::check`]).
    pub fn open(dir: &Path) -> Result<Self> {
        let opened = Opened::read(dir, false)?;
        let done = opened.done.clone().expect("finished store");
        let trace_levels = merkle::levels(opened.roots.clone());
        Ok(Self { opened, done, trace_levels, base: None, state: None, op_roots: None, tamper: None })
    }

    /// Re-executes with `tamper` applied, as the run that recorded the store did
    /// (a store recorded through [`crate::Tampered`]; tests of the dispute game only).
    pub fn with_tamper(mut self, tamper: Tamper) -> Result<Self> {
        tamper.check(&self.opened.program)?;
        (self.tamper, self.state, self.op_roots) = (Some(tamper), None, None);
        Ok(self)
    }

    /// The store folder.
    pub fn dir(&self) -> &Path {
        &self.opened.dir
    }

    /// The program.
    pub fn program(&self) -> &Arc<Program> {
        &self.opened.program
    }

    /// The program's inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.opened.inputs
    }

    /// Number of steps, `N`.
    pub fn steps(&self) -> u64 {
        self.opened.manifest.steps
    }

    /// Tensors are kept after every step that is a multiple of this (and 0 and `N`).
    pub fn every(&self) -> u64 {
        self.opened.manifest.every
    }

    /// The trace root.
    pub fn trace_root(&self) -> Hash32 {
        self.done.trace_root
    }

    /// The final output root, `h_N`.
    pub fn output_root(&self) -> Hash32 {
        self.done.output_root
    }

    /// `h_0..h_N`.
    pub fn checkpoint_roots(&self) -> &[Hash32] {
        &self.opened.roots
    }

    /// Rebuilds every kept checkpoint from its file and checks it against its root.
    pub fn check(&self) -> Result<()> {
        for s in (0..=self.steps()).filter(|&s| self.opened.manifest.keeps(s)) {
            self.opened.load_checkpoint(s, self.base.as_ref(), self.tamper.as_ref())?;
        }
        Ok(())
    }

    /// The state after the last intact kept checkpoint at or before `step`. A damaged
    /// checkpoint file is reported (logged) and skipped: the state is rebuilt from an
    /// earlier one, down to the initial memory, which the program and inputs give.
    fn load_kept(&mut self, step: u64) -> Result<State> {
        let every = self.every();
        let mut kept = if step == self.steps() { step } else { step / every * every };
        if self.base.is_none() {
            let memory = Memory::initial(&self.opened.program, &self.opened.inputs)?;
            let roots = MemoryRoots::new(&self.opened.program, &memory)?;
            if roots.root() != self.opened.roots[0] {
                return Err(corrupt(&self.opened.dir, "the program and inputs do not hash to the recorded h_0"));
            }
            self.base = Some(roots);
        }
        loop {
            if kept == 0 {
                let memory = Memory::initial(&self.opened.program, &self.opened.inputs)?;
                let roots = self.base.clone().expect("set above");
                return Ok(State { at: (0, 0), memory, roots });
            }
            match self.opened.load_checkpoint(kept, self.base.as_ref(), self.tamper.as_ref()) {
                Ok((memory, roots)) => return Ok(State { at: (kept, 0), memory, roots }),
                Err(e @ Error::Corrupt { .. }) => {
                    tracing::warn!(error = %e, "skipping a damaged checkpoint; re-executing from an earlier one");
                    kept = if kept % every == 0 { kept - every } else { kept / every * every };
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn check_position(&self, at: Position) -> Result<(u64, u32)> {
        let n = self.steps();
        let k = self.program().ops.len() as u64;
        match at {
            Position::Checkpoint(i) if i > n => Err(Error::OutOfRange { what: "checkpoint", index: i, count: n + 1 }),
            Position::Op { step, .. } if step >= n => Err(Error::OutOfRange { what: "step", index: step, count: n }),
            Position::Op { op, .. } if op as u64 > k => {
                Err(Error::OutOfRange { what: "op", index: op as u64, count: k + 1 })
            }
            _ => Ok(at.key()),
        }
    }

    /// `h_i` with its proof in the trace root.
    pub fn prove_checkpoint(&self, step: u64) -> Result<CheckpointProof> {
        let count = self.steps() + 1;
        if step >= count {
            return Err(Error::OutOfRange { what: "checkpoint", index: step, count });
        }
        Ok(CheckpointProof {
            step,
            count,
            root: self.opened.roots[step as usize],
            siblings: merkle::path(&self.trace_levels, step),
        })
    }

    /// Brings the cached state to `at` and returns it.
    fn state(&mut self, at: Position) -> Result<&State> {
        let mut target = self.check_position(at)?;
        let k = self.program().ops.len() as u32;
        if target.1 == k {
            target = (target.0 + 1, 0);
        }
        if self.state.as_ref().is_some_and(|s| s.at == target) {
            return Ok(self.state.as_ref().expect("checked"));
        }
        let program = self.opened.program.clone();
        // Continue from the cached state when it lies before the target and no kept
        // checkpoint lies between them; otherwise start from the nearest kept one.
        let every = self.every();
        let kept = if target.0 == self.steps() { target.0 } else { target.0 / every * every };
        let mut state = match self.state.take() {
            Some(s) if s.at <= target && s.at >= (kept, 0) => s,
            _ => self.load_kept(target.0)?,
        };
        while state.at < target {
            let (step, done) = state.at;
            let until = if step < target.0 { k } else { target.1 };
            run_ops(
                &program,
                &mut state.memory,
                &mut state.roots,
                step,
                done as usize..until as usize,
                self.tamper.as_ref(),
            )?;
            state.at = if until == k { (step + 1, 0) } else { (step, until) };
            if state.at.1 == 0 {
                let recorded = self.opened.roots[state.at.0 as usize];
                if state.roots.root() != recorded {
                    return Err(Error::Inconsistent(format!(
                        "re-executing step {step} gives h_{} = {}, the store recorded {recorded}",
                        state.at.0,
                        state.roots.root()
                    )));
                }
            }
        }
        Ok(self.state.insert(state))
    }

    /// The memory at a position.
    pub fn memory(&mut self, at: Position) -> Result<Memory> {
        Ok(self.state(at)?.memory.clone())
    }

    /// The op-level roots `M_{i,0..K}` of step `i`, by re-executing it. Checks that
    /// they start at `h_i` and end at `h_{i+1}`.
    pub fn op_roots(&mut self, step: u64) -> Result<Vec<Hash32>> {
        if let Some((s, roots)) = &self.op_roots
            && *s == step
        {
            return Ok(roots.clone());
        }
        if step >= self.steps() {
            return Err(Error::OutOfRange { what: "step", index: step, count: self.steps() });
        }
        let program = self.opened.program.clone();
        let start = self.state(Position::Checkpoint(step))?;
        let (mut memory, mut roots) = (start.memory.clone(), start.roots.clone());
        let mut out = Vec::with_capacity(program.ops.len() + 1);
        out.push(roots.root());
        for j in 0..program.ops.len() {
            run_ops(&program, &mut memory, &mut roots, step, j..j + 1, self.tamper.as_ref())?;
            out.push(roots.root());
        }
        let next = self.opened.roots[step as usize + 1];
        if out.last() != Some(&next) {
            return Err(Error::Inconsistent(format!(
                "re-executing step {step} gives h_{} = {}, the store recorded {next}",
                step + 1,
                out.last().expect("K + 1 roots")
            )));
        }
        self.state = Some(State { at: (step + 1, 0), memory, roots });
        self.op_roots = Some((step, out.clone()));
        Ok(out)
    }

    /// The step root of step `i`: the commitment to `M_{i,0..K}`.
    pub fn step_root(&mut self, step: u64) -> Result<Hash32> {
        Ok(step_root(step, &self.op_roots(step)?))
    }

    /// `M_{i,j}` with its proof in the step root.
    pub fn prove_op_root(&mut self, step: u64, op: u32) -> Result<OpRootProof> {
        let roots = self.op_roots(step)?;
        OpRootProof::new(step, &roots, op)
    }

    /// The memory root at a position with its proof: in the trace root for a
    /// checkpoint, in the step root for an operator boundary.
    pub fn prove_state(&mut self, at: Position) -> Result<StateProof> {
        self.check_position(at)?;
        Ok(match at {
            Position::Checkpoint(i) => StateProof::Checkpoint(self.prove_checkpoint(i)?),
            Position::Op { step, op } => StateProof::Op(self.prove_op_root(step, op)?),
        })
    }

    /// The root the proofs at `at` are anchored in: the trace root, or the step root.
    pub fn anchor(&mut self, at: Position) -> Result<Hash32> {
        self.check_position(at)?;
        match at {
            Position::Checkpoint(_) => Ok(self.trace_root()),
            Position::Op { step, .. } => self.step_root(step),
        }
    }

    /// A slot's root at a position, with its proof in that memory root.
    pub fn prove_slot(&mut self, at: Position, slot: SlotId) -> Result<SlotProof> {
        let n = self.program().slots.len();
        if slot as usize >= n {
            return Err(Error::NoSuchSlot { slot, slots: n });
        }
        SlotProof::new(self.state(at)?.roots.slot_roots(), slot)
    }

    /// Chunk `chunk` of a slot at a position, with its proof in the slot's root.
    pub fn prove_chunk(&mut self, at: Position, slot: SlotId, chunk: u64) -> Result<ChunkProof> {
        let n = self.program().slots.len();
        if slot as usize >= n {
            return Err(Error::NoSuchSlot { slot, slots: n });
        }
        let shape = self.program().shape(slot).to_vec();
        ChunkProof::new(&shape, self.state(at)?.memory.slot(slot), chunk)
    }

    /// Element `index` of a slot at a position, proven up to the position's anchor.
    pub fn open_element(&mut self, at: Position, slot: SlotId, index: u64) -> Result<ElementOpening> {
        let n = self.program().slots.len();
        if slot as usize >= n {
            return Err(Error::NoSuchSlot { slot, slots: n });
        }
        let len = self.program().slots[slot as usize].len() as u64;
        if index >= len {
            return Err(Error::OutOfRange { what: "element", index, count: len });
        }
        let state = self.prove_state(at)?;
        let slot_proof = self.prove_slot(at, slot)?;
        let chunk = self.prove_chunk(at, slot, index / CHUNK_ELEMENTS as u64)?;
        let value = chunk.values[(index % CHUNK_ELEMENTS as u64) as usize];
        Ok(ElementOpening { state, slot: slot_proof, chunk, index, value })
    }
}
