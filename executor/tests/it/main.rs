//! Integration tests of the executor, one binary (`cargo test --test it`).
//!
//! `ops`: every operator's generated suite (`gavel_executor::vectors`) on the CPU
//! reference against the GPU with native and emulated `i64`, the reference against
//! independent exact and float math, and the committed `tests/vectors/*.json`.
//! `train`: whole training runs, CPU against GPU at every step, the accuracy bars and
//! the compiler's checks.
//! `replay`: the replay bound: compiled programs within it, the digits program
//! unchanged, and the compiler's transposes and column sums bit-exact.

mod ops;
mod replay;
mod train;
