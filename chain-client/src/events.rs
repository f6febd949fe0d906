//! Event streams that survive restarts.
//!
//! A [`LogPoller`] reads the logs of a set of contracts block range by block range, only
//! below `head - (confirmations - 1)` so that a shallow reorganisation cannot retract what
//! it delivered. The consumer keeps a [`Cursor`] (the next block to read, plus the length
//! of its own output when that is an append-only file) and stores it with
//! [`CursorFile::store`], atomically, after it has made the batch durable. After a crash it
//! reloads the cursor, cuts its output back to the recorded length (dropping a batch that
//! was written but not yet acknowledged) and polls again from the recorded block: nothing
//! is missed and nothing is delivered twice.

use std::{collections::BTreeMap, path::PathBuf};

use alloy::{
    dyn_abi::{DynSolValue, EventExt},
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::{Filter, Log},
};
use serde::{Deserialize, Serialize};

use crate::{Client, Error, Result, artifacts::ARTIFACTS, revert::format_value};

/// Where a consumer stands in the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    /// The first block not yet consumed.
    pub next_block: u64,
    /// The length of the consumer's append-only output after the last consumed batch.
    #[serde(default)]
    pub output_len: u64,
}

/// A cursor persisted in a small JSON file, replaced atomically.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    /// The cursor at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The stored cursor, or `None` when there is none yet.
    pub fn load(&self) -> Result<Option<Cursor>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| Error::bad_file(&self.path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    /// Stores `cursor` (write to a temporary file, fsync, rename).
    pub fn store(&self, cursor: &Cursor) -> Result<()> {
        let text = serde_json::to_string(cursor).map_err(|e| Error::bad_file(&self.path, e))?;
        crate::fsutil::write_atomic(&self.path, text.as_bytes())
    }
}

/// Reads logs of some contracts in block ranges.
#[derive(Debug, Clone)]
pub struct LogPoller {
    client: Client,
    addresses: Vec<Address>,
    confirmations: u64,
    max_range: u64,
}

/// One poll's result: the logs of blocks `[from, next_block)`, in chain order.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The logs.
    pub logs: Vec<Log>,
    /// The first block after this batch.
    pub next_block: u64,
}

impl LogPoller {
    /// A poller for `addresses`, delivering blocks with at least `confirmations`
    /// confirmations, at most `max_range` blocks per poll.
    pub fn new(client: Client, addresses: Vec<Address>, confirmations: u64, max_range: u64) -> Self {
        Self { client, addresses, confirmations: confirmations.max(1), max_range: max_range.max(1) }
    }

    /// The logs from `from` on, up to the confirmed head (at most `max_range` blocks);
    /// `None` when `from` is past the confirmed head.
    pub async fn poll(&self, from: u64) -> Result<Option<Batch>> {
        let head = self.client.block_number().await?;
        let Some(safe) = head.checked_sub(self.confirmations - 1) else { return Ok(None) };
        if from > safe {
            return Ok(None);
        }
        let to = safe.min(from.saturating_add(self.max_range - 1));
        let filter = Filter::new().address(self.addresses.clone()).from_block(from).to_block(to);
        let mut logs =
            self.client.provider().get_logs(&filter).await.map_err(|e| self.client.rpc_error("read logs", e))?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        Ok(Some(Batch { logs, next_block: to + 1 }))
    }

    /// Like [`LogPoller::poll`], but waits (polling every `interval`) until a confirmed
    /// block at or after `from` exists: the loop a following node runs.
    pub async fn next(&self, from: u64, interval: std::time::Duration) -> Result<Batch> {
        loop {
            if let Some(batch) = self.poll(from).await? {
                return Ok(batch);
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// A log decoded with the contracts' ABIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The emitting contract's name (from the deployments file), or its address.
    pub contract: String,
    /// The event's name, or `unknown`.
    pub event: String,
    /// The block.
    pub block: u64,
    /// The transaction.
    pub tx: Option<B256>,
    /// The log's index in its block.
    pub log_index: u64,
    /// The parameters by name, formatted.
    pub args: BTreeMap<String, String>,
}

/// Decodes `log`; `contract` names its emitter.
pub fn decode_log(contract: &str, log: &Log) -> Event {
    let mut event = Event {
        contract: contract.to_owned(),
        event: "unknown".into(),
        block: log.block_number.unwrap_or_default(),
        tx: log.transaction_hash,
        log_index: log.log_index.unwrap_or_default(),
        args: BTreeMap::new(),
    };
    let Some(topic0) = log.topic0() else { return event };
    let abi_event = ARTIFACTS.iter().flat_map(|a| a.abi().events()).find(|e| e.selector() == *topic0);
    if let Some(e) = abi_event
        && let Ok(decoded) = e.decode_log(log.data())
    {
        event.event = e.name.clone();
        let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
        for (i, p) in e.inputs.iter().enumerate() {
            let value: Option<DynSolValue> = if p.indexed { indexed.next() } else { body.next() };
            let name = if p.name.is_empty() { format!("arg{i}") } else { p.name.clone() };
            if let Some(v) = value {
                event.args.insert(name, format_value(&v, p.internal_type.as_ref().map(|t| t.to_string()).as_deref()));
            }
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let f = CursorFile::new(dir.path().join("c.json"));
        assert_eq!(f.load().unwrap(), None);
        let c = Cursor { next_block: 12, output_len: 345 };
        f.store(&c).unwrap();
        assert_eq!(f.load().unwrap(), Some(c));
        std::fs::write(dir.path().join("c.json"), "{").unwrap();
        assert!(f.load().is_err());
    }
}
