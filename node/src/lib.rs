//! gavel's nodes: the solver daemon (`gavel solve`) and the watchtower daemon
//! (`gavel watch`).
mod content;
mod error;
mod fetch;
mod http;
mod metrics;
mod state;

pub use content::{ContentStore, dataset_bytes};
pub use error::{Error, Result};
pub use fetch::Fetcher;
pub use http::{NodeView, Server};
pub use metrics::Metrics;
pub use state::{State, Table};
