//! `gavel vectors export`: writes the operator test vectors (`docs/vectors.md`).

use std::path::PathBuf;

use clap::Subcommand;
use gavel_executor::vectors;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write one JSON file of cases per operator, computed by the CPU reference.
    Export {
        /// Folder to write into.
        #[arg(long, default_value = "tests/vectors")]
        dir: PathBuf,
        /// Cases per operator, edge values first (at least 1000).
        #[arg(long, default_value_t = 1000)]
        cases: usize,
    },
}

pub(crate) fn run(cmd: Command, out: &Output) -> anyhow::Result<()> {
    match cmd {
        Command::Export { dir, cases } => {
            let files = vectors::export(&dir, cases)?;
            out.result(&files, || {
                let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!("wrote {} files:\n{}", files.len(), list.join("\n"))
            });
            Ok(())
        }
    }
}
