//! Subcommands, one module each.

mod dataset;
mod run;
mod trace;
mod vectors;

use clap::Subcommand;

use crate::output::Output;

/// Exit code for bad input from the user (spec, flags, files).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code when the requested device is not available.
pub(crate) const EXIT_DEVICE: u8 = 3;
/// Exit code for any other failure.
pub(crate) const EXIT_FAILURE: u8 = 1;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Train a job spec on the CPU or GPU backend, bit-identically.
    Run(run::Args),
    /// Content hashes of data sets.
    #[command(subcommand)]
    Dataset(dataset::Command),
    /// Operator test vectors for the other implementations (Solidity).
    #[command(subcommand)]
    Vectors(vectors::Command),
    /// Trace stores: inspect them, prove values from them, verify proofs.
    #[command(subcommand)]
    Trace(trace::Command),
}

pub(crate) fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run::run(args, out),
        Command::Dataset(cmd) => dataset::run(cmd, out),
        Command::Vectors(cmd) => vectors::run(cmd, out),
        Command::Trace(cmd) => trace::run(cmd, out),
    }
}

/// Maps an error to an exit code by the executor error at its root, if any.
pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    use gavel_executor::Error;
    match err.chain().find_map(|e| e.downcast_ref::<Error>()) {
        Some(Error::Spec(_) | Error::Program(_) | Error::Input(_) | Error::Dataset { .. }) => EXIT_USAGE,
        Some(Error::Gpu(_)) => EXIT_DEVICE,
        _ => EXIT_FAILURE,
    }
}
