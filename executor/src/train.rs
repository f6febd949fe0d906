//! Runs a compiled training job on a backend: steps, checkpoints, evaluation.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    backend::Backend,
    checkpoint::Checkpoint,
    cpu::CpuBackend,
    dataset::Dataset,
    error::{Error, Result},
    gpu::{GpuBackend, GpuContext},
    hash::Hash32,
    memory::Memory,
    model::{CompiledJob, inference_program},
    program::Program,
};

/// Which deterministic backend to run on.
#[derive(Clone, Debug)]
pub enum BackendChoice {
    /// The CPU reference.
    Cpu,
    /// wgpu on an opened adapter.
    Gpu(Arc<GpuContext>),
}

impl BackendChoice {
    /// Opens a backend of this kind for `program`, starting from `memory`.
    pub fn open(&self, program: Arc<Program>, memory: Memory) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendChoice::Cpu => Box::new(CpuBackend::new(program, memory)),
            BackendChoice::Gpu(ctx) => Box::new(GpuBackend::new(ctx.clone(), program, memory)?),
        })
    }
}

/// Progress of a run, reported after every step.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Steps completed.
    pub step: u64,
    /// Total steps.
    pub steps: u64,
    /// Mean batch loss (Q16.16) when it was read back at this step.
    pub loss: Option<i32>,
}

/// What to do besides stepping.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Where to write `step-NNNNNNNN.ckpt` files and `model.ckpt`; none if `None`.
    pub checkpoint_dir: Option<PathBuf>,
    /// Read the loss back every this many steps (0: only at checkpoints and the end).
    pub loss_every: u64,
}

/// The outcome of a training run.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Mean loss of the last batch (Q16.16).
    pub final_loss: i32,
    /// Trained (weight, bias) per layer.
    pub params: Vec<(Vec<i32>, Vec<i32>)>,
    /// keccak256 of the final memory bytes.
    pub final_digest: Hash32,
    /// Checkpoint files written, in order.
    pub checkpoints: Vec<PathBuf>,
}

/// Trains `job` on `backend` from its current memory (normally the initial one).
pub fn train(
    job: &CompiledJob,
    backend: &mut dyn Backend,
    options: &TrainOptions,
    mut on_progress: impl FnMut(Progress),
) -> Result<TrainReport> {
    let program = &job.program;
    let steps = program.steps;
    let interval = job.spec.checkpoint_interval();
    if let Some(dir) = &options.checkpoint_dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { what: "creating", path: dir.clone(), source })?;
    }
    let mut checkpoints = Vec::new();
    let mut loss = 0;
    for step in 0..steps {
        backend.run_step(step)?;
        let done = step + 1;
        let at_checkpoint = done % interval == 0 || done == steps;
        let read_loss = at_checkpoint || (options.loss_every > 0 && done % options.loss_every == 0);
        let reported = if read_loss {
            loss = backend.read_slot(job.loss)?[0];
            Some(loss)
        } else {
            None
        };
        if at_checkpoint && let Some(dir) = &options.checkpoint_dir {
            let memory = backend.read_memory()?;
            let path = dir.join(format!("step-{done:08}.ckpt"));
            Checkpoint::of(program, done, &memory).write(&path)?;
            checkpoints.push(path);
        }
        on_progress(Progress { step: done, steps, loss: reported });
    }
    let memory = backend.read_memory()?;
    if let Some(dir) = &options.checkpoint_dir {
        Checkpoint::of(program, steps, &memory).write(&dir.join("model.ckpt"))?;
    }
    let params = job.params.iter().map(|p| (memory.slot(p.weight).to_vec(), memory.slot(p.bias).to_vec())).collect();
    Ok(TrainReport { final_loss: loss, params, final_digest: memory.digest(), checkpoints })
}

/// Accuracy of a model on a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accuracy {
    /// Correct predictions.
    pub correct: usize,
    /// Samples.
    pub total: usize,
}

impl Accuracy {
    /// `correct / total` as a fraction.
    pub fn ratio(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }
}

/// Runs the deterministic inference program on `data` and counts correct argmaxes.
pub fn evaluate(
    choice: &BackendChoice,
    layers: &[u32],
    params: &[(Vec<i32>, Vec<i32>)],
    data: &Dataset,
) -> Result<Accuracy> {
    let (program, inputs, pred) = inference_program(layers, params, data)?;
    let memory = Memory::initial(&program, &inputs)?;
    let mut backend = choice.open(Arc::new(program), memory)?;
    backend.run_step(0)?;
    let predictions = backend.read_slot(pred)?;
    let correct = predictions.iter().zip(&data.labels).filter(|&(&p, &l)| p as u32 == l).count();
    Ok(Accuracy { correct, total: data.len() })
}

/// Restores the parameters saved in a checkpoint file of `job`'s program.
pub fn load_params(job: &CompiledJob, path: &Path) -> Result<Vec<(Vec<i32>, Vec<i32>)>> {
    let ckpt = Checkpoint::read(path)?;
    let bad = |msg: String| Error::Checkpoint { path: path.into(), msg };
    if ckpt.program != job.program.hash() {
        return Err(bad(format!("belongs to program {}, not this job's {}", ckpt.program, job.program.hash())));
    }
    job.params
        .iter()
        .map(|p| {
            let w = ckpt.slot(p.weight).ok_or_else(|| bad("weights missing".into()))?;
            let b = ckpt.slot(p.bias).ok_or_else(|| bad("biases missing".into()))?;
            Ok((w.to_vec(), b.to_vec()))
        })
        .collect()
}
