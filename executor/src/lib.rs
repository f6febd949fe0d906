//! gavel's deterministic tensor runtime.
//!
//! A job spec ([`JobSpec`], TOML) compiles to a [`Program`]: fixed tensor slots of
//! Q16.16 integers and a step body of operators, each writing one slot. Two
//! backends run programs and agree bit for bit: [`CpuBackend`], the reference, and
//! [`GpuBackend`], WGSL kernels on any wgpu adapter (native `i64` where the adapter
//! has it, an emulated 32-bit-pair path where it does not). The integer semantics
//! of every operator are in `docs/numerics.md`; [`numerics`] is their Rust statement.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gavel_executor::{Backend, CpuBackend, JobSpec, Memory};
//!
//! let job = gavel_executor::JobSpec::load("examples/digits.toml".as_ref())?.compile()?;
//! let program = Arc::new(job.program);
//! let mut cpu = CpuBackend::new(program.clone(), Memory::initial(&program, &job.inputs)?);
//! for step in 0..program.steps {
//!     cpu.run_step(step)?;
//! }
//! # Ok::<(), gavel_executor::Error>(())
//! ```

mod backend;
mod checkpoint;
mod cpu;
pub mod dataset;
mod error;
mod gpu;
mod hash;
mod memory;
mod model;
pub mod numerics;
mod program;
pub mod reference;
mod rng;
mod spec;
mod train;
pub mod vectors;

pub use backend::Backend;
pub use checkpoint::Checkpoint;
pub use cpu::{CpuBackend, argmax, execute_op};
pub use dataset::{Dataset, DatasetFormat, Normalize, Standardizer};
pub use error::{Error, GpuError, InputError, ProgramError, Result, SpecError};
pub use gpu::{F32MatMul, GpuBackend, GpuContext, GpuOptions, Int64Mode};
pub use hash::{Hash32, ParseHashError};
pub use memory::{Inputs, Memory};
pub use model::{CompiledJob, K_CHUNK, LayerSlots, ProgramBuilder, inference_program};
pub use program::{
    CHUNK_ELEMENTS, MAX_REDUCE, MAX_REPLAY_CHUNKS, MAX_SLOT_ELEMENTS, MatMulDims, Op, PROGRAM_VERSION, Program, Slot,
    SlotId, SlotKind,
};
pub use rng::SplitMix64;
pub use spec::{Activation, DatasetSection, JobSection, JobSpec, MAX_LAYER_WIDTH, ModelSection, TrainSection};
pub use train::{Accuracy, BackendChoice, Progress, TrainOptions, TrainReport, evaluate, load_params, train};
