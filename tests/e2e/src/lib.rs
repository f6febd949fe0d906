//! End-to-end tests of gavel, across processes and a real chain: nothing to link.
//!
//! The tests (`tests/it`) run the `gavel` binary as a user does: `gavel devnet demo` (the
//! story `scripts/demo` tells: an honest GPU solver paid, a cheater disputed, bisected,
//! replayed on chain and slashed, the watchtower paid) and `gavel devnet run` at a small
//! size (solvers, watchtowers and a job generator as separate processes), each on its own
//! anvil, and check every balance to the wei and that no process is left running.
//!
//! They use the `gavel` binary of the same build (`target/<profile>/gavel`, which
//! `cargo nextest run --workspace` builds; `cargo build -p gavel` first when running this
//! package alone) or the one `GAVEL_BIN` names, and the Foundry tools `scripts/bootstrap`
//! installs in `node_modules/.bin`.
