//! `gavel run`: train a job spec and report loss and held-out accuracy.

use std::{path::PathBuf, time::Instant};

use anyhow::Context;
use gavel_executor::{
    BackendChoice, Checkpoint, GpuContext, GpuOptions, Int64Mode, JobSpec, Memory, TrainOptions, evaluate,
    numerics::fx_to_f64, reference::FloatModel, train,
};
use gavel_prover::{TraceWriter, Traced};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The job spec (TOML).
    spec: PathBuf,
    /// Where to run: the CPU reference, a GPU through wgpu, or a GPU when one is found.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// How the GPU kernels do 64-bit arithmetic (results are identical either way).
    #[arg(long, value_enum, default_value_t = Int64::Auto)]
    int64: Int64,
    /// Folder for checkpoints, the final model and `summary.json`.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// Also train the same model in `f32` and report its accuracy for comparison.
    #[arg(long)]
    compare_f32: bool,
    /// Commit every step and keep the trace in this folder (a new trace store): prints
    /// the trace root and the final output root (`docs/protocol.md`).
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
    /// With `--trace`: keep the tensors of every this many checkpoints (others are
    /// re-executed when a query needs them).
    #[arg(long, default_value_t = 16, value_name = "K", requires = "trace")]
    trace_every: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Int64 {
    Auto,
    Native,
    Emulated,
}

#[derive(Debug, Serialize)]
struct Summary {
    job: String,
    backend: String,
    steps: u64,
    seconds: f64,
    steps_per_second: f64,
    final_loss: f64,
    test_correct: usize,
    test_total: usize,
    test_accuracy: f64,
    f32_test_accuracy: Option<f64>,
    program_hash: String,
    final_memory_digest: String,
    checkpoints: Vec<PathBuf>,
    model: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_root: Option<String>,
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let spec = JobSpec::load(&args.spec)?;
    let job = spec.compile().with_context(|| format!("compiling {}", args.spec.display()))?;
    let choice = open_backend(args.backend, args.int64, out)?;
    let program = std::sync::Arc::new(job.program.clone());
    let memory = Memory::initial(&program, &job.inputs)?;
    let mut backend = choice.open(program.clone(), memory)?;
    let backend_name = backend.describe();
    out.note(format!(
        "gavel run: `{}` on {backend_name}: {} steps, layers {:?}, batch {}, {} train / {} test samples",
        spec.job.name,
        program.steps,
        spec.model.layers,
        spec.train.batch_size,
        job.train.len(),
        job.test.len()
    ));

    let bar = if out.is_json() { ProgressBar::hidden() } else { ProgressBar::new(program.steps) };
    bar.set_style(
        ProgressStyle::with_template("{bar:32} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}")
            .expect("static template"),
    );
    let options = TrainOptions { checkpoint_dir: Some(args.out.clone()), loss_every: 10 };
    let started = Instant::now();
    let mut on_progress = |p: gavel_executor::Progress| {
        bar.set_position(p.step);
        if let Some(loss) = p.loss {
            bar.set_message(format!("loss {:.4}", fx_to_f64(loss)));
        }
    };
    let (report, trace) = match &args.trace {
        Some(dir) => {
            let writer = TraceWriter::create(dir, program.clone(), &job.inputs, args.trace_every)
                .with_context(|| format!("creating trace store {}", dir.display()))?;
            let mut traced = Traced::new(backend.as_mut(), writer);
            let report = train(&job, &mut traced, &options, &mut on_progress)?;
            (report, Some(traced.finish()?))
        }
        None => (train(&job, backend.as_mut(), &options, &mut on_progress)?, None),
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    let accuracy = evaluate(&choice, &spec.model.layers, &report.params, &job.test)?;
    let f32_accuracy = args.compare_f32.then(|| {
        let mut model = FloatModel::from_job(&job);
        model.train(&job);
        model.accuracy(&job.test)
    });
    let model = args.out.join("model.ckpt");
    // Read back what was written, so a bad disk shows up now rather than later.
    Checkpoint::read(&model)?;
    let summary = Summary {
        job: spec.job.name.clone(),
        backend: backend_name,
        steps: program.steps,
        seconds,
        steps_per_second: program.steps as f64 / seconds.max(1e-9),
        final_loss: fx_to_f64(report.final_loss),
        test_correct: accuracy.correct,
        test_total: accuracy.total,
        test_accuracy: accuracy.ratio(),
        f32_test_accuracy: f32_accuracy,
        program_hash: program.hash().to_string(),
        final_memory_digest: report.final_digest.to_string(),
        checkpoints: report.checkpoints.clone(),
        model: model.clone(),
        trace_dir: args.trace.clone(),
        trace_root: trace.as_ref().map(|t| t.trace_root.to_string()),
        output_root: trace.as_ref().map(|t| t.output_root.to_string()),
    };
    let path = args.out.join("summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))?;
    out.result(&summary, || {
        let mut s = format!(
            "trained {} steps in {:.1} s ({:.0} steps/s) on {}\n\
             final loss       {:.4}\n\
             test accuracy    {:.2}% ({}/{})",
            summary.steps,
            summary.seconds,
            summary.steps_per_second,
            summary.backend,
            summary.final_loss,
            100.0 * summary.test_accuracy,
            summary.test_correct,
            summary.test_total,
        );
        if let Some(f) = summary.f32_test_accuracy {
            s += &format!("\nf32 reference    {:.2}%", 100.0 * f);
        }
        s += &format!(
            "\nprogram          {}\nfinal memory     {}\nmodel            {}",
            summary.program_hash,
            summary.final_memory_digest,
            summary.model.display()
        );
        if let (Some(dir), Some(root), Some(output)) = (&summary.trace_dir, &summary.trace_root, &summary.output_root) {
            s += &format!("\ntrace store      {}\ntrace root       {root}\noutput root      {output}", dir.display());
        }
        s
    });
    Ok(())
}

fn open_backend(backend: Backend, int64: Int64, out: &Output) -> anyhow::Result<BackendChoice> {
    if backend == Backend::Cpu {
        return Ok(BackendChoice::Cpu);
    }
    let int64 = match int64 {
        Int64::Auto => Int64Mode::Auto,
        Int64::Native => Int64Mode::Native,
        Int64::Emulated => Int64Mode::Emulated,
    };
    match GpuContext::new(&GpuOptions { int64 }) {
        Ok(ctx) => Ok(BackendChoice::Gpu(ctx)),
        Err(err) if backend == Backend::Auto => {
            out.note(format!("no usable GPU ({err}); running on the CPU reference"));
            Ok(BackendChoice::Cpu)
        }
        Err(err) => Err(err.into()),
    }
}
