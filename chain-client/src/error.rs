//! The chain client's error type.

use std::path::PathBuf;

use alloy::primitives::{Address, TxHash};

use crate::revert::Revert;

/// A `Result` with the chain client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is, for callers that map errors to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input from the user: configuration, key names, passwords, arguments.
    Usage,
    /// The chain said no or could not be reached: RPC failures, reverts, timeouts.
    Chain,
    /// Something on chain or on disk does not match what it must be (code, hashes).
    Verification,
    /// Anything else (local I/O, a tool that would not start).
    Other,
}

/// Everything that can go wrong in the chain client.
///
/// Messages are lower-case, name the value that failed and never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The RPC endpoint did not answer (after retries).
    #[error("cannot reach the RPC endpoint {url} (is the chain running? try `gavel chain up` or --rpc-url): {message}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The transport error, as text.
        message: String,
    },
    /// The RPC endpoint answered with an error that is not a revert.
    #[error("rpc request failed: {0}")]
    Rpc(String),
    /// A call or transaction reverted; the reason is decoded where the contracts define it.
    #[error("{action} reverted: {revert}")]
    Reverted {
        /// What was being done (`register`, `deploy JobMarket`, ...).
        action: String,
        /// The decoded reason.
        revert: Revert,
    },
    /// A mined transaction failed (status 0) without a reason we could recover.
    #[error("{action}: transaction {hash} failed on chain in block {block}")]
    TxFailed {
        /// What was being done.
        action: String,
        /// The transaction.
        hash: TxHash,
        /// The block it was mined in.
        block: u64,
    },
    /// Waiting for a receipt took longer than the configured timeout.
    #[error(
        "{action}: no receipt for transaction {hash} after {secs} s (the chain may be stalled; raise --receipt-timeout)"
    )]
    ReceiptTimeout {
        /// What was being done.
        action: String,
        /// The transaction.
        hash: TxHash,
        /// The timeout.
        secs: u64,
    },
    /// The account cannot pay for the transaction.
    #[error("{action}: account {account} has too little ether for value plus gas (balance {balance} wei)")]
    InsufficientFunds {
        /// What was being done.
        action: String,
        /// The sender.
        account: Address,
        /// Its balance, in wei.
        balance: String,
    },
    /// An operation needs a signing key and none was configured.
    #[error("no signing key: pass --key NAME (see `gavel key list`) or set GAVEL_PRIVATE_KEY")]
    NoSigner,
    /// A private key (from the environment or an import) is malformed; the value is never shown.
    #[error("the private key {source_name} is not a 32-byte hex string")]
    InvalidPrivateKey {
        /// Where it came from (`GAVEL_PRIVATE_KEY`, `the import`).
        source_name: String,
    },
    /// No keystore file with that name.
    #[error("no key named {name:?} in {}; `gavel key list` shows the keys there", dir.display())]
    KeyNotFound {
        /// The key's name.
        name: String,
        /// The keystore folder.
        dir: PathBuf,
    },
    /// A keystore file with that name already exists.
    #[error("a key named {name:?} already exists in {}", dir.display())]
    KeyExists {
        /// The key's name.
        name: String,
        /// The keystore folder.
        dir: PathBuf,
    },
    /// A key name that cannot be a file name.
    #[error("invalid key name {0:?}: use letters, digits, '-', '_' and '.' (not leading)")]
    InvalidKeyName(String),
    /// The keystore could not be decrypted with the password given.
    #[error("wrong password for key {name:?} (or the keystore file is corrupt)")]
    WrongPassword {
        /// The key's name.
        name: String,
    },
    /// Any other keystore failure.
    #[error("keystore {}: {message}", path.display())]
    Keystore {
        /// The keystore file or folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The chain the RPC endpoint serves is not the one the configuration names.
    #[error("the RPC endpoint serves chain {actual}, but chain {expected} was configured")]
    ChainIdMismatch {
        /// The configured chain id.
        expected: u64,
        /// The endpoint's chain id.
        actual: u64,
    },
    /// No deployments file for the chain.
    #[error("no deployments for chain {chain_id} at {}; deploy first (`gavel chain up` for the local chain, `gavel chain deploy` elsewhere)", path.display())]
    NoDeployments {
        /// The chain id.
        chain_id: u64,
        /// The file looked for.
        path: PathBuf,
    },
    /// The deployments file does not name a contract.
    #[error("{contract} is not in the deployments file {} (redeploy with a newer gavel)", path.display())]
    NotDeployed {
        /// The contract.
        contract: String,
        /// The deployments file.
        path: PathBuf,
    },
    /// A deployed address holds no code, or other code than the deployments file says.
    #[error("{contract} at {address}: {message} (the chain was reset or the deployments file is stale; redeploy)")]
    CodeMismatch {
        /// The contract.
        contract: String,
        /// Its recorded address.
        address: Address,
        /// What is wrong.
        message: String,
    },
    /// A malformed file (deployments, cursor, keystore listing).
    #[error("{}: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A local chain process could not be started or stopped.
    #[error("local chain: {0}")]
    Anvil(String),
    /// A value returned by the chain could not be decoded.
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// File-system failure.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The kind of failure, for exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoSigner
            | Self::InvalidPrivateKey { .. }
            | Self::KeyNotFound { .. }
            | Self::KeyExists { .. }
            | Self::InvalidKeyName(_)
            | Self::WrongPassword { .. }
            | Self::Config(_)
            | Self::NoDeployments { .. } => ErrorKind::Usage,
            Self::Unreachable { .. }
            | Self::Rpc(_)
            | Self::Reverted { .. }
            | Self::TxFailed { .. }
            | Self::ReceiptTimeout { .. }
            | Self::InsufficientFunds { .. }
            | Self::ChainIdMismatch { .. } => ErrorKind::Chain,
            Self::NotDeployed { .. } | Self::CodeMismatch { .. } => ErrorKind::Verification,
            Self::Keystore { .. } | Self::BadFile { .. } | Self::Anvil(_) | Self::Decode { .. } | Self::Io { .. } => {
                ErrorKind::Other
            }
        }
    }

    /// The decoded revert, when this error is one.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            Self::Reverted { revert, .. } => Some(revert),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Self::BadFile { path: path.into(), message: message.to_string() }
    }
}
