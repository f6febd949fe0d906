//! Errors of the executor.

use std::path::PathBuf;

use crate::hash::Hash32;

/// Result alias for the executor.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the executor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The job spec is malformed or inconsistent.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The program breaks a structural rule.
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// An input tensor is missing or does not match its content hash.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The GPU backend could not start or run.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// A data set file could not be read or parsed.
    #[error("dataset {path}: {msg}")]
    Dataset {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// Reading or writing a file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint file is corrupt or belongs to another program.
    #[error("checkpoint {path}: {msg}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
}

/// A job spec problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The TOML does not parse or has unknown or missing fields.
    #[error("job spec {path}: {msg}")]
    Parse {
        /// The spec file.
        path: PathBuf,
        /// The parser's message (names the field and line).
        msg: String,
    },
    /// A field has a value the executor cannot use.
    #[error("job spec field `{field}`: {msg}")]
    Field {
        /// Dotted field name, e.g. `train.batch_size`.
        field: &'static str,
        /// What is wrong and what is allowed.
        msg: String,
    },
    /// The data set file's hash is not the one the spec names.
    #[error(
        "job spec field `dataset.hash`: file {path} has keccak256 {actual}, the spec says {expected}; the file changed or the hash is wrong"
    )]
    DatasetHash {
        /// The data set file.
        path: PathBuf,
        /// Hash in the spec.
        expected: Hash32,
        /// Hash of the file.
        actual: Hash32,
    },
}

/// A structural program problem.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// Not valid JSON for the program format.
    #[error("program is not valid JSON for format v{v}: {0}", v = crate::program::PROGRAM_VERSION)]
    Json(serde_json::Error),
    /// Wrong format version.
    #[error("program format version {found} is not supported (expected {expected})")]
    Version {
        /// In the program.
        found: u32,
        /// Supported.
        expected: u32,
    },
    /// Step count out of range.
    #[error("program has {0} steps; it needs between 1 and 2^32 - 1")]
    Steps(u64),
    /// Empty step body.
    #[error("program has no operators")]
    NoOps,
    /// A slot declaration is invalid.
    #[error("slot {slot} (`{name}`): {msg}")]
    InvalidSlot {
        /// Slot index.
        slot: usize,
        /// Slot name.
        name: String,
        /// What is wrong.
        msg: String,
    },
    /// An operator is invalid.
    #[error("op {op}: {msg}")]
    InvalidOp {
        /// Operator index in the step body.
        op: usize,
        /// What is wrong.
        msg: String,
    },
    /// An operator's one-element replay would open more commitment chunks than the
    /// on-chain replay allows (`MAX_REPLAY_CHUNKS`, docs/program.md "The replay bound").
    #[error(
        "op {op} (`{name}` writing `{out}`): replaying one output element on-chain opens up to {chunks} chunks of 512 \
         elements ({reads}), more than the {max} allowed; {hint}",
        max = crate::program::MAX_REPLAY_CHUNKS
    )]
    ReplayBound {
        /// Operator index in the step body.
        op: usize,
        /// Operator name.
        name: &'static str,
        /// The slot it writes.
        out: String,
        /// Chunks its worst output element opens.
        chunks: u64,
        /// Where they come from.
        reads: String,
        /// What to change.
        hint: String,
    },
}

/// An input tensor problem.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// No tensor with this hash was supplied.
    #[error("slot `{slot}` needs input {hash}, which was not supplied")]
    Missing {
        /// Slot name.
        slot: String,
        /// Content hash.
        hash: Hash32,
    },
    /// The supplied tensor's hash differs from its address.
    #[error("input tensor addressed as {expected} hashes to {actual}")]
    HashMismatch {
        /// The address it was stored under.
        expected: Hash32,
        /// Its real hash.
        actual: Hash32,
    },
    /// The tensor has the wrong number of elements for its slot.
    #[error("slot `{slot}` has {expected} elements, input {hash} has {actual}")]
    Length {
        /// Slot name.
        slot: String,
        /// Content hash.
        hash: Hash32,
        /// Slot length.
        expected: usize,
        /// Tensor length.
        actual: usize,
    },
}

/// GPU backend problems.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No Vulkan (or other) adapter was found.
    #[error(
        "no GPU adapter found: wgpu sees no Vulkan device. Install a GPU driver, or Mesa's lavapipe \
         (`apt-get install mesa-vulkan-drivers libvulkan1`), or use `--backend cpu`"
    )]
    NoAdapter,
    /// The adapter cannot run this program (limits, features).
    #[error("GPU adapter `{adapter}` cannot run this program: {msg}")]
    Unsupported {
        /// Adapter name.
        adapter: String,
        /// Which limit or feature.
        msg: String,
    },
    /// Device creation, mapping or submission failed.
    #[error("GPU error: {0}")]
    Device(String),
}
