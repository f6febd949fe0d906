//! Settings: a TOML file, overridden by environment variables, overridden by flags.
//!
//! Each source is a [`Layer`] of optional values; [`Config::resolve`] stacks them over the
//! defaults. Key material never comes from here: a config file that names a private key,
//! a mnemonic or a password is rejected (use a keystore or `GAVEL_PRIVATE_KEY`).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, retry::RetryPolicy};

/// The local chain `gavel chain up` starts.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";
/// The chain id anvil uses.
pub const LOCAL_CHAIN_ID: u64 = 31337;

/// The environment variables read by [`Layer::from_env`], with the field each sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("GAVEL_RPC_URL", "rpc_url"),
    ("GAVEL_CHAIN_ID", "chain_id"),
    ("GAVEL_KEY", "key"),
    ("GAVEL_KEYSTORE_DIR", "keystore_dir"),
    ("GAVEL_DEPLOYMENTS_DIR", "deployments_dir"),
    ("GAVEL_CONFIRMATIONS", "confirmations"),
    ("GAVEL_GAS_MARGIN_PERCENT", "gas_margin_percent"),
    ("GAVEL_RECEIPT_TIMEOUT_SECS", "receipt_timeout_secs"),
    ("GAVEL_RPC_RETRIES", "rpc_retries"),
    ("GAVEL_POLL_INTERVAL_MS", "poll_interval_ms"),
];

/// One source of settings; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// JSON-RPC endpoint (HTTP or HTTPS).
    pub rpc_url: Option<String>,
    /// The chain id the endpoint must serve (checked on connect).
    pub chain_id: Option<u64>,
    /// The keystore key that signs transactions (a name from `gavel key list`).
    pub key: Option<String>,
    /// Folder of encrypted JSON keystores.
    pub keystore_dir: Option<PathBuf>,
    /// Folder of `<chain-id>.json` deployment files.
    pub deployments_dir: Option<PathBuf>,
    /// Blocks a transaction must be buried under before it counts (1: mined).
    pub confirmations: Option<u64>,
    /// Gas limit = estimate x (100 + this) / 100.
    pub gas_margin_percent: Option<u64>,
    /// How long to wait for a receipt.
    pub receipt_timeout_secs: Option<u64>,
    /// Retries of a failed RPC request (exponential backoff).
    pub rpc_retries: Option<u32>,
    /// How often to poll for receipts and events.
    pub poll_interval_ms: Option<u64>,
}

/// Sections of the config file that belong to the node daemons, not to the chain settings.
pub const NODE_SECTIONS: &[&str] = &["solve", "watch", "serve"];

const SECRET_FIELDS: &[&str] = &["private_key", "privatekey", "private-key", "mnemonic", "password", "secret"];

impl Layer {
    /// Parses a TOML config file's text.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message())))?;
        // The daemons' own sections (`[solve]`, `[watch]`, `[serve]`) are read by the CLI.
        for section in NODE_SECTIONS {
            table.remove(*section);
        }
        if let Some(k) = table.keys().find(|k| SECRET_FIELDS.contains(&k.to_lowercase().as_str())) {
            return Err(Error::Config(format!(
                "{}: `{k}` is not allowed in a config file: keys live in an encrypted keystore \
                 (`gavel key import`) or come from GAVEL_PRIVATE_KEY / GAVEL_KEYSTORE_PASSWORD",
                path.display()
            )));
        }
        table.try_into().map_err(|e: toml::de::Error| Error::Config(format!("{}: {}", path.display(), e.message())))
    }

    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Reads the `GAVEL_*` variables of [`ENV_VARS`] through `get` (`std::env::var` in the CLI).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        fn num<T: std::str::FromStr>(var: &str, v: Option<String>) -> Result<Option<T>> {
            v.map(|s| s.trim().parse().map_err(|_| Error::Config(format!("{var}={s:?} is not a number")))).transpose()
        }
        let get = |k: &str| get(k).filter(|v| !v.is_empty());
        Ok(Self {
            rpc_url: get("GAVEL_RPC_URL"),
            chain_id: num("GAVEL_CHAIN_ID", get("GAVEL_CHAIN_ID"))?,
            key: get("GAVEL_KEY"),
            keystore_dir: get("GAVEL_KEYSTORE_DIR").map(PathBuf::from),
            deployments_dir: get("GAVEL_DEPLOYMENTS_DIR").map(PathBuf::from),
            confirmations: num("GAVEL_CONFIRMATIONS", get("GAVEL_CONFIRMATIONS"))?,
            gas_margin_percent: num("GAVEL_GAS_MARGIN_PERCENT", get("GAVEL_GAS_MARGIN_PERCENT"))?,
            receipt_timeout_secs: num("GAVEL_RECEIPT_TIMEOUT_SECS", get("GAVEL_RECEIPT_TIMEOUT_SECS"))?,
            rpc_retries: num("GAVEL_RPC_RETRIES", get("GAVEL_RPC_RETRIES"))?,
            poll_interval_ms: num("GAVEL_POLL_INTERVAL_MS", get("GAVEL_POLL_INTERVAL_MS"))?,
        })
    }

    /// `over`'s values where it has them, `self`'s elsewhere.
    pub fn merge(self, over: Layer) -> Layer {
        Layer {
            rpc_url: over.rpc_url.or(self.rpc_url),
            chain_id: over.chain_id.or(self.chain_id),
            key: over.key.or(self.key),
            keystore_dir: over.keystore_dir.or(self.keystore_dir),
            deployments_dir: over.deployments_dir.or(self.deployments_dir),
            confirmations: over.confirmations.or(self.confirmations),
            gas_margin_percent: over.gas_margin_percent.or(self.gas_margin_percent),
            receipt_timeout_secs: over.receipt_timeout_secs.or(self.receipt_timeout_secs),
            rpc_retries: over.rpc_retries.or(self.rpc_retries),
            poll_interval_ms: over.poll_interval_ms.or(self.poll_interval_ms),
        }
    }
}

/// The resolved settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// gavel's home folder (`GAVEL_HOME`, default `~/.gavel`): keystore, local chain state.
    pub home: PathBuf,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain id the endpoint must serve, if pinned.
    pub chain_id: Option<u64>,
    /// The keystore key to sign with, if named.
    pub key: Option<String>,
    /// Folder of encrypted keystores.
    pub keystore_dir: PathBuf,
    /// Folder of `<chain-id>.json` deployment files.
    pub deployments_dir: PathBuf,
    /// Confirmations to wait for.
    pub confirmations: u64,
    /// Gas margin over the estimate, in percent.
    pub gas_margin_percent: u64,
    /// Receipt timeout.
    pub receipt_timeout: Duration,
    /// RPC retry policy.
    #[serde(skip)]
    pub retry: RetryPolicy,
    /// Poll interval for receipts and events.
    pub poll_interval: Duration,
}

impl Config {
    /// Stacks `layers` (lowest priority first) over the defaults. `home` is gavel's home
    /// folder; `cwd` is where relative defaults are looked up (the repository's
    /// `deployments/` when `cwd` is inside a checkout).
    pub fn resolve(home: PathBuf, cwd: &Path, layers: impl IntoIterator<Item = Layer>) -> Result<Self> {
        let l = layers.into_iter().fold(Layer::default(), Layer::merge);
        let rpc_url = l.rpc_url.unwrap_or_else(|| DEFAULT_RPC_URL.to_owned());
        if !(rpc_url.starts_with("http://") || rpc_url.starts_with("https://")) {
            return Err(Error::Config(format!("rpc url {rpc_url:?} must start with http:// or https://")));
        }
        let deployments_dir = l.deployments_dir.unwrap_or_else(|| {
            cwd.ancestors()
                .find(|d| d.join("foundry.toml").is_file() && d.join("contracts").is_dir())
                .map_or_else(|| home.join("deployments"), |repo| repo.join("deployments"))
        });
        let confirmations = l.confirmations.unwrap_or(1);
        if confirmations == 0 {
            return Err(Error::Config("confirmations must be at least 1".into()));
        }
        Ok(Self {
            rpc_url,
            chain_id: l.chain_id,
            key: l.key,
            keystore_dir: l.keystore_dir.unwrap_or_else(|| home.join("keystore")),
            deployments_dir,
            confirmations,
            gas_margin_percent: l.gas_margin_percent.unwrap_or(20),
            receipt_timeout: Duration::from_secs(l.receipt_timeout_secs.unwrap_or(120)),
            retry: RetryPolicy { max_retries: l.rpc_retries.unwrap_or(4), ..RetryPolicy::default() },
            poll_interval: Duration::from_millis(l.poll_interval_ms.unwrap_or(250)),
            home,
        })
    }

    /// gavel's home folder: `GAVEL_HOME`, else `$HOME/.gavel`, else `.gavel`.
    pub fn default_home(get: impl Fn(&str) -> Option<String>) -> PathBuf {
        get("GAVEL_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| get("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".gavel")))
            .unwrap_or_else(|| PathBuf::from(".gavel"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_env_override_file_override_defaults() {
        let file = Layer::from_toml(
            "rpc_url = \"http://file:1\"\nconfirmations = 3\ngas_margin_percent = 50\nkey = \"file-key\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let env = Layer::from_env(|k| match k {
            "GAVEL_RPC_URL" => Some("http://env:2".into()),
            "GAVEL_CONFIRMATIONS" => Some("2".into()),
            _ => None,
        })
        .unwrap();
        let flags = Layer { rpc_url: Some("http://flag:3".into()), ..Layer::default() };
        let c = Config::resolve("/h".into(), Path::new("/"), [file.clone(), env.clone(), flags]).unwrap();
        assert_eq!(c.rpc_url, "http://flag:3");
        assert_eq!(c.confirmations, 2);
        assert_eq!(c.gas_margin_percent, 50);
        assert_eq!(c.key.as_deref(), Some("file-key"));
        assert_eq!(c.keystore_dir, PathBuf::from("/h/keystore"));
        let c = Config::resolve("/h".into(), Path::new("/"), [file, env]).unwrap();
        assert_eq!(c.rpc_url, "http://env:2");
        let c = Config::resolve("/h".into(), Path::new("/"), []).unwrap();
        assert_eq!(c.rpc_url, DEFAULT_RPC_URL);
        assert_eq!(c.deployments_dir, PathBuf::from("/h/deployments"));
    }

    #[test]
    fn a_key_in_the_config_file_is_rejected_without_echoing_it() {
        let secret = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        let err = Layer::from_toml(&format!("private_key = \"{secret}\""), Path::new("c.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not allowed") && msg.contains("gavel key import"), "{msg}");
        assert!(!msg.contains(&secret[4..]), "{msg}");
        assert!(Layer::from_toml("password = \"x\"", Path::new("c.toml")).is_err());
    }

    #[test]
    fn the_node_sections_are_left_to_the_daemons() {
        let l = Layer::from_toml(
            "rpc_url = \"http://x:1\"\n[solve]\nmax_steps = 5\n[watch]\nsample = 0.5\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(l.rpc_url.as_deref(), Some("http://x:1"));
    }

    #[test]
    fn unknown_fields_and_bad_numbers_are_errors() {
        assert!(Layer::from_toml("rpc = \"x\"", Path::new("c.toml")).unwrap_err().to_string().contains("c.toml"));
        let err = Layer::from_env(|k| (k == "GAVEL_CHAIN_ID").then(|| "abc".to_owned())).unwrap_err();
        assert!(err.to_string().contains("GAVEL_CHAIN_ID"));
        let bad = Layer { rpc_url: Some("ws://x".into()), ..Layer::default() };
        assert!(Config::resolve("/h".into(), Path::new("/"), [bad]).is_err());
    }
}
