//! The dispute crate's error type.

use alloy::primitives::{Address, B256};

/// A `Result` with the dispute crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while playing a game.
///
/// Messages are lower-case and name the value that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A chain call or transaction failed; reverts arrive decoded (`Reverted`).
    #[error(transparent)]
    Chain(#[from] gavel_chain_client::Error),
    /// The trace store could not answer a query.
    #[error(transparent)]
    Store(#[from] gavel_prover::Error),
    /// The signing account is not the party this driver plays.
    #[error("game {game}: the {role} is {expected}, but this client signs as {actual}")]
    NotTheParty {
        /// The game contract.
        game: Address,
        /// The role played.
        role: &'static str,
        /// The party's address on chain.
        expected: Address,
        /// The client's sending account.
        actual: Address,
    },
    /// The trace store is not the trace this party committed to in the game.
    #[error("game {game}: {what} on chain is {on_chain}, the trace store has {in_store}")]
    WrongTrace {
        /// The game contract.
        game: Address,
        /// What differs (`trace root`, `steps`, `ops per step`, `slots`, `initial memory`).
        what: &'static str,
        /// The committed value.
        on_chain: String,
        /// The store's value.
        in_store: String,
    },
    /// The chain holds a value this crate does not know (a newer game version?).
    #[error("game {game}: unknown {what} {value}")]
    Unknown {
        /// The game contract.
        game: Address,
        /// `phase`, `outcome`, `operator`.
        what: &'static str,
        /// The value read.
        value: u64,
    },
    /// The game's state contradicts what the store says, so no honest move exists
    /// (for example, the two revealed chunks are equal).
    #[error("game {game}: {message}")]
    Inconsistent {
        /// The game contract.
        game: Address,
        /// What is wrong.
        message: String,
    },
    /// A transaction was mined without a receipt status we could read.
    #[error("game {game}: transaction {tx} was mined but left no receipt")]
    NoReceipt {
        /// The game contract.
        game: Address,
        /// The transaction.
        tx: B256,
    },
}

impl Error {
    /// The decoded revert, if a move was refused by the contract.
    pub fn revert(&self) -> Option<&gavel_chain_client::Revert> {
        match self {
            Error::Chain(gavel_chain_client::Error::Reverted { revert, .. }) => Some(revert),
            _ => None,
        }
    }
}
