//! The watchtower and the dispute-game player for gavel.
//!
//! Not built yet: it arrives with the nodes issue, on top of the executor, the
//! prover and the chain client. The crate exists now so the workspace has its final
//! shape.
