//! Errors of the prover.

use std::path::PathBuf;

use gavel_executor::Hash32;

/// Result alias for the prover.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while committing, storing or answering queries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The executor failed (bad program or inputs, a backend error).
    #[error(transparent)]
    Executor(#[from] gavel_executor::Error),
    /// A proof did not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Reading or writing a file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A store file is damaged: bad checksum, truncated, or disagreeing with the rest.
    #[error("trace store {path}: {msg}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// The store was not finished (the run stopped before its last step).
    #[error(
        "trace store {dir} is incomplete: {recorded} of {total} checkpoint roots recorded; run the job again to finish it"
    )]
    Incomplete {
        /// The store folder.
        dir: PathBuf,
        /// Checkpoint roots recorded (`h_0..`).
        recorded: u64,
        /// Checkpoint roots of a finished run (`steps + 1`).
        total: u64,
    },
    /// The folder already holds a store of another program, or a finished one.
    #[error("trace store {dir}: {msg}")]
    Exists {
        /// The store folder.
        dir: PathBuf,
        /// Why it cannot be written.
        msg: String,
    },
    /// A shape the commitment cannot encode, or that does not fit the values.
    #[error("shape {shape:?} {msg}")]
    Shape {
        /// The shape.
        shape: Vec<u32>,
        /// What is wrong.
        msg: String,
    },
    /// A slot id past the end of the program's slots.
    #[error("slot {slot} does not exist (the program has {slots} slots)")]
    NoSuchSlot {
        /// The requested slot.
        slot: u32,
        /// Number of slots.
        slots: usize,
    },
    /// A query for a position that does not exist.
    #[error("{what} {index} is out of range (there are {count})")]
    OutOfRange {
        /// What was asked for: "step", "op", "chunk", "element".
        what: &'static str,
        /// The requested index.
        index: u64,
        /// How many there are.
        count: u64,
    },
    /// Recorded data and re-execution disagree, or the recorder was driven out of order.
    #[error("inconsistent trace: {0}")]
    Inconsistent(String),
}

/// Why a proof was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The proof hashes to another root than the one it is checked against.
    #[error("{what} proof hashes to {computed}, expected {expected}")]
    RootMismatch {
        /// Which proof.
        what: &'static str,
        /// The trusted root.
        expected: Hash32,
        /// What the proof hashes to.
        computed: Hash32,
    },
    /// A sibling list of the wrong length for the tree's size.
    #[error("{what} proof has {actual} siblings, a tree of {leaves} leaves needs {expected}")]
    PathLength {
        /// Which proof.
        what: &'static str,
        /// Leaves of the tree.
        leaves: u64,
        /// Siblings needed.
        expected: usize,
        /// Siblings given.
        actual: usize,
    },
    /// An index past the end of the tree.
    #[error("{what} index {index} is out of range (the tree has {leaves} leaves)")]
    IndexOutOfRange {
        /// Which proof.
        what: &'static str,
        /// The index.
        index: u64,
        /// Leaves of the tree.
        leaves: u64,
    },
    /// A count or shape that no commitment can have.
    #[error("{0}")]
    Malformed(String),
    /// The parts of a chained opening do not fit together.
    #[error("{0}")]
    Mismatch(String),
}
