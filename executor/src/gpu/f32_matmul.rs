//! An f32 matrix product with the deterministic kernel's tiling: the throughput
//! baseline the benchmarks compare the Q16.16 product with. Never used for results.

use std::sync::Arc;

use wgpu::util::DeviceExt as _;

use super::{GpuContext, kernels};
use crate::error::{GpuError, Result};

/// A plain `[m, k] x [k, n]` f32 product on the GPU, with its buffers allocated once.
///
/// ```no_run
/// # use gavel_executor::{F32MatMul, GpuContext, GpuOptions};
/// let ctx = GpuContext::new(&GpuOptions::default())?;
/// let mm = F32MatMul::new(ctx.clone(), 512, 512, 512)?;
/// mm.write_inputs(&vec![1.0; 512 * 512], &vec![0.5; 512 * 512]);
/// for _ in 0..10 {
///     mm.dispatch()?;
/// }
/// ctx.wait_idle()?;
/// # Ok::<(), gavel_executor::Error>(())
/// ```
#[derive(Debug)]
pub struct F32MatMul {
    ctx: Arc<GpuContext>,
    m: u32,
    k: u32,
    n: u32,
    a: wgpu::Buffer,
    b: wgpu::Buffer,
    out: wgpu::Buffer,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    grid: (u32, u32),
}

impl F32MatMul {
    /// Compiles the kernel and allocates zeroed operands for an `[m, k] x [k, n]` product.
    pub fn new(ctx: Arc<GpuContext>, m: u32, k: u32, n: u32) -> Result<Self> {
        let (params, groups) = kernels::matmul_params(m, n, k, k.max(1), [k, 1, n, 1]);
        let grid = kernels::grid(groups, ctx.max_groups_per_dim()).ok_or_else(|| GpuError::Unsupported {
            adapter: ctx.adapter_name().into(),
            msg: format!("an f32 product of {m}x{k}x{n} needs more workgroups than the grid allows"),
        })?;
        let device = &ctx.device;
        let (a, b, out, pipeline, bind_group) = ctx.checked("preparing the f32 product", || {
            let storage = |label, elements: u32| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: elements as u64 * size_of::<f32>() as u64,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            };
            let (a, b, out) = (storage("a", m * k), storage("b", k * n), storage("out", m * n));
            let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::cast_slice(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let pipeline = ctx.compute_pipeline("f32 matmul", kernels::f32_matmul_source(), None);
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("f32 matmul"),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &[&params, &a, &b, &out]
                    .iter()
                    .enumerate()
                    .map(|(i, buf)| wgpu::BindGroupEntry { binding: i as u32, resource: buf.as_entire_binding() })
                    .collect::<Vec<_>>(),
            });
            (a, b, out, pipeline, bind_group)
        })?;
        Ok(Self { ctx, m, k, n, a, b, out, pipeline, bind_group, grid })
    }

    /// Uploads the operands, row-major `a` `[m, k]` and `b` `[k, n]`.
    ///
    /// # Panics
    ///
    /// If a length does not match the shape.
    pub fn write_inputs(&self, a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), (self.m * self.k) as usize, "a must be [m, k]");
        assert_eq!(b.len(), (self.k * self.n) as usize, "b must be [k, n]");
        self.ctx.queue.write_buffer(&self.a, 0, bytemuck::cast_slice(a));
        self.ctx.queue.write_buffer(&self.b, 0, bytemuck::cast_slice(b));
    }

    /// Submits one product without waiting for it (see [`GpuContext::wait_idle`]).
    pub fn dispatch(&self) -> Result<()> {
        self.ctx.checked("running the f32 product", || {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.dispatch_workgroups(self.grid.0, self.grid.1, 1);
            }
            self.ctx.queue.submit([encoder.finish()]);
        })
    }

    /// Reads the last product back, row-major `[m, n]`.
    pub fn read_output(&self) -> Result<Vec<f32>> {
        Ok(self.ctx.read_back(&[&self.out])?.remove(0))
    }

    /// Uploads the operands, runs the product once and reads it back.
    pub fn run(&self, a: &[f32], b: &[f32]) -> Result<Vec<f32>> {
        self.write_inputs(a, b);
        self.dispatch()?;
        self.read_output()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, gpu::GpuOptions};

    #[test]
    fn matches_a_cpu_product() {
        let ctx = match GpuContext::new(&GpuOptions::default()) {
            Ok(ctx) => ctx,
            Err(Error::Gpu(GpuError::NoAdapter)) if std::env::var("GAVEL_REQUIRE_VULKAN").as_deref() != Ok("1") => {
                eprintln!("note: no GPU adapter, test skipped");
                return;
            }
            Err(e) => panic!("opening the GPU: {e}"),
        };
        // Off the tile size in every dimension; small integers keep every sum exact.
        let (m, k, n) = (70, 33, 65);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 5) as f32 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 3) as f32 - 1.0).collect();
        let want: Vec<f32> = (0..m * n)
            .map(|o| (0..k).map(|p| a[(o / n * k + p) as usize] * b[(p * n + o % n) as usize]).sum())
            .collect();
        let mm = F32MatMul::new(ctx, m, k, n).unwrap();
        assert_eq!(mm.run(&a, &b).unwrap(), want);
    }
}
