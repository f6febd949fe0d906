//! Chain settings for the chain subcommands: flags over `GAVEL_*` variables over the TOML
//! config file, resolved by `gavel_chain_client::Config`; plus keys, passwords and the
//! tokio runtime those commands share.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gavel_chain_client::{
    Client, Config, Keystore, Layer, PASSWORD_ENV, PRIVATE_KEY_ENV, Sender, alloy::signers::local::PrivateKeySigner,
    signer_from_hex,
};
use serde::{Deserialize, Serialize};

/// Flags shared by every chain subcommand (each also has a `GAVEL_*` variable and a
/// config-file field; see `docs/cli.md`).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Chain options")]
pub(crate) struct ChainArgs {
    /// JSON-RPC endpoint [default: the local chain from `gavel chain up`, else http://127.0.0.1:8545].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) rpc_url: Option<String>,
    /// Fail unless the endpoint serves this chain id.
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) chain_id: Option<u64>,
    /// The keystore key to sign with (`gavel key list`); GAVEL_PRIVATE_KEY takes precedence.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) key: Option<String>,
    /// Folder of encrypted keystores [default: $GAVEL_HOME/keystore].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) keystore_dir: Option<PathBuf>,
    /// Folder of `<chain-id>.json` deployment files [default: deployments/ of the checkout].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) deployments_dir: Option<PathBuf>,
    /// Blocks to wait for after a transaction is mined.
    #[arg(long, global = true, value_name = "N")]
    pub(crate) confirmations: Option<u64>,
    /// Seconds to wait for a receipt.
    #[arg(long, global = true, value_name = "SECS")]
    pub(crate) receipt_timeout: Option<u64>,
    /// TOML config file [default: $GAVEL_CONFIG, else $GAVEL_HOME/config.toml if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// What `gavel chain up` records about the chain it started, in `$GAVEL_HOME/chain/anvil.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LocalChain {
    pub(crate) pid: u32,
    pub(crate) url: String,
    pub(crate) chain_id: u64,
    pub(crate) log: PathBuf,
    pub(crate) deployments: Option<PathBuf>,
}

impl LocalChain {
    pub(crate) fn path(home: &Path) -> PathBuf {
        home.join("chain/anvil.json")
    }

    /// The recorded local chain, if its process is still alive.
    pub(crate) fn load(home: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(Self::path(home)).ok()?;
        let chain: Self = serde_json::from_str(&text).ok()?;
        gavel_chain_client::anvil::pid_alive(chain.pid).then_some(chain)
    }
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

impl ChainArgs {
    /// The config file in effect: `--config`, else `$GAVEL_CONFIG`, else
    /// `$GAVEL_HOME/config.toml` when it exists.
    pub(crate) fn config_file(&self) -> Option<PathBuf> {
        let home = Config::default_home(env);
        self.config
            .clone()
            .or_else(|| env("GAVEL_CONFIG").filter(|c| !c.is_empty()).map(PathBuf::from))
            .or_else(|| Some(home.join("config.toml")).filter(|p| p.is_file()))
    }

    /// The settings: defaults < config file < environment < flags.
    pub(crate) fn resolve(&self) -> anyhow::Result<Config> {
        let home = Config::default_home(env);
        let file =
            match self.config.clone().or_else(|| env("GAVEL_CONFIG").filter(|c| !c.is_empty()).map(PathBuf::from)) {
                Some(path) => Layer::from_file(&path)?,
                None if home.join("config.toml").is_file() => Layer::from_file(&home.join("config.toml"))?,
                None => Layer::default(),
            };
        let local = Layer { rpc_url: LocalChain::load(&home).map(|c| c.url), ..Layer::default() };
        let flags = Layer {
            rpc_url: self.rpc_url.clone(),
            chain_id: self.chain_id,
            key: self.key.clone(),
            keystore_dir: self.keystore_dir.clone(),
            deployments_dir: self.deployments_dir.clone(),
            confirmations: self.confirmations,
            receipt_timeout_secs: self.receipt_timeout,
            ..Layer::default()
        };
        let cwd = std::env::current_dir().context("reading the working directory")?;
        Ok(Config::resolve(home, &cwd, [local, file, Layer::from_env(env)?, flags])?)
    }

    /// The signing key: GAVEL_PRIVATE_KEY, else the configured keystore key (the password
    /// from GAVEL_KEYSTORE_PASSWORD or a prompt), else `None`.
    pub(crate) fn signer(&self, config: &Config) -> anyhow::Result<Option<PrivateKeySigner>> {
        if let Some(key) = env(PRIVATE_KEY_ENV).filter(|k| !k.is_empty()) {
            return Ok(Some(signer_from_hex(&key, PRIVATE_KEY_ENV)?));
        }
        let Some(name) = &config.key else { return Ok(None) };
        let keystore = Keystore::new(&config.keystore_dir);
        if !keystore.dir().join(name).is_file() {
            // Fail before asking for a password.
            return Err(gavel_chain_client::Error::KeyNotFound {
                name: name.clone(),
                dir: config.keystore_dir.clone(),
            }
            .into());
        }
        let password = password(&format!("password for key {name:?}: "), false)?;
        Ok(Some(keystore.unlock(name, &password)?))
    }

    /// Connects read-only.
    pub(crate) async fn reader(&self, config: &Config) -> anyhow::Result<Client> {
        Ok(Client::connect(config, Sender::None).await?)
    }

    /// Connects with the signing key, which is required.
    pub(crate) async fn writer(&self, config: &Config) -> anyhow::Result<Client> {
        let signer = self.signer(config)?.ok_or(gavel_chain_client::Error::NoSigner)?;
        Ok(Client::connect(config, Sender::Local(signer)).await?)
    }
}

/// A password from GAVEL_KEYSTORE_PASSWORD, else typed at the terminal (twice when `confirm`).
pub(crate) fn password(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if let Some(p) = env(PASSWORD_ENV) {
        return Ok(p);
    }
    let read = |p: &str| {
        rpassword::prompt_password(p).map_err(|_| {
            anyhow::Error::new(UsageError(format!(
                "cannot read a password from the terminal; set {PASSWORD_ENV} to run without one"
            )))
        })
    };
    let first = read(prompt)?;
    if confirm && read("repeat the password: ")? != first {
        return Err(UsageError("the passwords do not match".into()).into());
    }
    Ok(first)
}

/// A usage error raised by the CLI itself (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// A verification failure raised by the CLI itself (exit code 5): data that does not match
/// its commitment.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct VerificationError(pub(crate) String);

/// The runtime the chain commands run their futures on.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts").block_on(f)
}

/// A spinner on stderr for a long wait (hidden in JSON mode and when stderr is no terminal).
pub(crate) fn spinner(out: &crate::output::Output, message: impl Into<String>) -> indicatif::ProgressBar {
    if out.is_json() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb.set_message(message.into());
    pb
}

/// Formats wei as ether with up to 6 decimals (`1.5 ETH`).
pub(crate) fn ether(wei: gavel_chain_client::alloy::primitives::U256) -> String {
    let s = gavel_chain_client::alloy::primitives::utils::format_ether(wei);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("{s} ETH")
}

/// Parses an amount: `1.5eth`, `1.5 ETH`, `2gwei`, or plain wei.
pub(crate) fn parse_amount(s: &str) -> Result<gavel_chain_client::alloy::primitives::U256, String> {
    use gavel_chain_client::alloy::primitives::utils::parse_units;
    let t = s.trim().to_lowercase().replace(' ', "");
    let (num, unit) = if let Some(n) = t.strip_suffix("eth").or_else(|| t.strip_suffix("ether")) {
        (n, "ether")
    } else if let Some(n) = t.strip_suffix("gwei") {
        (n, "gwei")
    } else {
        (t.strip_suffix("wei").unwrap_or(&t), "wei")
    };
    parse_units(num, unit)
        .map(|v| v.get_absolute())
        .map_err(|_| format!("{s:?} is not an amount (examples: 1.5eth, 20gwei, 1000 (wei))"))
}

#[cfg(test)]
mod tests {
    use gavel_chain_client::alloy::primitives::U256;

    use super::*;

    #[test]
    fn amounts_parse_and_print() {
        assert_eq!(parse_amount("1.5eth").unwrap(), U256::from(1_500_000_000_000_000_000u128));
        assert_eq!(parse_amount("2 gwei").unwrap(), U256::from(2_000_000_000u64));
        assert_eq!(parse_amount("1000").unwrap(), U256::from(1000));
        assert!(parse_amount("lots").is_err());
        assert_eq!(ether(U256::from(1_500_000_000_000_000_000u128)), "1.5 ETH");
        assert_eq!(ether(U256::from(2_000_000_000_000_000_000u128)), "2 ETH");
    }
}

/// A connection plus the chain's deployments: what the identity and job commands work on.
pub(crate) struct Session {
    pub(crate) client: Client,
    pub(crate) deployments: gavel_chain_client::Deployments,
    pub(crate) config: Config,
}

impl Session {
    /// Connects (with the signing key when `sign`) and loads the chain's deployments file.
    pub(crate) async fn open(chain: &ChainArgs, sign: bool) -> anyhow::Result<Self> {
        let config = chain.resolve()?;
        let client = if sign { chain.writer(&config).await? } else { chain.reader(&config).await? };
        let deployments = gavel_chain_client::Deployments::load(&config.deployments_dir, client.chain_id())?;
        Ok(Self { client, deployments, config })
    }

    /// A deployed contract's address.
    pub(crate) fn address(&self, name: &str) -> anyhow::Result<gavel_chain_client::alloy::primitives::Address> {
        Ok(self.deployments.get(name, &self.config.deployments_dir)?.address)
    }

    /// The DeviceRegistry binding.
    pub(crate) fn registry(
        &self,
    ) -> anyhow::Result<
        gavel_chain_client::bindings::DeviceRegistry::DeviceRegistryInstance<
            &gavel_chain_client::alloy::providers::DynProvider,
        >,
    > {
        Ok(gavel_chain_client::bindings::DeviceRegistry::new(self.address("DeviceRegistry")?, self.client.provider()))
    }

    /// The JobMarket binding.
    pub(crate) fn market(
        &self,
    ) -> anyhow::Result<
        gavel_chain_client::bindings::JobMarket::JobMarketInstance<&gavel_chain_client::alloy::providers::DynProvider>,
    > {
        Ok(gavel_chain_client::bindings::JobMarket::new(self.address("JobMarket")?, self.client.provider()))
    }

    /// Sends a transaction built by a binding, with a spinner.
    pub(crate) async fn send(
        &self,
        out: &crate::output::Output,
        action: &str,
        tx: gavel_chain_client::alloy::rpc::types::TransactionRequest,
    ) -> anyhow::Result<gavel_chain_client::alloy::rpc::types::TransactionReceipt> {
        let pb = spinner(out, format!("{action}: waiting for the transaction"));
        let r = self.client.send(action, tx).await;
        pb.finish_and_clear();
        Ok(r?)
    }

    /// Maps a failed view call.
    pub(crate) fn call_err(&self, action: &str, e: gavel_chain_client::alloy::contract::Error) -> anyhow::Error {
        self.client.contract_error(action, e).into()
    }
}

/// Formats a unix time as `YYYY-MM-DD HH:MM:SS UTC` (0: `-`).
pub(crate) fn time(secs: u64) -> String {
    if secs == 0 {
        return "-".into();
    }
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses a duration: `90`, `90s`, `15m`, `2h`, `7d`.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('s') => (&t[..t.len() - 1], 1),
        Some('m') => (&t[..t.len() - 1], 60),
        Some('h') => (&t[..t.len() - 1], 3600),
        Some('d') => (&t[..t.len() - 1], 86_400),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a duration (examples: 90s, 15m, 2h, 7d)"))
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(time(0), "-");
        assert_eq!(time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("90"), Ok(90));
        assert!(parse_duration("soon").is_err());
    }
}
