//! The wgpu backend (being written).

use std::{ops::Range, sync::Arc};

use crate::{
    backend::Backend,
    error::{GpuError, Result},
    memory::Memory,
    program::{Program, SlotId},
};

/// How 64-bit intermediates are computed in the kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Int64Mode {
    /// Native `i64` when the adapter has `SHADER_INT64`, emulated otherwise.
    #[default]
    Auto,
    /// Require native `i64`.
    Native,
    /// Always use the emulated 32-bit-pair path.
    Emulated,
}

/// Options for opening a GPU.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// 64-bit arithmetic path.
    pub int64: Int64Mode,
}

/// An opened adapter and device, shared by backends.
#[derive(Debug)]
pub struct GpuContext {}

impl GpuContext {
    /// Opens the first suitable adapter.
    pub fn new(_options: &GpuOptions) -> Result<Arc<Self>> {
        Err(GpuError::NoAdapter.into())
    }
}

/// The wgpu backend.
#[derive(Debug)]
pub struct GpuBackend {
    _program: Arc<Program>,
}

impl GpuBackend {
    /// A backend for `program` starting from `memory`.
    pub fn new(_ctx: Arc<GpuContext>, program: Arc<Program>, _memory: Memory) -> Result<Self> {
        Ok(Self { _program: program })
    }
}

impl Backend for GpuBackend {
    fn describe(&self) -> String {
        "gpu".into()
    }
    fn run_ops(&mut self, _step: u64, _ops: Range<usize>) -> Result<()> {
        Err(GpuError::NoAdapter.into())
    }
    fn run_step(&mut self, _step: u64) -> Result<()> {
        Err(GpuError::NoAdapter.into())
    }
    fn read_slot(&mut self, _id: SlotId) -> Result<Vec<i32>> {
        Err(GpuError::NoAdapter.into())
    }
    fn read_memory(&mut self) -> Result<Memory> {
        Err(GpuError::NoAdapter.into())
    }
    fn write_slot(&mut self, _id: SlotId, _values: &[i32]) -> Result<()> {
        Err(GpuError::NoAdapter.into())
    }
}
