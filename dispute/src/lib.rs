//! Plays gavel's dispute game from a trace store, as the solver or as a challenger.
//!
//! A [`GameDriver`] holds a chain client signing as one party, the game contract's
//! address, and that party's own [`gavel_prover::TraceStore`] for the disputed job. Each
//! [`GameDriver::poll`] reads the game's state on chain and sends **at most one**
//! transaction: this party's move when it owes one, the on-chain replay once the game has
//! narrowed the dispute to one chunk, or `timeout()` when the other side ran out of time.
//! Nothing is kept between polls (every fact is on chain or in the store), so a node that
//! is killed at any moment resumes by polling again; a daemon polls on every new block or
//! on a timer.
//!
//! What each phase sends, and from which store query, is in `docs/protocol.md`
//! ("Playing the game"); the contract side is `docs/contracts.md` ("Dispute game"). In
//! short, per phase: a checkpoint proof (`Checkpoints`), the step root with its first
//! and last op-level roots and, while `h_N` was never revealed, its checkpoint proof
//! (`StepCommit`), an op-level root proof (`Ops`), the disputed op's descriptor and op-tree
//! path from [`gavel_prover::OpTable`] with the written slot's proof in the agreed
//! pre-state and the party's own post-state data root (`Slot`), the children of the
//! current node of that slot's chunk tree ([`gavel_prover::ChunkTree`], `Descent`), the
//! chunk's bytes (`ChunkReveal`), then the replay: the whole chunk for the element-wise
//! operators, else one element where the two revealed chunks differ, with the input
//! chunks that element reads (`OneStepReplay._compute`, mirrored in Rust).
//!
//! A driver first checks that its client signs as the party ([`Error::NotTheParty`]) and
//! that the store is the trace the party committed, for the program the job is bound to
//! ([`Error::WrongTrace`]). A move the contract refuses comes back as [`Error::Chain`]
//! with the decoded revert ([`Error::revert`]); nothing is sent then, because the gas
//! estimate reverts first. The driver and its poll future are `Send`, so a daemon can run
//! many games on a multi-threaded runtime, one driver per game.
//!
//! ```no_run
//! # async fn demo(client: gavel_chain_client::Client, game: gavel_chain_client::alloy::primitives::Address)
//! # -> gavel_dispute::Result<()> {
//! use gavel_dispute::{GameDriver, GameStatus, Role, Strategy};
//! use gavel_prover::TraceStore;
//!
//! let store = TraceStore::open("runs/trace".as_ref())?;
//! let mut driver = GameDriver::new(client, game, Role::Challenger, store, Strategy::Honest);
//! loop {
//!     match driver.poll().await? {
//!         GameStatus::Resolved { we_won, outcome, .. } => {
//!             println!("game over ({outcome}): {}", if we_won { "won" } else { "lost" });
//!             break;
//!         }
//!         GameStatus::Moved { action, gas_used, .. } => println!("sent {action} ({gas_used} gas)"),
//!         GameStatus::Waiting { .. } => tokio::time::sleep(std::time::Duration::from_secs(2)).await,
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The adversarial [`Strategy`] variants exist for tests of the nodes and the contracts;
//! each of them loses against an honest opponent. A wrong trace for such tests is
//! recorded through [`gavel_prover::Tampered`] and replayed consistently by a store
//! opened with [`gavel_prover::TraceStore::with_tamper`]; the integration tests
//! (`dispute/tests/it`) play whole games that way on anvil with the real contracts.

mod convert;
mod driver;
mod error;
mod replay;
mod types;

pub use driver::GameDriver;
pub use error::{Error, Result};
pub use types::{GameStatus, Move, Outcome, Phase, Role, Strategy};
