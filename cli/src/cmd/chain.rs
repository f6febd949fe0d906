//! `gavel chain`: the local chain (up, down, status), deploying to any chain, and a
//! resumable event export.

use std::{
    io::{Seek, Write},
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use gavel_chain_client::{
    Client, Cursor, CursorFile, DeployParams, Deployments, Keystore, LogPoller, Sender,
    alloy::primitives::{Address, U256},
    anvil::{self, Anvil, AnvilOptions},
    decode_log, deploy_all,
};
use serde::Serialize;

use crate::{
    config::{ChainArgs, LocalChain, UsageError, block_on, ether, parse_amount, spinner},
    output::Output,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: Command,
}

/// The protocol parameters fixed at deployment.
#[derive(Debug, Clone, clap::Args)]
struct DeployArgs {
    /// Least bonded stake of an active device (`1eth`, `5000gwei`, wei).
    #[arg(long, value_parser = parse_amount, default_value = "1eth")]
    min_stake: U256,
    /// Seconds between an unstake request and the withdrawal.
    #[arg(long, value_name = "SECS", default_value_t = 7 * 24 * 3600)]
    unbonding_period: u64,
    /// Each party's total time in a dispute game, in seconds (chess clock).
    #[arg(long, value_name = "SECS", default_value_t = 24 * 3600)]
    game_clock: u64,
    /// Least collateral a job may ask of its solver.
    #[arg(long, value_parser = parse_amount, default_value = "0.1eth")]
    min_collateral: U256,
    /// Shortest challenge window a job may set, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    min_challenge_window: u64,
    /// Longest challenge window a job may set, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 7 * 24 * 3600)]
    max_challenge_window: u64,
}

impl DeployArgs {
    fn params(&self) -> DeployParams {
        DeployParams {
            min_stake: self.min_stake,
            unbonding_period: self.unbonding_period,
            game_clock: self.game_clock,
            min_collateral: self.min_collateral,
            min_challenge_window: self.min_challenge_window,
            max_challenge_window: self.max_challenge_window,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Start anvil on 127.0.0.1, deploy the contracts, write the deployments file and fund
    /// the keystore's accounts. The chain keeps running until `gavel chain down`.
    Up {
        /// Port on 127.0.0.1 (0: any free port; later commands find it).
        #[arg(long, default_value_t = 8545)]
        port: u16,
        /// Number of anvil dev accounts.
        #[arg(long, default_value_t = 10)]
        accounts: u32,
        /// Ether given to each dev account, each keystore account and each --fund address.
        #[arg(long, default_value_t = 10_000)]
        balance: u64,
        /// Mine a block every this many seconds instead of on every transaction.
        #[arg(long, value_name = "SECS")]
        block_time: Option<u64>,
        /// Also fund this address (repeatable).
        #[arg(long, value_name = "ADDRESS")]
        fund: Vec<Address>,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Stop the local chain started by `gavel chain up` (its state is discarded).
    Down,
    /// The chain's id and head, and whether every deployed contract has its recorded code.
    Status,
    /// Deploy the contracts to the chain at --rpc-url with the configured key and write
    /// `deployments/<chain-id>.json`.
    Deploy {
        /// Deploy again even when a deployments file for the chain exists and checks out.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Export the contracts' events as JSON lines to a file, resumably: a cursor next to the
    /// file records what was written, so a killed export restarts where it stopped, with no
    /// event missing or repeated.
    Events {
        /// The output file (appended to); its cursor is `<FILE>.cursor`.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Keep following new blocks until interrupted.
        #[arg(long)]
        follow: bool,
        /// Most blocks read per request.
        #[arg(long, default_value_t = 500)]
        max_range: u64,
    },
}

#[derive(Debug, Serialize)]
struct ContractOut {
    name: String,
    address: String,
    block: u64,
    code: &'static str,
}

fn contracts_table(rows: &[ContractOut]) -> String {
    let mut s = format!("{:<20} {:<42} {:>7}  {}\n", "CONTRACT", "ADDRESS", "BLOCK", "CODE");
    for r in rows {
        s += &format!("{:<20} {:<42} {:>7}  {}\n", r.name, r.address, r.block, r.code);
    }
    s
}

fn rows(d: &Deployments, code: &'static str) -> Vec<ContractOut> {
    d.contracts
        .iter()
        .map(|(n, c)| ContractOut { name: n.clone(), address: c.address.to_checksum(None), block: c.block, code })
        .collect()
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    match args.command {
        Command::Up { port, accounts, balance, block_time, fund, deploy } => block_on(up(
            &args.chain,
            out,
            UpArgs { port, accounts, balance, block_time, fund, params: deploy.params() },
        )),
        Command::Down => down(&args.chain, out),
        Command::Status => block_on(status(&args.chain, out)),
        Command::Deploy { force, deploy: d } => block_on(deploy(&args.chain, out, force, d.params())),
        Command::Events { out: file, follow, max_range } => block_on(events(&args.chain, out, file, follow, max_range)),
    }
}

#[derive(Debug, Serialize)]
struct UpOut {
    url: String,
    chain_id: u64,
    pid: u32,
    log: String,
    deployments: String,
    contracts: Vec<ContractOut>,
    dev_accounts: Vec<String>,
    funded: Vec<String>,
}

struct UpArgs {
    port: u16,
    accounts: u32,
    balance: u64,
    block_time: Option<u64>,
    fund: Vec<Address>,
    params: DeployParams,
}

async fn up(chain: &ChainArgs, out: &Output, args: UpArgs) -> anyhow::Result<()> {
    let UpArgs { port, accounts, balance, block_time, fund, params } = args;
    let mut config = chain.resolve()?;
    if let Some(running) = LocalChain::load(&config.home) {
        return Err(UsageError(format!(
            "a local chain is already running at {} (pid {}); stop it with `gavel chain down`",
            running.url, running.pid
        ))
        .into());
    }
    let cwd = std::env::current_dir()?;
    let bin = anvil::find_tool("anvil", &cwd)?;
    let log = config.home.join("chain/anvil.log");
    let pb = spinner(out, "starting anvil");
    let opts = AnvilOptions { bin, port, accounts, balance_eth: balance, block_time, log: log.clone(), detach: true };
    let mut anvil = Anvil::start(&opts, Duration::from_secs(30))?;
    let url = anvil.url();
    let pid = anvil.child.id();
    let result = async {
        config.rpc_url = url.clone();
        config.chain_id = None;
        let reader = Client::connect(&config, Sender::None).await?;
        let dev: Vec<Address> = reader.raw("eth_accounts", ()).await?;
        let deployer = *dev.first().context("anvil has no dev accounts (use --accounts 1 or more)")?;
        let client = Client::connect(&config, Sender::Unlocked(deployer)).await?;
        pb.set_message("deploying the contracts");
        let deployments = deploy_all(&client, &params, |name| pb.set_message(format!("deploying {name}"))).await?;
        let path = deployments.save(&config.deployments_dir)?;
        let state = LocalChain {
            pid,
            url: url.clone(),
            chain_id: client.chain_id(),
            log: log.clone(),
            deployments: Some(path.clone()),
        };
        let state_path = LocalChain::path(&config.home);
        std::fs::write(&state_path, serde_json::to_string_pretty(&state)?)
            .with_context(|| format!("writing {}", state_path.display()))?;
        pb.set_message("funding accounts");
        let mut funded = fund;
        funded.extend(Keystore::new(&config.keystore_dir).list()?.into_iter().filter_map(|k| k.address));
        funded.sort();
        funded.dedup();
        let wei = U256::from(balance) * U256::from(10u64).pow(U256::from(18));
        for a in &funded {
            let () = client.raw("anvil_setBalance", (a, wei)).await?;
        }
        anyhow::Ok(UpOut {
            url: url.clone(),
            chain_id: client.chain_id(),
            pid,
            log: log.display().to_string(),
            deployments: path.display().to_string(),
            contracts: rows(&deployments, "deployed"),
            dev_accounts: dev.iter().map(|a| a.to_checksum(None)).collect(),
            funded: funded.iter().map(|a| a.to_checksum(None)).collect(),
        })
    }
    .await;
    pb.finish_and_clear();
    let up = match result {
        Ok(up) => up,
        Err(e) => {
            let _ = anvil.child.kill();
            let _ = anvil.child.wait();
            let _ = std::fs::remove_file(LocalChain::path(&config.home));
            return Err(e.context("gavel chain up failed; the chain was stopped"));
        }
    };
    // The chain outlives this command (its own process group); forget the child.
    std::mem::forget(anvil);
    out.result(&up, || {
        let mut s = format!("local chain {} running at {} (pid {}, log {})\n", up.chain_id, up.url, up.pid, up.log);
        s += &contracts_table(&up.contracts);
        s += &format!("deployments: {}\n", up.deployments);
        s += &format!(
            "{} dev accounts with {balance} ETH each (their keys: anvil's standard mnemonic)\n",
            up.dev_accounts.len()
        );
        if !up.funded.is_empty() {
            s += &format!("funded with {balance} ETH: {}\n", up.funded.join(", "));
        }
        s += "stop it with `gavel chain down`";
        s
    });
    Ok(())
}

#[derive(Debug, Serialize)]
struct DownOut {
    stopped: bool,
    pid: Option<u32>,
}

fn down(chain: &ChainArgs, out: &Output) -> anyhow::Result<()> {
    let config = chain.resolve()?;
    let path = LocalChain::path(&config.home);
    let recorded: Option<LocalChain> = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok());
    let Some(state) = recorded else {
        out.result(&DownOut { stopped: false, pid: None }, || "no local chain is running".into());
        return Ok(());
    };
    let ours = anvil::pid_cmdline(state.pid).is_some_and(|c| c.contains("anvil"));
    if ours && anvil::pid_alive(state.pid) {
        anvil::signal(state.pid, "TERM")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while anvil::pid_alive(state.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if anvil::pid_alive(state.pid) {
            anvil::signal(state.pid, "KILL")?;
        }
    }
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    // The chain's state is gone, so its deployments file is stale.
    if let Some(d) = &state.deployments {
        let _ = std::fs::remove_file(d);
    }
    out.result(&DownOut { stopped: ours, pid: Some(state.pid) }, || {
        format!("stopped the local chain at {} (pid {})", state.url, state.pid)
    });
    Ok(())
}

#[derive(Debug, Serialize)]
struct StatusOut {
    url: String,
    chain_id: u64,
    block: u64,
    local_pid: Option<u32>,
    deployments: Option<String>,
    contracts: Vec<ContractOut>,
}

async fn status(chain: &ChainArgs, out: &Output) -> anyhow::Result<()> {
    let config = chain.resolve()?;
    let local = LocalChain::load(&config.home).filter(|l| l.url == config.rpc_url);
    let pb = spinner(out, format!("connecting to {}", config.rpc_url));
    let client = chain.reader(&config).await;
    pb.finish_and_clear();
    let client = client?;
    let block = client.block_number().await?;
    let (deployments, contracts) = match Deployments::load(&config.deployments_dir, client.chain_id()) {
        Ok(d) => {
            client.verify_deployments(&d).await?;
            (Some(Deployments::path(&config.deployments_dir, d.chain_id).display().to_string()), rows(&d, "ok"))
        }
        Err(gavel_chain_client::Error::NoDeployments { .. }) => (None, vec![]),
        Err(e) => return Err(e.into()),
    };
    let s = StatusOut {
        url: config.rpc_url.clone(),
        chain_id: client.chain_id(),
        block,
        local_pid: local.map(|l| l.pid),
        deployments,
        contracts,
    };
    out.result(&s, || {
        let mut t = format!("chain {} at {}: block {}", s.chain_id, s.url, s.block);
        if let Some(pid) = s.local_pid {
            t += &format!(" (local chain, pid {pid})");
        }
        t.push('\n');
        match &s.deployments {
            Some(p) => t += &(contracts_table(&s.contracts) + &format!("deployments: {p}")),
            None => t += "no deployments for this chain (`gavel chain deploy`)",
        }
        t
    });
    Ok(())
}

async fn deploy(chain: &ChainArgs, out: &Output, force: bool, params: DeployParams) -> anyhow::Result<()> {
    let config = chain.resolve()?;
    let client = chain.writer(&config).await?;
    if !force
        && let Ok(existing) = Deployments::load(&config.deployments_dir, client.chain_id())
        && client.verify_deployments(&existing).await.is_ok()
    {
        return Err(UsageError(format!(
            "chain {} already has gavel deployed ({}); pass --force to deploy again",
            client.chain_id(),
            Deployments::path(&config.deployments_dir, client.chain_id()).display()
        ))
        .into());
    }
    let balance = client.balance(client.sender()?).await?;
    let pb = spinner(out, "deploying");
    let deployments = deploy_all(&client, &params, |name| pb.set_message(format!("deploying {name}"))).await;
    pb.finish_and_clear();
    let deployments = deployments?;
    let path = deployments.save(&config.deployments_dir)?;
    let spent = balance.saturating_sub(client.balance(deployments.deployer).await?);
    #[derive(Serialize)]
    struct DeployOut {
        chain_id: u64,
        deployer: String,
        deployments: String,
        contracts: Vec<ContractOut>,
        spent_wei: String,
    }
    let d = DeployOut {
        chain_id: deployments.chain_id,
        deployer: deployments.deployer.to_checksum(None),
        deployments: path.display().to_string(),
        contracts: rows(&deployments, "deployed"),
        spent_wei: spent.to_string(),
    };
    out.result(&d, || {
        format!(
            "deployed to chain {} from {} (spent {})\n{}deployments: {}",
            d.chain_id,
            d.deployer,
            ether(spent),
            contracts_table(&d.contracts),
            d.deployments
        )
    });
    Ok(())
}

async fn events(chain: &ChainArgs, out: &Output, file: PathBuf, follow: bool, max_range: u64) -> anyhow::Result<()> {
    let config = chain.resolve()?;
    let client = chain.reader(&config).await?;
    let deployments = Deployments::load(&config.deployments_dir, client.chain_id())?;
    let cursor_file = CursorFile::new(format!("{}.cursor", file.display()));
    let mut cursor = cursor_file.load()?.unwrap_or(Cursor { next_block: deployments.first_block(), output_len: 0 });
    let mut sink = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&file)
        .with_context(|| format!("opening {}", file.display()))?;
    // Drop whatever a killed run wrote after its last stored cursor: those events come again.
    sink.set_len(cursor.output_len).with_context(|| format!("truncating {}", file.display()))?;
    sink.seek(std::io::SeekFrom::End(0))?;
    let addresses: Vec<Address> = deployments.contracts.values().map(|d| d.address).collect();
    let poller = LogPoller::new(client.clone(), addresses, config.confirmations, max_range);
    let mut written = 0u64;
    loop {
        let batch = if follow {
            poller.next(cursor.next_block, config.poll_interval).await?
        } else {
            match poller.poll(cursor.next_block).await? {
                Some(batch) => batch,
                None => break,
            }
        };
        let mut buf = Vec::new();
        for log in &batch.logs {
            let name = deployments.name_of(log.address()).unwrap_or("unknown");
            serde_json::to_writer(&mut buf, &decode_log(name, log))?;
            buf.push(b'\n');
        }
        // The batch is durable before the cursor that acknowledges it.
        sink.write_all(&buf)?;
        sink.sync_data()?;
        written += batch.logs.len() as u64;
        cursor = Cursor { next_block: batch.next_block, output_len: cursor.output_len + buf.len() as u64 };
        cursor_file.store(&cursor)?;
    }
    #[derive(Serialize)]
    struct EventsOut {
        written: u64,
        next_block: u64,
        file: String,
    }
    let e = EventsOut { written, next_block: cursor.next_block, file: file.display().to_string() };
    out.result(&e, || format!("{} new events in {} (next block {})", e.written, e.file, e.next_block));
    Ok(())
}
