//! The wgpu backend: every operator as a WGSL kernel that reproduces the CPU
//! reference bit for bit.
//!
//! Kernels are written once against a small set of 64-bit helpers (`W`, `mul_wide`,
//! `add64`, `shr_round_even`, `sat32`, ...). Two preludes define them: one on native
//! `i64` (adapters with `SHADER_INT64`), one on pairs of `u32`. The backend keeps one
//! storage buffer per slot, and records a run of operators as one submission.

mod context;
mod f32_matmul;
mod kernels;

use std::{ops::Range, sync::Arc};

use wgpu::util::DeviceExt as _;

pub use self::{context::GpuContext, f32_matmul::F32MatMul};
use self::{
    context::Pipeline,
    kernels::{GATHER_ROW_WORD, Launch},
};
use crate::{
    backend::Backend,
    error::{Error, GpuError, ProgramError, Result},
    memory::Memory,
    program::{Program, SlotId},
};

/// How 64-bit intermediates are computed in the kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Int64Mode {
    /// Native `i64` when the adapter has `SHADER_INT64` and is not NVIDIA's (where the
    /// emulated path measured faster), emulated otherwise.
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

/// The wgpu backend.
#[derive(Debug)]
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    program: Arc<Program>,
    slots: Vec<wgpu::Buffer>,
    ops: Vec<OpRun>,
    /// Output of operators whose output is also an input they cannot share a binding
    /// with (see [`kernels::Kernel::in_place`]); copied into the slot afterwards.
    scratch: Option<wgpu::Buffer>,
}

/// One operator, ready to record.
#[derive(Debug)]
struct OpRun {
    pipeline: Arc<Pipeline>,
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    grid: (u32, u32),
    /// Output slot and byte count to copy from the scratch buffer after the dispatch.
    copy_out: Option<(SlotId, u64)>,
    gather: Option<GatherRow>,
    /// For a clear (`scale` by 0): the slot, zeroed with a buffer fill instead of the
    /// kernel (the same bits, `fx_mul(v, 0) = 0`, for a fraction of a dispatch's cost).
    clear: Option<SlotId>,
}

/// The step-dependent parameter of a Gather: which row of the index it reads.
#[derive(Debug)]
struct GatherRow {
    /// Rows of the index slot.
    t: u64,
    /// Columns of the index slot.
    b: u32,
    /// The `row_off` its parameter buffer holds now.
    current: u32,
}

impl GpuBackend {
    /// A backend for `program` starting from `memory` (one value per element of every
    /// slot). Compiles the kernels the program needs (once per context) and uploads the
    /// memory.
    pub fn new(ctx: Arc<GpuContext>, program: Arc<Program>, memory: Memory) -> Result<Self> {
        program.validate_structure()?;
        check_memory(&ctx, &program, &memory)?;
        let launches: Vec<_> = program.ops.iter().map(|op| kernels::lower(&program, op)).collect();
        let scratch_bytes = launches.iter().filter(|l| l.through_scratch()).map(|l| slot_bytes(&program, l.out)).max();
        let device = &ctx.device;
        let (slots, scratch) = ctx.checked("allocating slot buffers", || {
            let slots: Vec<_> = (program.slots.iter().enumerate())
                .map(|(id, slot)| {
                    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some(&slot.name),
                        contents: bytemuck::cast_slice(memory.slot(id as SlotId)),
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_SRC
                            | wgpu::BufferUsages::COPY_DST,
                    })
                })
                .collect();
            let scratch = scratch_bytes.map(|size| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("scratch"),
                    size,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            });
            (slots, scratch)
        })?;
        let ops = (launches.into_iter().enumerate())
            .map(|(i, launch)| OpRun::new(&ctx, &program, i, launch, &slots, scratch.as_ref()))
            .collect::<Result<_>>()?;
        Ok(Self { ctx, program, slots, ops, scratch })
    }

    /// The context this backend runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }
}

impl OpRun {
    /// Compiles (or fetches) the kernel of operator `i` and binds its slots.
    fn new(
        ctx: &GpuContext,
        program: &Program,
        i: usize,
        launch: Launch,
        slots: &[wgpu::Buffer],
        scratch: Option<&wgpu::Buffer>,
    ) -> Result<Self> {
        let through_scratch = launch.through_scratch();
        // Inputs that are the output slot are read through the output binding: a buffer
        // may not be bound both read-only and read-write in one dispatch.
        let alias = if through_scratch {
            0
        } else {
            (launch.inputs.iter().enumerate()).filter(|&(_, &id)| id == launch.out).fold(0, |m, (k, _)| m | 1 << k)
        };
        let pipeline = ctx.pipeline(launch.kernel, launch.inputs.len(), alias)?;
        let grid = kernels::grid(launch.groups, ctx.max_groups_per_dim()).ok_or_else(|| GpuError::Unsupported {
            adapter: ctx.adapter_name().into(),
            msg: format!("op {i} needs {} workgroups, more than the adapter's grid holds", launch.groups),
        })?;
        let dst = match scratch {
            Some(s) if through_scratch => s,
            _ => &slots[launch.out as usize],
        };
        let (params, bind_group) = ctx.checked("binding an operator", || {
            let params = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::cast_slice(&launch.params),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            });
            let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() }];
            entries.extend((launch.inputs.iter().enumerate()).filter(|&(k, _)| alias & (1 << k) == 0).map(
                |(k, &id)| wgpu::BindGroupEntry {
                    binding: kernels::input_binding(k),
                    resource: slots[id as usize].as_entire_binding(),
                },
            ));
            entries.push(wgpu::BindGroupEntry {
                binding: kernels::output_binding(launch.inputs.len()),
                resource: dst.as_entire_binding(),
            });
            let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(program.ops[i].name()),
                layout: &pipeline.layout,
                entries: &entries,
            });
            (params, bind_group)
        })?;
        Ok(Self {
            pipeline,
            bind_group,
            params,
            grid,
            copy_out: through_scratch.then(|| (launch.out, slot_bytes(program, launch.out))),
            gather: launch.gather.map(|(t, b)| GatherRow { t, b, current: 0 }),
            clear: program.ops[i].is_clear().then_some(launch.out),
        })
    }
}

impl Backend for GpuBackend {
    fn describe(&self) -> String {
        let i64_path = if self.ctx.uses_native_i64() { "native" } else { "emulated" };
        format!("gpu ({}, {}, {i64_path} i64)", self.ctx.adapter_name(), self.ctx.adapter_api())
    }

    /// Records the operators into one command buffer and submits it without waiting;
    /// reads wait for it.
    fn run_ops(&mut self, step: u64, ops: Range<usize>) -> Result<()> {
        let n_ops = self.ops.len();
        let Some(runs) = self.ops.get_mut(ops.clone()) else {
            return Err(ProgramError::InvalidOp {
                op: ops.end.saturating_sub(1),
                msg: format!("op range {ops:?} is outside the step body of {n_ops} ops"),
            }
            .into());
        };
        for run in runs.iter_mut() {
            if let Some(g) = &mut run.gather {
                let row_off = ((step % g.t) * g.b as u64) as u32;
                if row_off != g.current {
                    let offset = (GATHER_ROW_WORD * size_of::<u32>()) as u64;
                    self.ctx.queue.write_buffer(&run.params, offset, &row_off.to_le_bytes());
                    g.current = row_off;
                }
            }
        }
        let runs = &self.ops[ops];
        if runs.is_empty() {
            return Ok(());
        }
        let (ctx, slots, scratch) = (&self.ctx, &self.slots, &self.scratch);
        ctx.checked("running operators", || {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            let mut next = 0;
            while next < runs.len() {
                if let Some(out) = runs[next].clear {
                    // Fills, like copies, happen outside compute passes.
                    encoder.clear_buffer(&slots[out as usize], 0, None);
                    next += 1;
                    continue;
                }
                // One compute pass up to (and including) an operator whose output must be
                // copied out of the scratch buffer, or up to a clear.
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    while next < runs.len() && runs[next].clear.is_none() {
                        let run = &runs[next];
                        next += 1;
                        pass.set_pipeline(&run.pipeline.pipeline);
                        pass.set_bind_group(0, &run.bind_group, &[]);
                        pass.dispatch_workgroups(run.grid.0, run.grid.1, 1);
                        if run.copy_out.is_some() {
                            break;
                        }
                    }
                }
                if let (Some((out, bytes)), Some(scratch)) = (runs[next - 1].copy_out, scratch) {
                    encoder.copy_buffer_to_buffer(scratch, 0, &slots[out as usize], 0, bytes);
                }
            }
            ctx.queue.submit([encoder.finish()]);
        })
    }

    fn run_step(&mut self, step: u64) -> Result<()> {
        self.run_ops(step, 0..self.ops.len())
    }

    fn read_slot(&mut self, id: SlotId) -> Result<Vec<i32>> {
        let buf = self.slots.get(id as usize).ok_or_else(|| no_slot(&self.program, id))?;
        Ok(self.ctx.read_back(&[buf])?.remove(0))
    }

    fn read_memory(&mut self) -> Result<Memory> {
        let bufs: Vec<&wgpu::Buffer> = self.slots.iter().collect();
        Ok(Memory::from_slots(self.ctx.read_back(&bufs)?))
    }

    fn write_slot(&mut self, id: SlotId, values: &[i32]) -> Result<()> {
        let buf = self.slots.get(id as usize).ok_or_else(|| no_slot(&self.program, id))?;
        check_len(&self.program, id, values.len())?;
        self.ctx.queue.write_buffer(buf, 0, bytemuck::cast_slice(values));
        Ok(())
    }
}

/// Every slot has its shape's number of values and fits in one storage binding.
fn check_memory(ctx: &GpuContext, program: &Program, memory: &Memory) -> Result<()> {
    if memory.len() != program.slots.len() {
        let msg = format!("memory has {} slots, the program {}", memory.len(), program.slots.len());
        return Err(GpuError::Device(msg).into());
    }
    let max_bytes = ctx.max_binding_bytes();
    for (id, slot) in program.slots.iter().enumerate() {
        check_len(program, id as SlotId, memory.slot(id as SlotId).len())?;
        let bytes = slot_bytes(program, id as SlotId);
        if bytes > max_bytes {
            return Err(GpuError::Unsupported {
                adapter: ctx.adapter_name().into(),
                msg: format!(
                    "slot `{}` needs a {bytes}-byte storage binding, the adapter allows {max_bytes}",
                    slot.name
                ),
            }
            .into());
        }
    }
    Ok(())
}

fn slot_bytes(program: &Program, id: SlotId) -> u64 {
    program.slots[id as usize].len() as u64 * size_of::<i32>() as u64
}

fn check_len(program: &Program, id: SlotId, len: usize) -> Result<()> {
    let slot = &program.slots[id as usize];
    if len == slot.len() {
        return Ok(());
    }
    Err(ProgramError::InvalidSlot {
        slot: id as usize,
        name: slot.name.clone(),
        msg: format!("got {len} values for a slot of shape {:?} ({} elements)", slot.shape, slot.len()),
    }
    .into())
}

fn no_slot(program: &Program, id: SlotId) -> Error {
    GpuError::Device(format!("slot {id} does not exist ({} slots)", program.slots.len())).into()
}
