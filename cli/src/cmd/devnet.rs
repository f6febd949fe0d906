//! `gavel devnet`: a whole gavel network on one private local chain, as separate
//! processes of this binary: `demo` tells the protocol's story with one honest solver, one
//! cheater and one watchtower (what `scripts/demo` runs); `run` starts N solvers, M
//! watchtowers and a job generator and checks the outcome (what `scripts/devnet` runs).
//!
//! Both start their own anvil on loopback, deploy with `gavel chain deploy`, give each
//! party one of anvil's dev accounts (the key reaches the child through
//! `GAVEL_PRIVATE_KEY`, never a flag or a file), run every action as the `gavel` command a
//! user would type and every daemon as `gavel solve` / `gavel watch` / `gavel serve`, and
//! stop all of them (and anvil) when they end, fail or are interrupted.

mod demo;
mod net;
mod run;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The story: an honest GPU solver is paid, a cheating solver is disputed, bisected
    /// down to one operator, replayed on chain and slashed, and the watchtower is paid.
    Demo(demo::Args),
    /// N solvers (a fraction of them cheating), M watchtowers and a job generator; checks
    /// that every job settled, every cheat was caught, no honest party was slashed and the
    /// escrow balances, and prints throughput figures.
    Run(run::Args),
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    match args.command {
        Command::Demo(a) => demo::run(a, out),
        Command::Run(a) => run::run(a, out),
    }
}
