//! Adapter selection, the device, and the per-device pipeline cache.

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, Mutex, mpsc::RecvTimeoutError},
};

use tracing::{debug, info};

use super::{
    GpuOptions, Int64Mode,
    kernels::{self, AliasMask, Kernel},
};
use crate::error::{GpuError, Result};

/// Environment variable that picks an adapter by (case-insensitive) name substring.
const ADAPTER_ENV: &str = "GAVEL_GPU_ADAPTER";

/// An opened adapter and device, shared by backends. Pipelines are compiled once per
/// context, on first use.
#[derive(Debug)]
pub struct GpuContext {
    info: wgpu::AdapterInfo,
    native_i64: bool,
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pipelines: Mutex<HashMap<(Kernel, AliasMask), Arc<Pipeline>>>,
}

/// NVIDIA's PCI vendor id. Its drivers run native `i64` kernels slower than the emulated
/// 32-bit-pair path (0.26x against 0.71x of `f32` for a 512 matmul on an H200,
/// `docs/benchmarks.md`), so [`Int64Mode::Auto`] emulates there; the bits are the same.
const NVIDIA_VENDOR: u32 = 0x10de;

/// A compiled kernel and the layout its bind groups follow.
#[derive(Debug)]
pub(super) struct Pipeline {
    pub(super) layout: wgpu::BindGroupLayout,
    pub(super) pipeline: wgpu::ComputePipeline,
}

impl GpuContext {
    /// Opens the best adapter: a hardware GPU before a software one (such as lavapipe),
    /// Vulkan, Metal and DX12 before GL. `GAVEL_GPU_ADAPTER` restricts the choice to
    /// adapters whose name contains it; `WGPU_BACKEND` restricts the backends.
    ///
    /// With [`Int64Mode::Native`] an adapter without `SHADER_INT64` is
    /// [`GpuError::Unsupported`]; with [`Int64Mode::Auto`] it runs the emulated path.
    pub fn new(options: &GpuOptions) -> Result<Arc<Self>> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let backends = desc.backends;
        let instance = wgpu::Instance::new(desc);
        let mut adapters: Vec<wgpu::Adapter> = pollster::block_on(instance.enumerate_adapters(backends))
            .into_iter()
            .filter(|a| a.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS))
            .collect();
        if adapters.is_empty() {
            return Err(GpuError::NoAdapter.into());
        }
        if let Ok(wanted) = std::env::var(ADAPTER_ENV) {
            let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
            adapters.retain(|a| a.get_info().name.to_lowercase().contains(&wanted.to_lowercase()));
            if adapters.is_empty() {
                return Err(GpuError::Device(format!(
                    "{ADAPTER_ENV}={wanted:?} matches no adapter; available: {}",
                    names.join(", ")
                ))
                .into());
            }
        }
        let has_i64 = |a: &wgpu::Adapter| a.features().contains(wgpu::Features::SHADER_INT64);
        if options.int64 == Int64Mode::Native && !adapters.iter().any(has_i64) {
            let best = adapters.iter().max_by_key(|a| rank(&a.get_info())).expect("not empty");
            return Err(GpuError::Unsupported {
                adapter: best.get_info().name,
                msg: "no SHADER_INT64, which native 64-bit mode requires (use the emulated mode)".into(),
            }
            .into());
        }
        let adapter = adapters
            .into_iter()
            .filter(|a| options.int64 != Int64Mode::Native || has_i64(a))
            .max_by_key(|a| (rank(&a.get_info()), has_i64(a)))
            .expect("at least one adapter is left");
        let info = adapter.get_info();
        let native_i64 = match options.int64 {
            Int64Mode::Native => true,
            Int64Mode::Emulated => false,
            Int64Mode::Auto => has_i64(&adapter) && info.vendor != NVIDIA_VENDOR,
        };
        let required_features = if native_i64 { wgpu::Features::SHADER_INT64 } else { wgpu::Features::empty() };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("gavel"),
            required_features,
            // The adapter's own limits, so that the largest slots can be bound.
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(format!("{}: {e}", info.name)))?;
        info!(adapter = %info.name, backend = ?info.backend, native_i64, "opened GPU");
        Ok(Arc::new(Self { info, native_i64, device, queue, pipelines: Mutex::new(HashMap::new()) }))
    }

    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub fn adapter_name(&self) -> &str {
        &self.info.name
    }

    /// The graphics API the adapter runs on, e.g. `vulkan`.
    pub fn adapter_api(&self) -> &'static str {
        self.info.backend.to_str()
    }

    /// True when kernels use the adapter's native `i64`, false on the emulated path.
    pub fn uses_native_i64(&self) -> bool {
        self.native_i64
    }

    /// Blocks until all submitted work has finished.
    pub fn wait_idle(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(drop)
            .map_err(|e| GpuError::Device(format!("waiting for the GPU: {e}")).into())
    }

    /// The largest buffer that can be bound as one storage array, in bytes.
    pub(super) fn max_binding_bytes(&self) -> u64 {
        let limits = self.device.limits();
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size)
    }

    /// The largest workgroup count of one grid dimension.
    pub(super) fn max_groups_per_dim(&self) -> u32 {
        self.device.limits().max_compute_workgroups_per_dimension
    }

    /// The pipeline of `kernel` with `inputs` inputs, the aliased ones read through the
    /// output binding; compiled on first use.
    pub(super) fn pipeline(&self, kernel: Kernel, inputs: usize, alias: AliasMask) -> Result<Arc<Pipeline>> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cache.get(&(kernel, alias)) {
            return Ok(Arc::clone(p));
        }
        debug!(?kernel, alias, native_i64 = self.native_i64, "compiling kernel");
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }];
        entries.extend((0..inputs).filter(|k| alias & (1 << k) == 0).map(|k| storage(kernels::input_binding(k), true)));
        entries.push(storage(kernels::output_binding(inputs), false));
        let source = kernels::shader_source(kernel, inputs, alias, self.native_i64);
        let label = format!("{kernel:?}");
        let (layout, pipeline) = self.checked(&format!("compiling kernel {label}"), || {
            let layout = self
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(&label), entries: &entries });
            let pipeline = self.compute_pipeline(&label, source, Some(&layout));
            (layout, pipeline)
        })?;
        let p = Arc::new(Pipeline { layout, pipeline });
        cache.insert((kernel, alias), Arc::clone(&p));
        Ok(p)
    }

    /// A compute pipeline from WGSL with entry point `main`. Without a layout, the
    /// layout is derived from the shader.
    pub(super) fn compute_pipeline(
        &self,
        label: &str,
        source: String,
        layout: Option<&wgpu::BindGroupLayout>,
    ) -> wgpu::ComputePipeline {
        let desc =
            wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)) };
        // naga's guard against infinite loops keeps the driver from unrolling the
        // matmul's inner loops (2-3x slower on lavapipe); bounds checks stay on.
        let checks = wgpu::ShaderRuntimeChecks { force_loop_bounding: false, ..wgpu::ShaderRuntimeChecks::checked() };
        // SAFETY: the one check turned off requires that no loop runs forever. Every loop
        // in these shaders counts up or down to a bound that is fixed when it starts, in
        // steps that cannot overflow (indices stay below 2^26 + 64).
        let module = unsafe { self.device.create_shader_module_trusted(desc, checks) };
        let pipeline_layout = layout.map(|l| {
            self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(label),
                bind_group_layouts: &[Some(l)],
                immediate_size: 0,
            })
        });
        self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: pipeline_layout.as_ref(),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                // Every kernel writes workgroup memory before reading it.
                zero_initialize_workgroup_memory: false,
                ..Default::default()
            },
            cache: None,
        })
    }

    /// Runs `f`, turning the validation and out-of-memory errors it raises into
    /// [`GpuError::Device`] (wgpu would otherwise panic on them).
    pub(super) fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let errors = [pollster::block_on(invalid.pop()), pollster::block_on(oom.pop())];
        match errors.into_iter().flatten().next() {
            Some(e) => Err(GpuError::Device(format!("{what}: {e}")).into()),
            None => Ok(out),
        }
    }

    /// Copies `buffers` back to the host (one submission, one wait).
    pub(super) fn read_back<T: bytemuck::Pod>(&self, buffers: &[&wgpu::Buffer]) -> Result<Vec<Vec<T>>> {
        let staging = self.checked("reading back", || {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            let staging: Vec<wgpu::Buffer> = buffers
                .iter()
                .map(|src| {
                    let dst = self.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("staging"),
                        size: src.size(),
                        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    });
                    encoder.copy_buffer_to_buffer(src, 0, &dst, 0, src.size());
                    dst
                })
                .collect();
            self.queue.submit([encoder.finish()]);
            staging
        })?;
        let (tx, rx) = std::sync::mpsc::channel();
        for buf in &staging {
            let tx = tx.clone();
            buf.slice(..).map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r)));
        }
        drop(tx);
        self.wait_idle()?;
        for _ in &staging {
            // Another thread's poll may be the one that runs the callback, a moment after
            // ours returned; poll again while waiting for it.
            let mapped = loop {
                match rx.recv_timeout(std::time::Duration::from_millis(50)) {
                    Ok(r) => break r,
                    Err(RecvTimeoutError::Timeout) => self.wait_idle()?,
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(GpuError::Device("a read-back mapping was dropped".into()).into());
                    }
                }
            };
            mapped.map_err(|e| GpuError::Device(format!("mapping a buffer: {e}")))?;
        }
        staging
            .iter()
            .map(|buf| {
                let values = {
                    let view = buf
                        .slice(..)
                        .get_mapped_range()
                        .map_err(|e| GpuError::Device(format!("reading a mapped buffer: {e}")))?;
                    // The mapping need not be aligned for `T`; this copies bytewise.
                    bytemuck::pod_collect_to_vec(&view)
                };
                buf.unmap();
                Ok(values)
            })
            .collect()
    }
}

/// Preference order of adapters: hardware first, then the API.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    };
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 1,
        _ => 0,
    };
    (device, api)
}
