//! Whole dispute games between two [`gavel_dispute::GameDriver`]s, on a real anvil with
//! the real contracts (registry, market, factory, game, replayer), over traces of a real
//! program (the digits MLP cut to a few steps) recorded by the prover.

mod common;
mod games;
