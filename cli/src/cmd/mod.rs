//! Subcommands, one module each.

mod chain;
mod dataset;
mod devnet;
mod dispute;
mod identity;
mod job;
mod key;
mod run;
mod serve;
mod solve;
mod trace;
mod vectors;
mod watch;

use clap::Subcommand;

use crate::output::Output;

/// Exit code for bad input from the user (spec, flags, files).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code when the requested device is not available.
pub(crate) const EXIT_DEVICE: u8 = 3;
/// Exit code for any other failure.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code when the chain fails us: unreachable RPC, a reverted or failed transaction.
pub(crate) const EXIT_CHAIN: u8 = 4;
/// Exit code when data does not match its commitment (deployed code, hashes, roots).
pub(crate) const EXIT_VERIFICATION: u8 = 5;

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
    /// The local chain (up, down, status), deploying the contracts, exporting events.
    Chain(chain::Args),
    /// Encrypted signing keys (new, import, list).
    Key(key::Args),
    /// Device identities and their stake in the DeviceRegistry.
    Identity(identity::Args),
    /// Jobs in the JobMarket: post, list, show, claim, submit, cancel, result, finalize.
    Job(job::Args),
    /// Dispute games: list them, show one move by move with its clocks and bond.
    Dispute(dispute::Args),
    /// The solver daemon: claims jobs, runs them, submits, defends disputes, collects.
    Solve(solve::Args),
    /// The watchtower daemon: re-executes results, disputes wrong ones, plays the games.
    Watch(watch::Args),
    /// Serve a content folder (job specs and data sets by hash) over HTTP.
    Serve(serve::Args),
    /// A whole network on a private local chain: the demo's story, or N solvers and M watchtowers.
    Devnet(devnet::Args),
}

pub(crate) fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run::run(args, out),
        Command::Dataset(cmd) => dataset::run(cmd, out),
        Command::Vectors(cmd) => vectors::run(cmd, out),
        Command::Trace(cmd) => trace::run(cmd, out),
        Command::Chain(args) => chain::run(args, out),
        Command::Key(args) => key::run(args, out),
        Command::Identity(args) => identity::run(args, out),
        Command::Job(args) => job::run(args, out),
        Command::Dispute(args) => dispute::run(args, out),
        Command::Solve(args) => solve::run(args, out),
        Command::Watch(args) => watch::run(args, out),
        Command::Serve(args) => serve::run(args, out),
        Command::Devnet(args) => devnet::run(args, out),
    }
}

/// Maps an error to an exit code by the executor or chain-client error at its root, if any.
pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    use gavel_executor::Error;
    if let Some(code) = chain_exit_code(err) {
        return code;
    }
    match err.chain().find_map(|e| e.downcast_ref::<Error>()) {
        Some(Error::Spec(_) | Error::Program(_) | Error::Input(_) | Error::Dataset { .. }) => EXIT_USAGE,
        Some(Error::Gpu(_)) => EXIT_DEVICE,
        _ => EXIT_FAILURE,
    }
}

/// Exit codes of the chain commands' errors.
fn chain_exit_code(err: &anyhow::Error) -> Option<u8> {
    use gavel_chain_client::ErrorKind;
    err.chain().find_map(|e| {
        if let Some(e) = e.downcast_ref::<gavel_chain_client::Error>() {
            return Some(match e.kind() {
                ErrorKind::Usage => EXIT_USAGE,
                ErrorKind::Chain => EXIT_CHAIN,
                ErrorKind::Verification => EXIT_VERIFICATION,
                ErrorKind::Other => EXIT_FAILURE,
            });
        }
        if e.is::<crate::config::UsageError>() {
            return Some(EXIT_USAGE);
        }
        e.is::<crate::config::VerificationError>().then_some(EXIT_VERIFICATION)
    })
}
