//! The node crate's error type.

use std::path::PathBuf;

use alloy::primitives::B256;

/// A `Result` with the node's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a node.
///
/// Messages are lower-case, name the value that failed and never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A chain call or transaction failed (after the client's retries).
    #[error(transparent)]
    Chain(#[from] gavel_chain_client::Error),
    /// A dispute game could not be played.
    #[error(transparent)]
    Game(#[from] gavel_dispute::Error),
    /// The trace store failed.
    #[error(transparent)]
    Trace(#[from] gavel_prover::Error),
    /// The executor refused the job (spec, data set, program) or failed running it.
    #[error(transparent)]
    Executor(#[from] gavel_executor::Error),
    /// The embedded database failed.
    #[error("state database {}: {message}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A file or folder could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Content that does not hash to the hash it was asked for.
    #[error("content from {source_name} hashes to {actual}, not the requested {expected}")]
    HashMismatch {
        /// The requested hash.
        expected: B256,
        /// What the bytes hash to.
        actual: B256,
        /// Where they came from.
        source_name: String,
    },
    /// No source had the content.
    #[error("content {hash} is not available from any source (tried: {tried})")]
    NotFound {
        /// The hash.
        hash: B256,
        /// The sources tried, with what each said.
        tried: String,
    },
    /// A setting or argument is unusable.
    #[error("{0}")]
    Config(String),
    /// The HTTP server could not start.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The chain or the node's own state says something this node cannot act on.
    #[error("{0}")]
    Inconsistent(String),
}

impl Error {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }
}
