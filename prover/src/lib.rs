//! Commitments to gavel executions, proofs against them, and the trace store.
//!
//! Every state a program's memory passes through has a 32-byte keccak256 root that a
//! short Solidity library recomputes (the scheme is fixed in `docs/protocol.md`):
//!
//! - a **tensor root** ([`tensor_root`]): a Merkle tree over chunks of
//!   [`CHUNK_ELEMENTS`] little-endian `i32`, bound to the tensor's shape;
//! - a **memory root** ([`memory_root`], [`MemoryRoots`]): a Merkle tree over the slot
//!   roots in slot order; `h_i` is the memory root after step `i`;
//! - a **trace root** ([`trace_root`]) over `h_0..h_N`, and a **step root**
//!   ([`step_root`]) over the op-level roots `M_{i,0..K}` of one step.
//!
//! Proofs ([`CheckpointProof`], [`OpRootProof`], [`SlotProof`], [`ChunkProof`], and
//! [`ElementOpening`] chaining them) are serde types with a `verify` each.
//!
//! A run is recorded by a [`TraceWriter`], directly or through the [`Traced`] backend
//! adapter that `gavel_executor::train` drives like any backend; a [`TraceStore`] then
//! answers the dispute game's queries, re-executing from the nearest kept checkpoint.
//! Its checkpoint files hold only the state slots ([`step_local_slots`] tells them from
//! the step-local ones, which a step writes before it reads them).
//!
//! ```no_run
//! use std::sync::Arc;
//! use gavel_executor::{CpuBackend, JobSpec, Memory, TrainOptions, train};
//! use gavel_prover::{Position, TraceStore, TraceWriter, Traced};
//!
//! let job = JobSpec::load("examples/digits.toml".as_ref())?.compile()?;
//! let program = Arc::new(job.program.clone());
//! let mut cpu = CpuBackend::new(program.clone(), Memory::initial(&program, &job.inputs)?);
//! let writer = TraceWriter::create("runs/trace".as_ref(), program, &job.inputs, 16)?;
//! let mut traced = Traced::new(&mut cpu, writer);
//! train(&job, &mut traced, &TrainOptions::default(), |_| {})?;
//! let summary = traced.finish()?;
//!
//! let mut store = TraceStore::open("runs/trace".as_ref())?;
//! let opening = store.open_element(Position::Op { step: 7, op: 3 }, job.params[0].weight, 5)?;
//! opening.verify(&store.step_root(7)?)?;
//! assert_eq!(store.trace_root(), summary.trace_root);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod commit;
mod error;
mod files;
mod keccak;
mod merkle;
mod nodes;
mod program;
mod proof;
mod record;
mod state;
mod store;
mod tamper;
pub mod vectors;

pub use commit::{CHUNK_ELEMENTS, MAX_RANK, MemoryRoots, chunk_count, memory_root, step_root, tensor_root, trace_root};
pub use error::{Error, Result, VerifyError};
pub use nodes::ChunkTree;
pub use program::{OP_KINDS, OpDescriptor, OpOpening, OpTable, ProgramCommitment, TAG_OP, TAG_PROGRAM, op_kind};
pub use proof::{CheckpointProof, ChunkProof, ElementOpening, OpRootProof, SlotProof, StateProof};
pub use record::{HASH_THREADS_ENV, Resumed, TraceSummary, TraceWriter, Traced, default_hash_threads};
pub use state::step_local_slots;
pub use store::{Position, TraceStore};
pub use tamper::{Tamper, Tampered};
