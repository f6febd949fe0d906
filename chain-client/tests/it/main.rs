//! chain-client against a real anvil (the npm-pinned one in `node_modules/.bin/`).

mod abi;
mod client;

use std::{path::PathBuf, time::Duration};

use gavel_chain_client::{
    Config, Layer,
    anvil::{Anvil, AnvilOptions},
};

/// The repository root.
fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `<repo>/node_modules/.bin/<tool>`, or a panic that says how to get it.
fn tool(name: &str) -> PathBuf {
    let p = repo().join("node_modules/.bin").join(name);
    assert!(p.is_file(), "{} not found: run scripts/bootstrap (it installs the pinned Foundry tools)", p.display());
    p
}

/// A fresh anvil on a free loopback port, killed on drop.
struct Chain {
    anvil: Anvil,
    _dir: tempfile::TempDir,
}

impl Chain {
    fn start() -> Self {
        Self::start_on(0)
    }

    fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let opts = AnvilOptions {
            bin: tool("anvil"),
            port,
            accounts: 4,
            balance_eth: 1000,
            block_time: None,
            log: dir.path().join("anvil.log"),
            detach: false,
        };
        let anvil = Anvil::start(&opts, Duration::from_secs(30)).expect("anvil starts");
        Self { anvil, _dir: dir }
    }

    fn url(&self) -> String {
        self.anvil.url()
    }

    fn config(&self) -> Config {
        config_for(&self.url())
    }
}

fn config_for(url: &str) -> Config {
    let layer = Layer { rpc_url: Some(url.into()), ..Layer::default() };
    Config::resolve("/nonexistent-gavel-home".into(), std::path::Path::new("/"), [layer]).unwrap()
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.anvil.child.kill();
        let _ = self.anvil.child.wait();
    }
}

/// anvil's first dev key (public knowledge: the standard test mnemonic).
const DEV_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
