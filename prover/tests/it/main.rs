//! Integration tests of the prover: one binary, one module per area.

mod common;
mod gpu;
mod kill;
mod proofs;
mod props;
mod state;
mod store;
mod vectors;
