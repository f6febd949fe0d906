//! The contract snapshots in `contracts/abi/`, embedded in the binary.
//!
//! `scripts/abi` writes them from a forge build, and `scripts/abi --check` (run by the
//! tests) fails when they differ from a fresh build. The bindings in [`crate::bindings`]
//! are generated from the same files, so a contract change is a compile error here, not
//! a failure in production. Embedding the creation bytecode makes `gavel` self-contained:
//! it deploys to any chain without a Foundry checkout or a build step.

use std::{collections::BTreeMap, sync::OnceLock};

use alloy::{json_abi::JsonAbi, primitives::Bytes};
use serde::Deserialize;

/// One deployable contract's snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// The contract's name (`DeviceRegistry`).
    pub name: &'static str,
    /// The snapshot file, as JSON.
    pub json: &'static str,
}

macro_rules! artifacts {
    ($($name:literal),* $(,)?) => {
        /// Every contract snapshot in `contracts/abi/` (DisputeGame is created by the
        /// factory, one per dispute; [`crate::deploy_all`] deploys the others).
        pub const ARTIFACTS: &[Artifact] = &[
            $(Artifact { name: $name, json: include_str!(concat!("../../contracts/abi/", $name, ".json")) },)*
        ];
    };
}

artifacts![
    "DeviceRegistry",
    "OneStepReplay",
    "DisputeGameDeployer",
    "DisputeGameFactory",
    "JobMarket",
    "DisputeGame",
    "OperatorEvaluator",
];

/// `contracts/abi/errors.json`: every custom error's selector and NatSpec.
pub(crate) const ERRORS_JSON: &str = include_str!("../../contracts/abi/errors.json");
/// `contracts/abi/enums.json`: every enum's member names.
pub(crate) const ENUMS_JSON: &str = include_str!("../../contracts/abi/enums.json");

#[derive(Debug, Deserialize)]
struct Snapshot {
    abi: JsonAbi,
    bytecode: Bytes,
}

fn parsed() -> &'static BTreeMap<&'static str, Snapshot> {
    static PARSED: OnceLock<BTreeMap<&'static str, Snapshot>> = OnceLock::new();
    PARSED.get_or_init(|| {
        ARTIFACTS
            .iter()
            .map(|a| (a.name, serde_json::from_str(a.json).expect("contracts/abi snapshots are valid (tested)")))
            .collect()
    })
}

impl Artifact {
    /// Looks a contract up by name.
    pub fn by_name(name: &str) -> Option<&'static Artifact> {
        ARTIFACTS.iter().find(|a| a.name == name)
    }

    /// The contract's ABI.
    pub fn abi(&self) -> &'static JsonAbi {
        &parsed()[self.name].abi
    }

    /// The creation bytecode (without constructor arguments).
    pub fn bytecode(&self) -> &'static Bytes {
        &parsed()[self.name].bytecode
    }
}

/// Member names of every enum, by canonical name (`IJobMarket.JobState`).
pub(crate) fn enums() -> &'static BTreeMap<String, Vec<String>> {
    static ENUMS: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    ENUMS.get_or_init(|| serde_json::from_str(ENUMS_JSON).expect("contracts/abi/enums.json is valid (tested)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_snapshot_in_contracts_abi_is_embedded_and_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/abi");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json") && n != "errors.json" && n != "enums.json")
            .map(|n| n.trim_end_matches(".json").to_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ARTIFACTS.iter().map(|a| a.name.to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new snapshots to the artifacts! list in chain-client/src/artifacts.rs");
        for a in ARTIFACTS {
            assert!(!a.abi().functions.is_empty(), "{} has functions", a.name);
            assert!(a.bytecode().len() > 100, "{} has creation code", a.name);
        }
        assert!(enums().values().all(|m| !m.is_empty()));
    }
}
