//! `gavel`: the command-line tool of the gavel protocol.
//!
//! `main` only parses arguments, runs the chosen subcommand and maps its error to
//! an exit code; each subcommand lives in its own module under `cmd/`.

mod cmd;
mod config;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Verifiable machine-learning compute on untrusted hardware.
#[derive(Debug, Parser)]
#[command(name = "gavel", version, about, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GAVEL_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let out = output::Output::new(cli.json);
    match cmd::run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            ExitCode::from(cmd::exit_code(&err))
        }
    }
}
