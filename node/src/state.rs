//! The node's embedded database (redb): jobs, games, the event cursor and counters.
//!
//! Every record is a JSON document under a `u64` id (jobs, games) or a name (`meta`).
//! Each write is its own transaction, committed durably before the call returns, so a
//! node that records an intent and then sends its transaction finds the intent again
//! after any crash, and reconciles it with the chain (see `docs/operating.md`).

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

const JOBS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("jobs");
const GAMES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("games");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

/// Which of the node's tables a record lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// Jobs, by job id.
    Jobs,
    /// Dispute games, by game id.
    Games,
}

impl Table {
    fn def(self) -> TableDefinition<'static, u64, &'static [u8]> {
        match self {
            Table::Jobs => JOBS,
            Table::Games => GAMES,
        }
    }
}

/// The node's state database.
#[derive(Debug)]
pub struct State {
    db: Database,
    path: PathBuf,
}

impl State {
    /// Opens (or creates) the database at `path` for a node of `role` (`"solver"`,
    /// `"watcher"`): a database written by the other role is refused.
    pub fn open(path: &Path, role: &str) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
        }
        let db = Database::create(path).map_err(|e| db_err(path, e))?;
        let state = Self { db, path: path.to_path_buf() };
        // Create the tables so that reads of a fresh database find them.
        let tx = state.db.begin_write().map_err(|e| state.err(e))?;
        {
            tx.open_table(JOBS).map_err(|e| state.err(e))?;
            tx.open_table(GAMES).map_err(|e| state.err(e))?;
            tx.open_table(META).map_err(|e| state.err(e))?;
        }
        tx.commit().map_err(|e| state.err(e))?;
        match state.meta::<String>("role")? {
            Some(r) if r != role => {
                return Err(Error::Config(format!(
                    "{} belongs to a {r} node, not a {role}: give each node its own --data folder",
                    path.display()
                )));
            }
            Some(_) => {}
            None => state.put_meta("role", &role.to_owned())?,
        }
        Ok(state)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        db_err(&self.path, e)
    }

    fn decode<T: DeserializeOwned>(&self, what: &str, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| self.err(format!("record {what} does not decode: {e}")))
    }

    /// The record `id` of `table`.
    pub fn get<T: DeserializeOwned>(&self, table: Table, id: u64) -> Result<Option<T>> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(table.def()).map_err(|e| self.err(e))?;
        let v = t.get(id).map_err(|e| self.err(e))?;
        v.map(|v| self.decode(&format!("{table:?} {id}"), v.value())).transpose()
    }

    /// Writes record `id` of `table` (durably, before returning).
    pub fn put<T: Serialize>(&self, table: Table, id: u64, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| self.err(e))?;
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(table.def()).map_err(|e| self.err(e))?;
            t.insert(id, bytes.as_slice()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every record of `table`, by id.
    pub fn all<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<(u64, T)>> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(table.def()).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let id = k.value();
            out.push((id, self.decode(&format!("{table:?} {id}"), v.value())?));
        }
        Ok(out)
    }

    /// A named value.
    pub fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(META).map_err(|e| self.err(e))?;
        let v = t.get(key).map_err(|e| self.err(e))?;
        v.map(|v| self.decode(key, v.value())).transpose()
    }

    /// Writes a named value.
    pub fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| self.err(e))?;
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(META).map_err(|e| self.err(e))?;
            t.insert(key, bytes.as_slice()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Adds `by` to the named counter (a decimal string, so wei amounts fit) and returns
    /// the new value.
    pub fn add(&self, key: &str, by: u128) -> Result<u128> {
        let now: u128 = self.meta::<String>(key)?.and_then(|s| s.parse().ok()).unwrap_or(0);
        let next = now.saturating_add(by);
        self.put_meta(key, &next.to_string())?;
        Ok(next)
    }

    /// The named counter (0 when never written).
    pub fn counter(&self, key: &str) -> Result<u128> {
        Ok(self.meta::<String>(key)?.and_then(|s| s.parse().ok()).unwrap_or(0))
    }
}

fn db_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Database { path: path.to_path_buf(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Rec {
        stage: String,
        n: u64,
    }

    #[test]
    fn records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.redb");
        {
            let s = State::open(&path, "solver").unwrap();
            assert_eq!(s.get::<Rec>(Table::Jobs, 1).unwrap(), None);
            s.put(Table::Jobs, 2, &Rec { stage: "claimed".into(), n: 7 }).unwrap();
            s.put(Table::Jobs, 1, &Rec { stage: "seen".into(), n: 1 }).unwrap();
            s.put(Table::Games, 1, &Rec { stage: "open".into(), n: 0 }).unwrap();
            s.put_meta("cursor", &42u64).unwrap();
            assert_eq!(s.add("earned", 5).unwrap(), 5);
            assert_eq!(s.add("earned", u128::from(u64::MAX)).unwrap(), 5 + u128::from(u64::MAX));
        }
        let s = State::open(&path, "solver").unwrap();
        let jobs: Vec<(u64, Rec)> = s.all(Table::Jobs).unwrap();
        assert_eq!(jobs.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(jobs[1].1, Rec { stage: "claimed".into(), n: 7 });
        assert_eq!(s.all::<Rec>(Table::Games).unwrap().len(), 1);
        assert_eq!(s.meta::<u64>("cursor").unwrap(), Some(42));
        assert_eq!(s.counter("earned").unwrap(), 5 + u128::from(u64::MAX));
        assert_eq!(s.counter("never").unwrap(), 0);
    }

    #[test]
    fn a_database_keeps_its_role() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.redb");
        drop(State::open(&path, "solver").unwrap());
        let err = State::open(&path, "watcher").unwrap_err().to_string();
        assert!(err.contains("belongs to a solver node"), "{err}");
    }
}
