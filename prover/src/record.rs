//! Recording a run: a checkpoint root after every step, and optionally a trace store.
//!
//! After each step only the slots the step body writes are read (constants and slots no
//! operator writes keep the roots they had at step 0), and of those only the ones it
//! does not clear are copied and re-hashed: a cleared slot is checked to hold zeros and
//! takes the root of zeros. The copies of up to eight consecutive steps ([`Handover`])
//! go to the recorder together and are hashed as one batch, so that equal-length
//! preimages (the same slot of several steps) fill the lanes of the vectorised keccak.
//!
//! The recorder runs on a thread of its own fed through a short bounded queue, so on a
//! machine with spare cores the commitment costs the run little more than the copies
//! (the run waits only when the recorder falls [`QUEUE`] hand-overs behind), or on a
//! small pool of its own; where only one core is available it hashes on the run's own
//! thread instead ([`TraceWriter::with_hash_threads`], [`default_hash_threads`]). Never
//! on the global rayon pool that the CPU backend computes on.

use std::{
    collections::BTreeSet,
    fs,
    ops::Range,
    path::{Path, PathBuf},
    sync::{Arc, mpsc},
    thread,
};

use gavel_executor::{Backend, Checkpoint, Hash32, Inputs, Memory, Program, SlotId, SlotKind};

use crate::{
    commit::{CHUNK_ELEMENTS, MemoryRoots, On, memory_roots_many, trace_root},
    error::{Error, Result},
    files::{self, Done, Manifest, RootLog},
    keccak,
    state::state_var_slots,
};

/// Hand-overs the recorder may fall behind the run before the run waits for it.
const QUEUE: usize = 4;

/// Elements a hand-over gathers from consecutive steps before it goes to the recorder
/// (at least one step, at most [`keccak::LANES`]): a step that writes few elements has
/// few chunks of each length, too few to fill the lanes of one batch, while the same
/// slot of several steps gives as many equal-length messages as steps. It also wakes
/// the recorder once per hand-over instead of once per step.
const HANDOVER_ELEMENTS: usize = 8 * CHUNK_ELEMENTS * keccak::LANES;

/// The slots one step wrote, with their new values.
type Written = Vec<(SlotId, Vec<i32>)>;

/// What the recorder thread is sent.
enum Job {
    /// The slots a step wrote.
    Step(Written),
    /// Consecutive steps, one per entry of `uncleared`: for each, the values of every
    /// slot the step body writes and does not clear, one after the other in slot order
    /// ([`Handover`]), the steps one after the other; the recorder sends the buffer
    /// back. `uncleared[s]` holds the cleared slots that did not hold zeros after step
    /// `s` (none when the backend computes what the program says); every other cleared
    /// slot holds zeros.
    Packed { buffer: Vec<i32>, uncleared: Vec<Written> },
}

/// How the written slots of [`Handover::steps`] consecutive steps travel to the
/// recorder: packed into one buffer that goes back and forth between the two threads,
/// so that in the steady state neither allocates for the hand-over nor frees what the
/// other allocated.
#[derive(Debug)]
struct Handover {
    /// Steps per hand-over ([`HANDOVER_ELEMENTS`]).
    steps: usize,
    /// The slots the step body writes and does not clear, in slot order.
    slots: Vec<SlotId>,
    /// The slots the step body clears ([`Program::cleared_slots`]), in slot order.
    cleared: Vec<SlotId>,
    /// Where each slot's values start in a step's part of a buffer, and the part's
    /// length last.
    offsets: Vec<usize>,
    /// Buffers the recorder is done with.
    spare: mpsc::Receiver<Vec<i32>>,
}

/// A hand-over being filled.
#[derive(Debug)]
struct Pending {
    buffer: Vec<i32>,
    uncleared: Vec<Written>,
}

impl Handover {
    fn new(program: &Program, spare: mpsc::Receiver<Vec<i32>>) -> Self {
        let cleared = program.cleared_slots();
        let slots: BTreeSet<SlotId> = program.ops.iter().map(|op| op.output()).collect();
        let (cleared, slots): (Vec<SlotId>, Vec<SlotId>) = slots.into_iter().partition(|&id| cleared[id as usize]);
        let offsets: Vec<usize> = std::iter::once(0)
            .chain(slots.iter().scan(0, |end, &id| {
                *end += program.slots[id as usize].len();
                Some(*end)
            }))
            .collect();
        let per_step: usize = *offsets.last().expect("0 first");
        let steps = (HANDOVER_ELEMENTS / per_step.max(1)).clamp(1, keccak::LANES);
        Self { steps, slots, cleared, offsets, spare }
    }

    /// A buffer the recorder sent back, or a new one.
    fn buffer(&self) -> Vec<i32> {
        let capacity = self.steps * self.offsets.last().expect("0 first");
        let mut b = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(capacity));
        b.clear();
        b
    }
}

/// Environment variable that overrides [`default_hash_threads`].
pub const HASH_THREADS_ENV: &str = "GAVEL_HASH_THREADS";

/// The recorder's hashing threads unless told otherwise (0: no thread of its own, the
/// run's thread hashes): the value of [`HASH_THREADS_ENV`] if it is a number; else 0
/// where only one core is available (a thread of its own would only take turns with the
/// run, and the hand-overs measured dearer than hashing in place, `docs/benchmarks.md`);
/// else 1 where the CPU hashes eight messages at once (AVX-512: one thread keeps up
/// with the digits run using a small share of a core, and more threads measured
/// slower); else half the available parallelism, at most 4 (the other half is the CPU
/// backend's).
pub fn default_hash_threads() -> usize {
    threads_from(std::env::var(HASH_THREADS_ENV).ok().as_deref(), crate::keccak::vectorized(), || {
        thread::available_parallelism().map_or(1, |n| n.get())
    })
}

/// [`default_hash_threads`] from the environment variable's value, whether the CPU
/// hashes eight messages at once, and the core count.
fn threads_from(var: Option<&str>, vectorized: bool, cores: impl FnOnce() -> usize) -> usize {
    if let Some(n) = var.and_then(|v| v.trim().parse::<usize>().ok()) {
        return n;
    }
    match cores() {
        0 | 1 => 0,
        _ if vectorized => 1,
        n => (n / 2).clamp(1, 4),
    }
}

/// Where the recorder hashes: on its own thread alone, or on a pool of its own of
/// `threads >= 2` threads (the recorder thread waits while they work).
fn hash_pool(threads: usize) -> Result<Option<rayon::ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("gavel-hash-{i}"))
        .build()
        .map(Some)
        .map_err(|e| Error::Inconsistent(format!("starting {threads} hashing threads: {e}")))
}

/// What a finished recording committed to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TraceSummary {
    /// Steps recorded (`N`).
    pub steps: u64,
    /// The trace root: the tree over `h_0..h_N`.
    pub trace_root: Hash32,
    /// The final output root, `h_N` (the memory root after the last step).
    pub output_root: Hash32,
    /// `h_0..h_N`.
    #[serde(skip)]
    pub checkpoints: Vec<Hash32>,
}

/// A recording to resume: the writer, the step to run next and the memory before it.
#[derive(Debug)]
pub struct Resumed {
    /// The writer, expecting `next` as its next step.
    pub writer: TraceWriter,
    /// The step to run next.
    pub next: u64,
    /// The memory before step `next` (after step `next - 1`), checked against its root.
    pub memory: Memory,
}

/// Commits every step of a run: in memory only, or into a trace store on disk.
#[derive(Debug)]
pub struct TraceWriter {
    program: Arc<Program>,
    handover: Handover,
    /// Steps recorded but not handed over yet.
    pending: Option<Pending>,
    recorder: Recorder,
    next: u64,
    dir: Option<PathBuf>,
}

/// Where the hashing runs.
#[derive(Debug)]
enum Recorder {
    /// Not started yet: starts with the first hand-over, on `threads` threads of its own
    /// (none: on the run's thread).
    Idle { hasher: Box<Hasher>, threads: usize },
    /// On a thread of its own, fed through a bounded queue.
    Thread { tx: mpsc::SyncSender<Job>, handle: thread::JoinHandle<Result<Worker>> },
    /// On the run's thread, as each hand-over is made.
    Inline(Box<Hasher>),
    /// Stopped by an error, or finished.
    Stopped,
}

impl TraceWriter {
    /// Records roots only (no store), starting from `memory` before step 0.
    pub fn in_memory(program: Arc<Program>, memory: Memory) -> Result<Self> {
        let roots = MemoryRoots::new(&program, &memory)?;
        let worker = Worker::new(vec![roots.root()], memory, roots, None);
        Ok(Self::start(program, 0, None, worker))
    }

    /// Creates a trace store in `dir` (made if missing; it must not hold a store yet)
    /// for `program` starting from its initial memory, keeping every `every`-th
    /// checkpoint (and the last): a file of the state slots before the step that leads
    /// to it, from which one step rebuilds it.
    pub fn create(dir: &Path, program: Arc<Program>, inputs: &Inputs, every: u64) -> Result<Self> {
        if every == 0 {
            return Err(Error::Exists { dir: dir.into(), msg: "the checkpoint interval must be at least 1".into() });
        }
        if dir.join(files::MANIFEST).exists() {
            return Err(Error::Exists {
                dir: dir.into(),
                msg: "already holds a trace store; remove it or choose another folder".into(),
            });
        }
        program.validate()?;
        let memory = Memory::initial(&program, inputs)?;
        let roots = MemoryRoots::new(&program, &memory)?;
        let h0 = roots.root();
        // A folder left by an interrupted creation (no manifest) is started over.
        for sub in [files::CHECKPOINTS, files::INPUTS] {
            let p = dir.join(sub);
            if p.exists() {
                fs::remove_dir_all(&p).map_err(files::io("removing", &p))?;
            }
        }
        let done = dir.join(files::DONE);
        if done.exists() {
            fs::remove_file(&done).map_err(files::io("removing", &done))?;
        }
        for sub in [files::CHECKPOINTS, files::INPUTS] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(files::io("creating", &p))?;
        }
        let program_hash = program.hash();
        files::write_atomic(&dir.join(files::PROGRAM), &program.to_json(), true)?;
        let mut hashes: Vec<Hash32> = needed_inputs(&program);
        hashes.sort();
        hashes.dedup();
        for hash in &hashes {
            let values = inputs.get(hash).expect("Memory::initial found every input");
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            files::write_atomic(&files::input_path(dir, hash), &bytes, true)?;
        }
        let mut log = RootLog::create(&dir.join(files::ROOTS), &program_hash)?;
        log.append(&h0)?;
        let manifest = Manifest {
            format: files::FORMAT.into(),
            version: files::VERSION,
            program: program_hash,
            steps: program.steps,
            every,
            chunk_elements: CHUNK_ELEMENTS as u32,
            inputs: hashes,
        };
        let store = Store::new(dir, manifest.clone(), log, &program);
        store.log.sync()?;
        files::sync_dir(&dir.join(files::CHECKPOINTS))?;
        files::write_sealed(&dir.join(files::MANIFEST), &manifest)?;
        let worker = Worker::new(vec![h0], memory, roots, Some(store));
        Ok(Self::start(program, 0, Some(dir.to_path_buf()), worker))
    }

    /// Reopens an unfinished store (a run that stopped or was killed) at its last kept
    /// checkpoint. Roots recorded after it are dropped and recorded again.
    pub fn resume(dir: &Path) -> Result<Resumed> {
        let opened = crate::store::Opened::read(dir, true)?;
        if opened.done.is_some() {
            return Err(Error::Exists { dir: dir.into(), msg: "holds a finished trace; nothing to resume".into() });
        }
        let manifest = opened.manifest.clone();
        let recorded = opened.roots.len() as u64;
        if recorded == 0 {
            return Err(files::corrupt(&dir.join(files::ROOTS), "holds no root: the store cannot be resumed"));
        }
        // The last kept checkpoint whose file is intact; the initial memory if none is.
        let mut found = None;
        let present = |s: u64| manifest.file_for(s).is_none_or(|f| files::checkpoint_path(dir, f).exists());
        for s in (1..recorded).rev().filter(|&s| manifest.keeps(s) && present(s)) {
            match opened.load_checkpoint(s, None, None) {
                Ok(state) => {
                    found = Some((s, state));
                    break;
                }
                Err(e @ Error::Corrupt { .. }) => tracing::warn!(error = %e, "skipping a damaged checkpoint"),
                Err(e) => return Err(e),
            }
        }
        let (last, (memory, roots)) = match found {
            Some(f) => f,
            None => {
                let memory = Memory::initial(&opened.program, &opened.inputs)?;
                let roots = MemoryRoots::new(&opened.program, &memory)?;
                if roots.root() != opened.roots[0] {
                    return Err(files::corrupt(dir, "the program and inputs do not hash to the recorded h_0"));
                }
                (0, (memory, roots))
            }
        };
        // Drop what lies past the resumption point: the files of later kept checkpoints
        // (file `s` holds the state before step `s`, for the checkpoint after it).
        let ckpts = dir.join(files::CHECKPOINTS);
        for entry in fs::read_dir(&ckpts).map_err(files::io("listing", &ckpts))? {
            let path = entry.map_err(files::io("listing", &ckpts))?.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok());
            if stem.is_none_or(|s| s >= last) || path.extension().is_some_and(|e| e == "tmp") {
                fs::remove_file(&path).map_err(files::io("removing", &path))?;
            }
        }
        let log = RootLog::reopen(&dir.join(files::ROOTS), last + 1)?;
        let mut checkpoints = opened.roots;
        checkpoints.truncate(last as usize + 1);
        let program = opened.program.clone();
        let store = Store::new(dir, manifest, log, &program);
        tracing::info!(dir = %dir.display(), step = last, "resuming trace store");
        let worker = Worker::new(checkpoints, memory.clone(), roots, Some(store));
        Ok(Resumed { writer: Self::start(program, last, Some(dir.to_path_buf()), worker), next: last, memory })
    }

    fn start(program: Arc<Program>, next: u64, dir: Option<PathBuf>, worker: Worker) -> Self {
        let (spare_tx, spare_rx) = mpsc::channel();
        let handover = Handover::new(&program, spare_rx);
        let packed = Packed {
            slots: handover.slots.clone(),
            offsets: handover.offsets.clone(),
            cleared: handover.cleared.clone(),
            spare: spare_tx,
        };
        let hasher = Box::new(Hasher { worker, packed, zeros: None, pool: None });
        let recorder = Recorder::Idle { hasher, threads: default_hash_threads() };
        Self { program, handover, pending: None, recorder, next, dir }
    }

    /// Hashes on `threads` threads of the recorder's own instead of
    /// [`default_hash_threads`]: with 0, on the run's thread as each hand-over is made;
    /// with 1, on one thread fed through a short queue; with more, on a pool of its own
    /// (never the global rayon pool the CPU backend runs on). More threads shorten each
    /// hand-over's hashing; they also compete with the backend for cores. Only before the
    /// first step is recorded.
    pub fn with_hash_threads(mut self, threads: usize) -> Result<Self> {
        match &mut self.recorder {
            Recorder::Idle { threads: t, .. } if self.pending.is_none() => *t = threads,
            _ => return Err(Error::Inconsistent("hashing threads are chosen before the first step".into())),
        }
        Ok(self)
    }

    /// Hands `job` to the recorder (starting it on the first job), or reports why it
    /// stopped.
    fn send(&mut self, job: Job) -> Result<()> {
        if let Recorder::Idle { .. } = self.recorder {
            let Recorder::Idle { hasher, threads } = std::mem::replace(&mut self.recorder, Recorder::Stopped) else {
                unreachable!("matched above")
            };
            self.recorder = if threads == 0 {
                Recorder::Inline(hasher)
            } else {
                let (tx, rx) = mpsc::sync_channel(QUEUE);
                let steps = self.program.steps;
                let handle = thread::Builder::new()
                    .name("gavel-trace".into())
                    .spawn(move || hasher.run(steps, threads, rx))
                    .expect("spawning the trace recorder thread");
                Recorder::Thread { tx, handle }
            };
        }
        match &mut self.recorder {
            Recorder::Thread { tx, .. } => {
                if tx.send(job).is_err() {
                    // The recorder stopped on an error: report it.
                    return Err(self
                        .join()
                        .err()
                        .unwrap_or_else(|| Error::Inconsistent("trace recorder stopped".into())));
                }
                Ok(())
            }
            Recorder::Inline(hasher) => {
                let done = hasher.handle(job);
                if done.is_err() {
                    self.recorder = Recorder::Stopped;
                }
                done
            }
            Recorder::Idle { .. } => unreachable!("started above"),
            Recorder::Stopped => Err(Error::Inconsistent("trace recorder stopped".into())),
        }
    }

    /// The store folder, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The step expected next.
    pub fn next_step(&self) -> u64 {
        self.next
    }

    /// Records step `step`, which `backend` has just run (steps in order, from
    /// [`TraceWriter::next_step`]). Reads back only the slots the step body writes,
    /// and of those it clears only any that do not hold zeros.
    pub fn record_step<B: Backend + ?Sized>(&mut self, step: u64, backend: &mut B) -> Result<()> {
        self.check_step(step)?;
        let mut uncleared = Written::new();
        for &id in &self.handover.cleared {
            if !backend.slot_is_zero(id)? {
                uncleared.push((id, backend.read_slot(id)?));
            }
        }
        let handover = &self.handover;
        let pending = self.pending.get_or_insert_with(|| Pending {
            buffer: handover.buffer(),
            uncleared: Vec::with_capacity(handover.steps),
        });
        let start = pending.buffer.len();
        for (i, &id) in handover.slots.iter().enumerate() {
            let expected = handover.offsets[i + 1] - handover.offsets[i];
            let values = match backend.read_slot(id) {
                Ok(v) if v.len() == expected => v,
                other => {
                    // The steps before this one stay whole in the hand-over.
                    pending.buffer.truncate(start);
                    return Err(match other {
                        Ok(v) => Error::Inconsistent(format!(
                            "slot {id} read back {} elements, the program has {expected}",
                            v.len()
                        )),
                        Err(e) => e.into(),
                    });
                }
            };
            pending.buffer.extend_from_slice(&values);
        }
        pending.uncleared.push(uncleared);
        self.next += 1;
        if pending.uncleared.len() == handover.steps {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Sends the steps recorded but not handed over yet, if any.
    fn hand_over(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(Pending { buffer, uncleared }) => self.send(Job::Packed { buffer, uncleared }),
            None => Ok(()),
        }
    }

    /// Fails unless `step` is the step expected next and the program has it.
    fn check_step(&self, step: u64) -> Result<()> {
        if step != self.next || step >= self.program.steps {
            return Err(Error::Inconsistent(format!(
                "recorded step {step}, expected step {} of {}",
                self.next, self.program.steps
            )));
        }
        Ok(())
    }

    /// Records step `step` from the values of the slots it wrote (every slot some
    /// operator writes; others are taken as unchanged).
    pub fn record_written(&mut self, step: u64, slots: Written) -> Result<()> {
        self.check_step(step)?;
        self.hand_over()?;
        self.send(Job::Step(slots))?;
        self.next += 1;
        Ok(())
    }

    /// Stops the recorder once it has handled every job, and returns its state.
    fn join(&mut self) -> Result<Worker> {
        match std::mem::replace(&mut self.recorder, Recorder::Stopped) {
            Recorder::Idle { hasher, .. } | Recorder::Inline(hasher) => Ok(hasher.worker),
            Recorder::Thread { tx, handle } => {
                drop(tx);
                handle.join().unwrap_or_else(|_| Err(Error::Inconsistent("trace recorder panicked".into())))
            }
            Recorder::Stopped => Err(Error::Inconsistent("trace recorder already stopped".into())),
        }
    }

    /// Waits for the recorder and returns the commitments. With a store, makes every
    /// file durable and then marks the store finished. Fails if not every step of the
    /// program was recorded.
    pub fn finish(mut self) -> Result<TraceSummary> {
        self.hand_over()?;
        let worker = self.join()?;
        let steps = self.program.steps;
        if self.next != steps || worker.checkpoints.len() as u64 != steps + 1 {
            return Err(Error::Inconsistent(format!("finished after {} of {steps} steps", self.next)));
        }
        let summary = TraceSummary {
            steps,
            trace_root: trace_root(&worker.checkpoints),
            output_root: *worker.checkpoints.last().expect("h_0 at least"),
            checkpoints: worker.checkpoints,
        };
        if let Some(store) = worker.store {
            // The roots are the commitment and must be durable; kept checkpoints only
            // save re-execution (a damaged one is skipped), so they are not synced one
            // by one, which would cost a disk flush per file.
            store.log.sync()?;
            files::sync_dir(&store.dir.join(files::CHECKPOINTS))?;
            let done = Done { steps, trace_root: summary.trace_root, output_root: summary.output_root };
            files::write_sealed(&store.dir.join(files::DONE), &done)?;
        }
        Ok(summary)
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        // What was recorded is kept (a store stopped early resumes from it); an error
        // here has nowhere to go, and the next open of the store reports the state.
        if !matches!(self.recorder, Recorder::Stopped) {
            let _ = self.hand_over();
            let _ = self.join();
        }
    }
}

/// The hashes of the inputs a program's memory starts from.
fn needed_inputs(program: &Program) -> Vec<Hash32> {
    program
        .slots
        .iter()
        .filter_map(|s| match &s.kind {
            SlotKind::Const { data } => Some(*data),
            SlotKind::Var { init } => *init,
        })
        .collect()
}

/// An open store being written.
#[derive(Debug)]
struct Store {
    dir: PathBuf,
    manifest: Manifest,
    log: RootLog,
    /// keccak256 of the program.
    program: Hash32,
    /// The state slots: what a checkpoint file holds.
    state: Vec<SlotId>,
}

impl Store {
    fn new(dir: &Path, manifest: Manifest, log: RootLog, program: &Program) -> Self {
        let state = state_var_slots(program);
        Self { dir: dir.to_path_buf(), program: manifest.program, manifest, log, state }
    }

    /// Writes the state slots of `memory`, the memory after `step` steps.
    fn write_checkpoint(&self, step: u64, memory: &Memory) -> Result<()> {
        let slots = self.state.iter().map(|&id| (id, memory.slot(id).to_vec())).collect();
        let bytes = Checkpoint { step, program: self.program, slots }.to_bytes();
        files::write_atomic(&files::checkpoint_path(&self.dir, step), &bytes, false)
    }
}

/// The recorder thread's state.
#[derive(Debug)]
struct Worker {
    memory: Memory,
    roots: MemoryRoots,
    checkpoints: Vec<Hash32>,
    store: Option<Store>,
    /// The slot-tree nodes of the last memory roots: the slots a step does not write
    /// keep their subtrees.
    nodes: crate::merkle::NodeMemo,
}

/// The recorder's end of the [`Handover`].
#[derive(Debug)]
struct Packed {
    /// [`Handover::slots`].
    slots: Vec<SlotId>,
    /// [`Handover::offsets`].
    offsets: Vec<usize>,
    /// [`Handover::cleared`].
    cleared: Vec<SlotId>,
    /// Where spent buffers go back.
    spare: mpsc::Sender<Vec<i32>>,
}

/// The recorder: its state, its end of the hand-over and where it hashes.
#[derive(Debug)]
struct Hasher {
    worker: Worker,
    packed: Packed,
    /// The cleared slots with the roots of zeros (computed with the first hand-over).
    zeros: Option<Vec<(SlotId, Hash32)>>,
    /// A pool of its own, for two or more threads.
    pool: Option<rayon::ThreadPool>,
}

impl Hasher {
    /// The recorder thread: hashes on `threads` threads until the run hangs up.
    fn run(mut self: Box<Self>, steps: u64, threads: usize, rx: mpsc::Receiver<Job>) -> Result<Worker> {
        // Started here, not on the run's thread: the run only waits for the channel.
        self.pool = hash_pool(threads)?;
        for job in rx {
            self.handle(job)?;
            debug_assert!(self.worker.checkpoints.len() as u64 <= steps + 1);
        }
        Ok(self.worker)
    }

    fn handle(&mut self, job: Job) -> Result<()> {
        let pool = self.pool.as_ref();
        match job {
            Job::Step(slots) => {
                let written = slots.iter().map(|(id, v)| (*id, v.as_slice())).collect();
                self.worker.record(vec![written], &[], pool)
            }
            Job::Packed { buffer, uncleared } => {
                let packed = &self.packed;
                let zeros = match &self.zeros {
                    Some(z) => z,
                    None => {
                        let roots = &self.worker.roots;
                        let z =
                            packed.cleared.iter().map(|&id| Ok((id, roots.zero_root(id)?))).collect::<Result<_>>()?;
                        self.zeros.insert(z)
                    }
                };
                let per_step = *packed.offsets.last().expect("0 first");
                let written = uncleared
                    .iter()
                    .enumerate()
                    .map(|(s, extra)| {
                        let part = &buffer[s * per_step..(s + 1) * per_step];
                        (packed.slots.iter().zip(packed.offsets.windows(2)))
                            .map(|(&id, w)| (id, &part[w[0]..w[1]]))
                            .chain(extra.iter().map(|(id, v)| (*id, v.as_slice())))
                            .collect()
                    })
                    .collect();
                self.worker.record(written, zeros, pool)?;
                // The run may have finished and dropped its end: nothing to give back then.
                let _ = packed.spare.send(buffer);
                Ok(())
            }
        }
    }
}

impl Worker {
    fn new(checkpoints: Vec<Hash32>, memory: Memory, roots: MemoryRoots, store: Option<Store>) -> Self {
        Self { memory, roots, checkpoints, store, nodes: Default::default() }
    }

    /// Records consecutive steps, given for each the slots it wrote with their values:
    /// every chunk of all of them hashed as one batch, then the memory roots. Each slot of
    /// `zeros` that a step does not list holds zeros after it (its root is given).
    fn record(
        &mut self,
        steps: Vec<Vec<(SlotId, &[i32])>>,
        zeros: &[(SlotId, Hash32)],
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<()> {
        let all: Vec<(SlotId, &[i32])> = steps.iter().flatten().copied().collect();
        let mut new = match pool {
            Some(pool) => pool.install(|| self.roots.roots_of(&all, On::Pool))?,
            None => self.roots.roots_of(&all, On::ThisThread)?,
        }
        .into_iter();
        let mut memories = Vec::with_capacity(steps.len());
        for (s, written) in steps.iter().enumerate() {
            // The memory before the step that leads to a kept checkpoint is its file.
            let done = (self.checkpoints.len() + s) as u64;
            if let Some(store) = &self.store
                && let Some(before) = store.manifest.file_for(done)
            {
                store.write_checkpoint(before, &self.memory)?;
            }
            // Only a store needs the memory itself (for its checkpoint files).
            let keep = self.store.is_some();
            for &(id, values) in written {
                self.roots.set_root(id, new.next().expect("one root per slot"));
                if keep {
                    self.memory.slot_mut(id).copy_from_slice(values);
                }
            }
            for &(id, root) in zeros.iter().filter(|(id, _)| written.iter().all(|(w, _)| w != id)) {
                self.roots.set_root(id, root);
                if keep {
                    self.memory.slot_mut(id).fill(0);
                }
            }
            memories.push(self.roots.slot_roots().to_vec());
        }
        for h in memory_roots_many(memories, &mut self.nodes) {
            self.checkpoints.push(h);
            if let Some(store) = &mut self.store {
                store.log.append(&h)?;
            }
        }
        Ok(())
    }
}

/// A backend that records every step it runs into a [`TraceWriter`]: hand it to
/// `gavel_executor::train` in place of the backend it wraps.
///
/// Steps may run whole ([`Backend::run_step`]) or in operator ranges that cover the
/// step body in order; a step is recorded when its last operator has run. Writing a
/// slot from outside the program would break the trace and is refused.
#[derive(Debug)]
pub struct Traced<'a, B: Backend + ?Sized> {
    inner: &'a mut B,
    writer: TraceWriter,
    /// `(step, ops run)` of a step run in parts.
    partial: Option<(u64, usize)>,
}

impl<'a, B: Backend + ?Sized> Traced<'a, B> {
    /// Wraps `inner`, whose memory must be the one `writer` starts from.
    pub fn new(inner: &'a mut B, writer: TraceWriter) -> Self {
        Self { inner, writer, partial: None }
    }

    /// Finishes the recording (see [`TraceWriter::finish`]).
    pub fn finish(self) -> Result<TraceSummary> {
        if let Some((step, ops)) = self.partial {
            return Err(Error::Inconsistent(format!("step {step} stopped after {ops} operators")));
        }
        self.writer.finish()
    }

    fn fail(&self, e: Error) -> gavel_executor::Error {
        let path = self.writer.dir().map(Path::to_path_buf).unwrap_or_else(|| "(in memory)".into());
        gavel_executor::Error::Io { what: "recording the trace", path, source: std::io::Error::other(e) }
    }
}

impl<B: Backend + ?Sized> Backend for Traced<'_, B> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn run_ops(&mut self, step: u64, ops: Range<usize>) -> gavel_executor::Result<()> {
        let expected = match self.partial {
            Some((s, done)) if s == step => done,
            Some((s, done)) => {
                return Err(self.fail(Error::Inconsistent(format!("step {s} stopped after {done} operators"))));
            }
            None => 0,
        };
        if ops.start != expected || ops.end < ops.start {
            return Err(self.fail(Error::Inconsistent(format!(
                "operators {ops:?} of step {step} run out of order (next is {expected})"
            ))));
        }
        self.inner.run_ops(step, ops.clone())?;
        if ops.end == self.writer.program.ops.len() {
            self.partial = None;
            let recorded = self.writer.record_step(step, &mut *self.inner);
            recorded.map_err(|e| self.fail(e))
        } else {
            self.partial = Some((step, ops.end));
            Ok(())
        }
    }

    fn run_step(&mut self, step: u64) -> gavel_executor::Result<()> {
        self.run_ops(step, 0..self.writer.program.ops.len())
    }

    fn read_slot(&mut self, id: SlotId) -> gavel_executor::Result<Vec<i32>> {
        self.inner.read_slot(id)
    }

    fn slot_is_zero(&mut self, id: SlotId) -> gavel_executor::Result<bool> {
        self.inner.slot_is_zero(id)
    }

    fn read_memory(&mut self) -> gavel_executor::Result<Memory> {
        self.inner.read_memory()
    }

    fn write_slot(&mut self, id: SlotId, _values: &[i32]) -> gavel_executor::Result<()> {
        Err(self.fail(Error::Inconsistent(format!("slot {id} written from outside the program while recording"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_threads_default_to_none_on_one_core_one_where_vectorized_else_half_the_cores() {
        assert_eq!(threads_from(None, true, || 16), 1);
        assert_eq!(threads_from(None, false, || 16), 4);
        assert_eq!(threads_from(None, false, || 6), 3);
        assert_eq!(threads_from(None, false, || 2), 1);
        assert_eq!(threads_from(None, false, || 1), 0);
        assert_eq!(threads_from(None, true, || 1), 0);
        assert_eq!(threads_from(Some(" 3 "), true, || 16), 3);
        assert_eq!(threads_from(Some("0"), false, || 2), 0);
        assert_eq!(threads_from(Some("many"), true, || 2), 1);
    }

    #[test]
    fn every_way_of_hashing_records_the_same_trace_and_store() {
        use gavel_executor::{CpuBackend, JobSpec, TrainOptions, train};
        let repo = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let mut spec = JobSpec::load(&repo.join("examples/digits.toml")).unwrap();
        spec.job.steps = 21; // two full hand-overs of 8 steps and a part
        let job = spec.compile().unwrap();
        let program = Arc::new(job.program.clone());
        let memory = Memory::initial(&program, &job.inputs).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run = |threads: usize| {
            let store = dir.path().join(format!("t{threads}"));
            let writer = TraceWriter::create(&store, program.clone(), &job.inputs, 4).unwrap();
            let writer = writer.with_hash_threads(threads).unwrap();
            let mut cpu = CpuBackend::new(program.clone(), memory.clone());
            let mut traced = Traced::new(&mut cpu, writer);
            train(&job, &mut traced, &TrainOptions::default(), |_| {}).unwrap();
            let summary = traced.finish().unwrap();
            crate::TraceStore::open(&store).unwrap().check().unwrap();
            (summary, std::fs::read(store.join(files::ROOTS)).unwrap())
        };
        let inline = run(0);
        assert_eq!(inline.0.checkpoints.len(), 22);
        assert_eq!(run(1), inline);
        assert_eq!(run(3), inline);
        // Chosen before the first step only.
        let mut cpu = CpuBackend::new(program.clone(), memory.clone());
        let mut writer = TraceWriter::in_memory(program.clone(), memory.clone()).unwrap();
        cpu.run_step(0).unwrap();
        writer.record_step(0, &mut cpu).unwrap();
        assert!(writer.with_hash_threads(1).is_err());
    }

    /// The roots a recording of `steps` digits steps commits, through a fault at
    /// `tamper` if given, and the roots of the whole memory after each of those steps.
    fn recorded_and_true_roots(steps: u64, tamper: Option<crate::Tamper>) -> (Vec<Hash32>, Vec<Hash32>) {
        use gavel_executor::{CpuBackend, JobSpec};
        let repo = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let mut spec = JobSpec::load(&repo.join("examples/digits.toml")).unwrap();
        spec.job.steps = steps;
        let job = spec.compile().unwrap();
        let program = Arc::new(job.program);
        let memory = Memory::initial(&program, &job.inputs).unwrap();
        // `f` gets a CPU backend, behind the fault if there is one.
        let with_fault = |f: &mut dyn FnMut(&mut dyn Backend)| {
            let mut cpu = CpuBackend::new(program.clone(), memory.clone());
            match tamper {
                Some(t) => f(&mut crate::Tampered::new(&mut cpu, &program, t).unwrap()),
                None => f(&mut cpu),
            }
        };
        let mut truth = vec![MemoryRoots::new(&program, &memory).unwrap().root()];
        with_fault(&mut |b| {
            for step in 0..steps {
                b.run_step(step).unwrap();
                truth.push(MemoryRoots::new(&program, &b.read_memory().unwrap()).unwrap().root());
            }
        });
        let mut recorded = Vec::new();
        with_fault(&mut |b| {
            let mut traced = Traced::new(b, TraceWriter::in_memory(program.clone(), memory.clone()).unwrap());
            (0..steps).for_each(|step| traced.run_step(step).unwrap());
            recorded = traced.finish().unwrap().checkpoints;
        });
        (recorded, truth)
    }

    #[test]
    fn cleared_slots_commit_zeros_and_a_slot_a_backend_failed_to_clear_is_hashed() {
        let (recorded, truth) = recorded_and_true_roots(3, None);
        assert_eq!(recorded, truth);
        // A backend that leaves one element of a cleared slot wrong after step 1 (op 23:
        // ops 21 to 36 are the clears): the roots are still those of the memory it holds.
        let t = crate::Tamper { step: 1, op: 23, element: 5, delta: 7 };
        let (bad, bad_truth) = recorded_and_true_roots(3, Some(t));
        assert_eq!(bad, bad_truth);
        assert_eq!(bad[..2], truth[..2]);
        assert!(bad[2] != truth[2] && bad[3] == truth[3], "the next step clears it again");
    }

    #[test]
    fn the_hand_over_packs_the_written_state_slots_and_leaves_the_cleared_ones_out() {
        use gavel_executor::JobSpec;
        let repo = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let job = JobSpec::load(&repo.join("examples/digits.toml")).unwrap().compile().unwrap();
        let (_tx, rx) = mpsc::channel();
        let h = Handover::new(&job.program, rx);
        let (local, cleared) = (job.program.step_local_slots(), job.program.cleared_slots());
        let mut written: Vec<SlotId> = job.program.ops.iter().map(|op| op.output()).collect();
        written.sort();
        written.dedup();
        // The compiler clears exactly the step-local slots; the hand-over carries the rest.
        assert_eq!(local, cleared);
        let (gone, kept): (Vec<SlotId>, Vec<SlotId>) = written.iter().partition(|&&id| cleared[id as usize]);
        assert_eq!((h.slots.clone(), h.cleared.clone()), (kept.clone(), gone));
        assert_eq!(h.offsets.len(), kept.len() + 1);
        for (i, &id) in kept.iter().enumerate() {
            assert_eq!(h.offsets[i + 1] - h.offsets[i], job.program.slots[id as usize].len());
        }
        // w0, b0, w1, b1 and loss: 2,411 of the 13,302 written elements (`docs/benchmarks.md`).
        let names: Vec<&str> = kept.iter().map(|&id| job.program.slots[id as usize].name.as_str()).collect();
        assert_eq!(names, ["w0", "b0", "w1", "b1", "loss"]);
        assert_eq!((written.len(), *h.offsets.last().unwrap()), (21, 2_411));
        assert!(h.buffer().capacity() >= 2_411);
    }
}
