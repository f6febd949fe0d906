//! gavel's nodes: the solver daemon ([`Solver`], `gavel solve`) and the watchtower daemon
//! ([`Watcher`], `gavel watch`).
//!
//! Both are tokio services that follow the JobMarket's events (from a cursor kept in
//! their embedded database, re-reading a few blocks back so a shallow reorganisation
//! cannot corrupt them), keep every job and game in that database ([`State`], redb) with
//! each transaction written first as an intent, run jobs into resumable trace stores,
//! play their dispute games with [`gavel_dispute::GameDriver`], serve the content they
//! hold and their metrics over HTTP ([`Server`]) and retry failed RPC calls.
//!
//! ```no_run
//! # async fn demo(client: gavel_chain_client::Client, deployments: gavel_chain_client::Deployments)
//! # -> gavel_node::Result<()> {
//! use gavel_node::{NodeConfig, Solver, SolverPolicy};
//! let cfg = NodeConfig {
//!     data_dir: "/var/lib/gavel/solver".into(),
//!     listen: "127.0.0.1:7545".into(),
//!     sources: vec!["http://submitter.example:7545".into()],
//!     backend: gavel_executor::BackendChoice::Cpu,
//!     trace_every: 16,
//!     poll_interval: std::time::Duration::from_secs(2),
//!     reorg_depth: 8,
//!     confirmations: 1,
//!     device: None,
//!     adversary: None,
//! };
//! let solver = Solver::start(cfg, SolverPolicy::default(), client, &deployments, "deployments".as_ref()).await?;
//! solver.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! Operating them: `docs/operating.md`.

mod adversary;
mod chain;
mod content;
mod core;
mod error;
mod exec;
mod fetch;
mod http;
mod metrics;
mod policy;
mod solver;
mod state;
mod watcher;

pub use adversary::Adversary;
pub use chain::{Contracts, JobState};
pub use content::{ContentStore, dataset_bytes};
pub use core::{GameRecord, GameResult, NodeConfig, Status};
pub use error::{Error, Result};
pub use exec::{Prepared, Roots, RunControl, execute, prepare};
pub use fetch::Fetcher;
pub use http::{NodeView, Server};
pub use metrics::Metrics;
pub use policy::{SolverPolicy, WatchPolicy};
pub use solver::{Solver, SolverJob, SolverStage};
pub use state::{State, Table};
pub use watcher::{Report, WatchJob, WatchStage, Watcher, report};
