//! Deployment files: `deployments/<chain-id>.json`, one per chain, naming every contract's
//! address, the transaction and block that created it and the hash of its runtime code.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, B256, TxHash};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One deployed contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// The creating transaction.
    pub tx: TxHash,
    /// The block it was created in (event streams start here).
    pub block: u64,
    /// keccak256 of its runtime code, checked by `gavel chain status`.
    pub code_hash: B256,
}

/// A chain's deployments file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployments {
    /// The chain id.
    pub chain_id: u64,
    /// The account that deployed.
    pub deployer: Address,
    /// The contracts, by name.
    pub contracts: BTreeMap<String, Deployed>,
}

impl Deployments {
    /// The file for `chain_id` in `dir`.
    pub fn path(dir: &Path, chain_id: u64) -> PathBuf {
        dir.join(format!("{chain_id}.json"))
    }

    /// Reads the file for `chain_id` in `dir`.
    pub fn load(dir: &Path, chain_id: u64) -> Result<Self> {
        let path = Self::path(dir, chain_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoDeployments { chain_id, path }),
            Err(e) => return Err(Error::io(path, e)),
        };
        let d: Self = serde_json::from_str(&text).map_err(|e| Error::bad_file(&path, e))?;
        if d.chain_id != chain_id {
            return Err(Error::bad_file(&path, format!("names chain {} instead of {chain_id}", d.chain_id)));
        }
        Ok(d)
    }

    /// Writes the file for this chain in `dir` (atomically); returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = Self::path(dir, self.chain_id);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::bad_file(&path, e))?;
        text.push('\n');
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// A contract's record, or [`Error::NotDeployed`].
    pub fn get(&self, name: &str, dir: &Path) -> Result<&Deployed> {
        self.contracts
            .get(name)
            .ok_or_else(|| Error::NotDeployed { contract: name.to_owned(), path: Self::path(dir, self.chain_id) })
    }

    /// The name of the contract at `address`, if it is one of ours.
    pub fn name_of(&self, address: Address) -> Option<&str> {
        self.contracts.iter().find(|(_, d)| d.address == address).map(|(n, _)| n.as_str())
    }

    /// The earliest creation block.
    pub fn first_block(&self) -> u64 {
        self.contracts.values().map(|d| d.block).min().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_missing_files_and_contracts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Deployments::load(dir.path(), 5), Err(Error::NoDeployments { chain_id: 5, .. })));
        let mut d = Deployments { chain_id: 5, deployer: Address::repeat_byte(1), contracts: BTreeMap::new() };
        d.contracts.insert(
            "A".into(),
            Deployed {
                address: Address::repeat_byte(2),
                tx: TxHash::repeat_byte(3),
                block: 9,
                code_hash: B256::repeat_byte(4),
            },
        );
        let path = d.save(dir.path()).unwrap();
        assert!(path.ends_with("5.json"));
        let back = Deployments::load(dir.path(), 5).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.name_of(Address::repeat_byte(2)), Some("A"));
        assert!(matches!(back.get("B", dir.path()), Err(Error::NotDeployed { .. })));
        std::fs::copy(&path, dir.path().join("6.json")).unwrap();
        assert!(Deployments::load(dir.path(), 6).is_err(), "a file for another chain is rejected");
    }
}
