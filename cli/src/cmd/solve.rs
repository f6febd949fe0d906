//! `gavel solve`: the solver daemon of a device owner (`gavel_node::Solver`), and the
//! settings it shares with `gavel watch`.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use gavel_chain_client::alloy::primitives::U256;
use gavel_executor::{BackendChoice, GpuContext, GpuOptions, Int64Mode};
use gavel_node::{Adversary, NodeConfig, SolverPolicy, Status};
use serde::Deserialize;

use crate::{
    config::{ChainArgs, Session, UsageError, parse_amount},
    output::Output,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    #[command(flatten)]
    pub(crate) node: NodeArgs,
    /// Largest job to claim, in program steps [default: 1000000].
    #[arg(long, value_name = "N")]
    max_steps: Option<u64>,
    /// Least reward per step (`1gwei`, wei) [default: 0].
    #[arg(long, value_parser = parse_amount, value_name = "AMOUNT")]
    min_reward_per_step: Option<U256>,
    /// Most collateral locked at once over all claimed jobs [default: the device's free stake].
    #[arg(long, value_parser = parse_amount, value_name = "AMOUNT")]
    collateral_budget: Option<U256>,
    /// Most jobs claimed and not yet submitted at once [default: 1].
    #[arg(long, value_name = "N")]
    max_concurrent: Option<u32>,
}

/// Settings of both daemons (flags; each also has a field in the config file's
/// `[solve]` / `[watch]` section).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Node options")]
pub(crate) struct NodeArgs {
    /// The node's folder: its database, content and trace stores [default: $GAVEL_HOME/<solver|watcher>].
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Where the HTTP server (content, job summaries, /metrics) listens [default: 127.0.0.1:7545, watch 127.0.0.1:7546; `off`: none].
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// A content source: a gavel node's `http://host:port`, or a content folder (repeatable).
    #[arg(long = "source", value_name = "URL|DIR")]
    pub(crate) sources: Vec<String>,
    /// Where jobs run [default: auto: a GPU when one is found, else the CPU].
    #[arg(long, value_enum)]
    pub(crate) backend: Option<Backend>,
    /// Keep the tensors of every this many checkpoints in trace stores [default: 16].
    #[arg(long, value_name = "K")]
    pub(crate) trace_every: Option<u64>,
    /// Blocks re-read behind the event cursor (chain reorganisations) [default: 8].
    #[arg(long, value_name = "N")]
    pub(crate) reorg_depth: Option<u64>,
    /// The node's device [default: the one device the key owns].
    #[arg(long, value_name = "ID")]
    pub(crate) device: Option<u64>,
    /// Tests only: cheat in the named way.
    #[arg(long, hide = true, value_name = "KIND")]
    pub(crate) adversary: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Backend {
    Cpu,
    Gpu,
    Auto,
}

/// The `[solve]` or `[watch]` section of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Section {
    pub(crate) data: Option<PathBuf>,
    listen: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
    backend: Option<Backend>,
    trace_every: Option<u64>,
    reorg_depth: Option<u64>,
    device: Option<u64>,
    // solve
    max_steps: Option<u64>,
    min_reward_per_step: Option<String>,
    collateral_budget: Option<String>,
    max_concurrent: Option<u32>,
    // watch
    pub(crate) sample: Option<f64>,
}

/// Reads section `name` of the config file in effect (empty when there is none).
pub(crate) fn section(chain: &ChainArgs, name: &str) -> anyhow::Result<Section> {
    let Some(path) = chain.config_file() else { return Ok(Section::default()) };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    match table.remove(name) {
        Some(v) => v.try_into().map_err(|e| UsageError(format!("{}: [{name}]: {e}", path.display())).into()),
        None => Ok(Section::default()),
    }
}

fn amount(flag: Option<U256>, file: &Option<String>, field: &str) -> anyhow::Result<Option<U256>> {
    match (flag, file) {
        (Some(a), _) => Ok(Some(a)),
        (None, Some(s)) => parse_amount(s).map(Some).map_err(|e| UsageError(format!("{field}: {e}")).into()),
        (None, None) => Ok(None),
    }
}

impl NodeArgs {
    /// The node settings: flags over the file's section over defaults.
    pub(crate) fn resolve(
        &self,
        file: &Section,
        role: &str,
        home: &std::path::Path,
        config: &gavel_chain_client::Config,
        out: &Output,
    ) -> anyhow::Result<NodeConfig> {
        let adversary = match &self.adversary {
            Some(a) => Some(Adversary::parse(a).ok_or_else(|| UsageError(format!("unknown adversary {a:?}")))?),
            None => None,
        };
        let default_listen = if role == "solver" { "127.0.0.1:7545" } else { "127.0.0.1:7546" };
        let listen = self.listen.clone().or(file.listen.clone()).unwrap_or_else(|| default_listen.into());
        let mut sources = self.sources.clone();
        sources.extend(file.sources.iter().cloned());
        let backend = self.backend.or(file.backend).unwrap_or(Backend::Auto);
        Ok(NodeConfig {
            data_dir: self.data.clone().or(file.data.clone()).unwrap_or_else(|| home.join(role)),
            listen: if listen == "off" { String::new() } else { listen },
            sources,
            backend: open_backend(backend, out)?,
            trace_every: self.trace_every.or(file.trace_every).unwrap_or(16).max(1),
            poll_interval: config.poll_interval.max(Duration::from_millis(50)),
            reorg_depth: self.reorg_depth.or(file.reorg_depth).unwrap_or(8),
            confirmations: config.confirmations,
            device: self.device.or(file.device),
            adversary,
        })
    }
}

fn open_backend(backend: Backend, out: &Output) -> anyhow::Result<BackendChoice> {
    if backend == Backend::Cpu {
        return Ok(BackendChoice::Cpu);
    }
    match GpuContext::new(&GpuOptions { int64: Int64Mode::Auto }) {
        Ok(ctx) => Ok(BackendChoice::Gpu(ctx)),
        Err(err) if backend == Backend::Auto => {
            out.note(format!("no usable GPU ({err}); running jobs on the CPU reference"));
            Ok(BackendChoice::Cpu)
        }
        Err(err) => Err(err.into()),
    }
}

/// Maps a node error to the error the exit code is chosen from.
pub(crate) fn node_err(e: gavel_node::Error) -> anyhow::Error {
    match e {
        gavel_node::Error::Chain(c) => c.into(),
        gavel_node::Error::Executor(x) => x.into(),
        gavel_node::Error::Config(m) => UsageError(m).into(),
        other => other.into(),
    }
}

/// The daemons' runtime: two worker threads (runs go to the blocking pool).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts")
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// A progress line on stderr fed from the node's status (hidden in JSON mode and when
/// stderr is not a terminal).
pub(crate) fn progress(out: &Output, status: std::sync::Arc<std::sync::Mutex<Status>>) -> tokio::task::JoinHandle<()> {
    let pb = if out.is_json() { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new_spinner() };
    pb.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
    tokio::spawn(async move {
        loop {
            let line = status_line(&status.lock().expect("status lock"));
            pb.set_message(line);
            pb.tick();
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}

fn status_line(s: &Status) -> String {
    let jobs: Vec<String> = s.jobs.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let mut t = format!("{} block {}: jobs [{}]", s.role, s.head_block, jobs.join(", "));
    if let Some((job, done, steps)) = s.running {
        t += &format!(", running job {job} {done}/{steps}");
    }
    t += &format!(", games {} open / {} won / {} lost", s.games_open, s.games_won, s.games_lost);
    let wei = |x: &str| crate::config::ether(x.parse::<U256>().unwrap_or_default());
    t += &format!(", withdrawn {}, gas {}", wei(&s.withdrawn_wei), wei(&s.gas_wei));
    if let Some(e) = &s.last_error {
        t += &format!(" (retrying: {e})");
    }
    t
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    runtime().block_on(run_async(args, out))
}

async fn run_async(args: Args, out: &Output) -> anyhow::Result<()> {
    let file = section(&args.chain, "solve")?;
    let session = Session::open(&args.chain, true).await?;
    let home = session.config.home.clone();
    let cfg = args.node.resolve(&file, "solver", &home, &session.config, out)?;
    let policy = SolverPolicy {
        max_steps: args.max_steps.or(file.max_steps).unwrap_or(SolverPolicy::default().max_steps),
        min_reward_per_step: amount(args.min_reward_per_step, &file.min_reward_per_step, "min_reward_per_step")?
            .unwrap_or_default(),
        collateral_budget: amount(args.collateral_budget, &file.collateral_budget, "collateral_budget")?
            .unwrap_or(U256::MAX),
        max_concurrent: args.max_concurrent.or(file.max_concurrent).unwrap_or(1).max(1),
    };
    let data = cfg.data_dir.clone();
    let solver = gavel_node::Solver::start(
        cfg,
        policy,
        session.client.clone(),
        &session.deployments,
        &session.config.deployments_dir,
    )
    .await
    .map_err(node_err)?;
    let status = solver.status();
    let (device, account) = {
        let s = status.lock().expect("status lock");
        (s.device.unwrap_or_default(), s.account.clone())
    };
    let serving = solver.listen_addr().map_or_else(|| "no server".into(), |a| format!("serving on http://{a}"));
    out.note(format!("gavel solve: device {device} ({account}), {serving}, data in {}", data.display()));
    let bar = progress(out, status.clone());
    let r = solver.run(shutdown()).await.map_err(node_err);
    bar.abort();
    r?;
    let s = status.lock().expect("status lock").clone();
    out.result(&s, || format!("stopped: {}", status_line(&s)));
    Ok(())
}
