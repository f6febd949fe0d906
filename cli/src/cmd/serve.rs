//! `gavel serve`: serve a content folder over HTTP (a submitter publishing its jobs'
//! specs and data sets by hash).

use std::path::PathBuf;

use gavel_node::{ContentStore, Metrics, NodeView, Server};

use super::solve::{node_err, runtime, shutdown};
use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The content folder (blobs named by their keccak256).
    #[arg(long, value_name = "DIR")]
    content: PathBuf,
    /// Add a job spec and its data set to the folder first (repeatable).
    #[arg(long = "add", value_name = "SPEC")]
    add: Vec<PathBuf>,
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7540")]
    listen: String,
    /// Only add (with --add), do not serve.
    #[arg(long)]
    no_serve: bool,
}

struct NoJobs;

impl NodeView for NoJobs {
    fn job(&self, _id: u64) -> Option<serde_json::Value> {
        None
    }
    fn status(&self) -> serde_json::Value {
        serde_json::json!({ "role": "content server" })
    }
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let store = ContentStore::open(&args.content).map_err(node_err)?;
    let mut added = vec![];
    for spec in &args.add {
        let (spec_hash, input_hash) = store.add_job(spec).map_err(node_err)?;
        out.note(format!("added {}: spec {spec_hash}, data set {input_hash}", spec.display()));
        added.push(serde_json::json!({
            "spec": spec, "spec_hash": spec_hash.to_string(), "input_hash": input_hash.to_string()
        }));
    }
    if args.no_serve {
        out.result(&added, || format!("{} job(s) added to {}", added.len(), args.content.display()));
        return Ok(());
    }
    runtime().block_on(async {
        let server = Server::start(&args.listen, store, Metrics::default(), std::sync::Arc::new(NoJobs))
            .await
            .map_err(node_err)?;
        out.note(format!("serving {} on http://{}", args.content.display(), server.addr()));
        shutdown().await;
        Ok(())
    })
}
