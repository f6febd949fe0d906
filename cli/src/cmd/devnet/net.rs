//! What both devnet commands stand on: a private anvil with the contracts deployed,
//! anvil's dev accounts as the parties, `gavel` child processes (one-shot commands and
//! daemons) and the chain reads the narration and the checks need.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use gavel_chain_client::{
    Client, Config, Deployments, Layer, Sender,
    alloy::{
        primitives::{Address, U256},
        providers::Provider,
        rpc::types::{Filter, Log},
        sol_types::SolEvent,
    },
    anvil::{self, Anvil, AnvilOptions},
    bindings::{DeviceRegistry, JobMarket, market::IJobMarket, registry::IDeviceRegistry},
    signer_from_hex,
};

/// anvil's dev accounts come from this mnemonic (the standard test one).
pub(super) const MNEMONIC: &str = "test test test test test test test test test test test junk";

/// The market's job states, by their enum index.
pub(super) const JOB_STATES: [&str; 8] =
    ["none", "open", "claimed", "submitted", "finalized", "cancelled", "expired", "rejected"];

/// The game's phases, by their enum index.
pub(super) const PHASES: [&str; 8] =
    ["checkpoints", "step commit", "ops", "slot", "descent", "chunk reveal", "replay", "resolved"];

/// The game's outcomes, by their enum index.
pub(super) const OUTCOMES: [&str; 6] = ["none", "replayed", "padding", "no disagreement", "timeout", "unbound"];

/// A party: one of anvil's dev accounts.
pub(super) struct Account {
    pub(super) name: String,
    pub(super) address: Address,
    /// The private key: only ever put in a child's environment.
    key: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("name", &self.name).field("address", &self.address).finish_non_exhaustive()
    }
}

/// A child process that runs until it is stopped (a daemon, or anvil); its output goes to
/// a log file.
#[derive(Debug)]
pub(super) struct Proc {
    pub(super) name: String,
    child: Option<Child>,
    pub(super) log: PathBuf,
    pub(super) port: Option<u16>,
    /// The party it runs as and its arguments (to start it again).
    who: usize,
    args: Vec<String>,
    restarts: u32,
}

/// Most times one daemon is started again after exiting on its own.
pub(super) const MAX_RESTARTS: u32 = 3;

/// A daemon that exited on its own and was started again.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Restart {
    pub(super) name: String,
    pub(super) status: String,
    /// Its panic message, or the last line of its log.
    pub(super) reason: String,
}

/// Why a process stopped, from its log: the panic (location and message), else the last line.
fn crash_reason(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    match lines.iter().rposition(|l| l.contains("panicked at")) {
        Some(i) => {
            let at = lines[i].split("panicked at ").nth(1).unwrap_or(lines[i]).trim_end_matches(':');
            let msg = lines.get(i + 1).copied().unwrap_or_default().trim();
            format!("panicked at {at}: {msg}")
        }
        None => lines.last().copied().unwrap_or("no log").trim().to_owned(),
    }
}

impl Proc {
    /// The base URL of its HTTP server.
    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port.unwrap_or_default())
    }

    /// `GET path` as JSON, when the server answers 200.
    pub(super) fn get(&self, path: &str) -> Option<serde_json::Value> {
        let (code, body) = http_get(self.port?, path)?;
        (code == 200).then(|| serde_json::from_str(&body).ok()).flatten()
    }

    /// Its log, without terminal colours.
    pub(super) fn log_text(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// The last `n` lines of its log.
    pub(super) fn log_tail(&self, n: usize) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// How it exited, if it has.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Asks it to stop (SIGTERM: the daemons finish their tick and exit).
    fn terminate(&mut self) {
        if let Some(c) = &mut self.child
            && matches!(c.try_wait(), Ok(None))
        {
            let _ = anvil::signal(c.id(), "TERM");
        }
    }

    /// Waits for it to exit until `deadline`, then kills it.
    fn reap(&mut self, deadline: Instant) {
        if let Some(mut c) = self.child.take() {
            while Instant::now() < deadline {
                if !matches!(c.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.terminate();
        self.reap(Instant::now() + Duration::from_secs(5));
    }
}

/// Removes terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A plain HTTP/1.1 GET on loopback: `(status, body)`.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// A free TCP port on loopback (bound, then released for a daemon to take).
pub(super) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to start a network.
pub(super) struct NetOptions<'a> {
    /// The state folder (emptied first when it is one of ours).
    pub(super) dir: &'a Path,
    /// The parties' names; account `i` is dev account `i`; 0 deploys.
    pub(super) parties: Vec<String>,
    /// Extra flags for `gavel chain deploy` (protocol parameters).
    pub(super) deploy: Vec<String>,
    /// The daemons' poll interval.
    pub(super) poll_ms: u64,
}

/// A private chain and the processes on it; everything is stopped when it is dropped.
pub(super) struct Net {
    pub(super) dir: PathBuf,
    exe: PathBuf,
    cast: PathBuf,
    pub(super) url: String,
    pub(super) chain_id: u64,
    pub(super) accounts: Vec<Account>,
    procs: Vec<Proc>,
    restarts: Vec<Restart>,
    anvil: Option<Proc>,
    pub(super) client: Client,
    pub(super) market: Address,
    pub(super) registry: Address,
    pub(super) factory: Address,
    pub(super) first_block: u64,
    rt: tokio::runtime::Runtime,
    stop: Arc<AtomicBool>,
    started: Instant,
    poll_ms: u64,
}

/// The marker that makes a folder one `gavel devnet` may empty.
const MARKER: &str = ".gavel-devnet";

impl Net {
    /// Starts anvil, derives the parties' keys and deploys the contracts.
    pub(super) fn start(opts: NetOptions<'_>) -> anyhow::Result<Self> {
        let started = Instant::now();
        let dir = prepare_dir(opts.dir)?;
        let cwd = std::env::current_dir()?;
        let exe = std::env::current_exe().context("finding the gavel executable")?;
        let anvil_bin = anvil::find_tool("anvil", &cwd)?;
        let cast = anvil::find_tool("cast", &cwd)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting a tokio runtime")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        rt.spawn(async move {
            super::super::solve::shutdown().await;
            flag.store(true, Ordering::SeqCst);
        });
        let mut accounts = Vec::new();
        for (i, name) in opts.parties.iter().enumerate() {
            let key = dev_key(&cast, i)?;
            let address = signer_from_hex(&key, "the dev mnemonic")?.address();
            accounts.push(Account { name: name.clone(), address, key });
        }
        let log = dir.join("logs/anvil.log");
        let options = AnvilOptions {
            bin: anvil_bin,
            port: 0,
            accounts: accounts.len() as u32,
            balance_eth: 10_000,
            block_time: None,
            log: log.clone(),
            detach: false,
        };
        let a = Anvil::start(&options, Duration::from_secs(30))?;
        let url = a.url();
        let port = a.port;
        record_pid(&dir, a.child.id())?;
        let anvil = Proc {
            name: "anvil".into(),
            child: Some(a.child),
            log,
            port: Some(port),
            who: 0,
            args: vec![],
            restarts: 0,
        };
        let config = Config::resolve(
            dir.join("home/observer"),
            &dir,
            [Layer { rpc_url: Some(url.clone()), deployments_dir: Some(dir.join("deployments")), ..Layer::default() }],
        )?;
        let client = rt.block_on(Client::connect(&config, Sender::None))?;
        let chain_id = client.chain_id();
        let mut net = Self {
            dir,
            exe,
            cast,
            url,
            chain_id,
            accounts,
            procs: Vec::new(),
            restarts: Vec::new(),
            anvil: Some(anvil),
            client,
            market: Address::ZERO,
            registry: Address::ZERO,
            factory: Address::ZERO,
            first_block: 0,
            rt,
            stop,
            started,
            poll_ms: opts.poll_ms,
        };
        let mut deploy = vec!["chain".to_owned(), "deploy".to_owned()];
        deploy.extend(opts.deploy);
        net.gavel(0, &deploy)?;
        let d = Deployments::load(&net.dir.join("deployments"), chain_id)?;
        let dd = net.dir.join("deployments");
        net.market = d.get("JobMarket", &dd)?.address;
        net.registry = d.get("DeviceRegistry", &dd)?.address;
        net.factory = d.get("DisputeGameFactory", &dd)?.address;
        net.first_block = d.first_block();
        Ok(net)
    }

    /// Seconds since the network started.
    pub(super) fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The home folder of party `who`.
    fn home(&self, who: usize) -> PathBuf {
        self.dir.join("home").join(&self.accounts[who].name)
    }

    /// `gavel ARGS` as party `who`: its own home, this chain, its key in the environment.
    pub(super) fn command(&self, who: usize, args: &[String]) -> Command {
        let mut c = Command::new(&self.exe);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("GAVEL_") && k != "GAVEL_ANVIL" && k != "GAVEL_CAST" {
                c.env_remove(k);
            }
        }
        c.args(args)
            .env("GAVEL_HOME", self.home(who))
            .env("GAVEL_RPC_URL", &self.url)
            .env("GAVEL_DEPLOYMENTS_DIR", self.dir.join("deployments"))
            .env("GAVEL_POLL_INTERVAL_MS", self.poll_ms.to_string())
            .env("GAVEL_PRIVATE_KEY", &self.accounts[who].key)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Runs `gavel --json ARGS` as party `who` and returns what it printed.
    pub(super) fn gavel(&self, who: usize, args: &[String]) -> anyhow::Result<serde_json::Value> {
        let mut full = vec!["--json".to_owned()];
        full.extend_from_slice(args);
        let out = self.command(who, &full).output().with_context(|| format!("running gavel {}", args.join(" ")))?;
        self.check_stop()?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!("`gavel {}` as {} failed ({}): {}", args.join(" "), self.accounts[who].name, out.status, err.trim());
        }
        serde_json::from_slice(&out.stdout).with_context(|| format!("reading the output of gavel {}", args.join(" ")))
    }

    /// Starts `gavel ARGS` as party `who` in the background, logging to
    /// `logs/<name>.log`; `port` is where its HTTP server listens.
    pub(super) fn spawn(
        &mut self,
        who: usize,
        name: &str,
        args: &[String],
        port: Option<u16>,
    ) -> anyhow::Result<usize> {
        let log = self.dir.join("logs").join(format!("{name}.log"));
        let child = self.launch(who, args, &log)?;
        self.procs.push(Proc {
            name: name.to_owned(),
            child: Some(child),
            log,
            port,
            who,
            args: args.to_vec(),
            restarts: 0,
        });
        Ok(self.procs.len() - 1)
    }

    /// Starts a daemon's process, appending to its log.
    fn launch(&self, who: usize, args: &[String], log: &Path) -> anyhow::Result<Child> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let child = self
            .command(who, args)
            .env("GAVEL_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting gavel {}", args.join(" ")))?;
        record_pid(&self.dir, child.id())?;
        Ok(child)
    }

    /// The daemons restarted after they exited on their own.
    pub(super) fn restarts(&self) -> &[Restart] {
        &self.restarts
    }

    /// Daemon `i`.
    pub(super) fn proc(&self, i: usize) -> &Proc {
        &self.procs[i]
    }

    /// Fails when the user interrupted the run.
    pub(super) fn check_stop(&self) -> anyhow::Result<()> {
        if self.interrupted() {
            bail!("interrupted; stopping every process of the network");
        }
        Ok(())
    }

    /// Whether the user interrupted the run (Ctrl-C, SIGTERM). A terminal's Ctrl-C also
    /// reaches anvil and the daemons, so a failed call after it means only that.
    pub(super) fn interrupted(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// `err`, or that the run was interrupted when it was (then the error is only its echo).
    pub(super) fn explain(&self, err: anyhow::Error) -> anyhow::Error {
        if self.interrupted() { anyhow::anyhow!("interrupted; every process of the network was stopped") } else { err }
    }

    /// Fails when interrupted, when anvil exited or when a daemon exited with an error. A
    /// daemon that crashed (panicked, or was killed by a signal) is started again, as a
    /// supervisor would (its state is on disk, and it resumes where it stopped), up to
    /// [`MAX_RESTARTS`] times; each restart is recorded and told.
    pub(super) fn check(&mut self) -> anyhow::Result<()> {
        self.check_stop()?;
        if let Some(a) = &mut self.anvil
            && let Some(status) = a.exited()
        {
            bail!("anvil exited ({status}); the end of its log ({}):\n{}", a.log.display(), a.log_tail(15));
        }
        for i in 0..self.procs.len() {
            let Some(exit) = self.procs[i].exited() else { continue };
            let p = &self.procs[i];
            let why = crash_reason(&p.log_text());
            let status = exit.to_string();
            // A crash (a panic, or a signal) is restarted; an error exit (bad flags, no
            // GPU, no chain) would only repeat.
            if !matches!(exit.code(), Some(101) | None) {
                bail!("{} exited ({status}): {why}; its log: {}", p.name, p.log.display());
            }
            if p.restarts >= MAX_RESTARTS {
                bail!(
                    "{} exited ({status}) again, after {} restarts: {why}; its log: {}",
                    p.name,
                    p.restarts,
                    p.log.display()
                );
            }
            eprintln!(
                "[{:>6.1}s] {} exited ({status}): {why}; starting it again, as a supervisor would (its state is on disk)",
                self.elapsed(),
                p.name
            );
            self.restarts.push(Restart { name: p.name.clone(), status: status.clone(), reason: why });
            let (who, args, log) = (p.who, p.args.clone(), p.log.clone());
            let child = self.launch(who, &args, &log)?;
            let p = &mut self.procs[i];
            p.child = Some(child);
            p.restarts += 1;
        }
        Ok(())
    }

    /// Polls `f` every `every` until it gives a value; fails after `limit`, when
    /// interrupted or when a process died.
    pub(super) fn wait<T>(
        &mut self,
        what: &str,
        limit: Duration,
        every: Duration,
        mut f: impl FnMut(&Self) -> anyhow::Result<Option<T>>,
    ) -> anyhow::Result<T> {
        let start = Instant::now();
        loop {
            if let Some(v) = f(self)? {
                return Ok(v);
            }
            self.check()?;
            if start.elapsed() > limit {
                bail!(
                    "timed out after {} s waiting for {what} (logs in {})",
                    limit.as_secs(),
                    self.dir.join("logs").display()
                );
            }
            std::thread::sleep(every);
        }
    }

    /// Waits until daemon `i` serves `/v1/status`.
    pub(super) fn wait_up(&mut self, i: usize) -> anyhow::Result<serde_json::Value> {
        let name = self.procs[i].name.clone();
        self.wait(&format!("{name} to start"), Duration::from_secs(120), Duration::from_millis(100), |n| {
            Ok(n.proc(i).get("/v1/status"))
        })
    }

    /// Runs a future on the network's runtime.
    pub(super) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Job `id` as the market holds it.
    pub(super) fn job(&self, id: u64) -> anyhow::Result<IJobMarket::Job> {
        let m = JobMarket::new(self.market, self.client.provider());
        self.block_on(async { m.jobOf(id).call().await.map_err(|e| self.client.contract_error("jobOf", e).into()) })
    }

    /// The number of jobs posted.
    pub(super) fn job_count(&self) -> anyhow::Result<u64> {
        let m = JobMarket::new(self.market, self.client.provider());
        self.block_on(async { m.jobCount().call().await.map_err(|e| self.client.contract_error("jobCount", e).into()) })
    }

    /// The number of dispute games opened.
    pub(super) fn game_count(&self) -> anyhow::Result<u64> {
        let m = JobMarket::new(self.market, self.client.provider());
        self.block_on(async {
            m.gameCount().call().await.map_err(|e| self.client.contract_error("gameCount", e).into())
        })
    }

    /// Dispute `game` as the market holds it.
    pub(super) fn dispute(&self, game: u64) -> anyhow::Result<IJobMarket::Dispute> {
        let m = JobMarket::new(self.market, self.client.provider());
        self.block_on(async {
            m.disputeOf(game).call().await.map_err(|e| self.client.contract_error("disputeOf", e).into())
        })
    }

    /// A device's stake.
    pub(super) fn stake(&self, device: u64) -> anyhow::Result<IDeviceRegistry::Stake> {
        let r = DeviceRegistry::new(self.registry, self.client.provider());
        self.block_on(async {
            r.stakeOf(device).call().await.map_err(|e| self.client.contract_error("stakeOf", e).into())
        })
    }

    /// A device's reputation.
    pub(super) fn reputation(&self, device: u64) -> anyhow::Result<IDeviceRegistry::Reputation> {
        let r = DeviceRegistry::new(self.registry, self.client.provider());
        self.block_on(async {
            r.reputationOf(device).call().await.map_err(|e| self.client.contract_error("reputationOf", e).into())
        })
    }

    /// An account's credit in the market and in the registry.
    pub(super) fn credits(&self, who: Address) -> anyhow::Result<(U256, U256)> {
        let m = JobMarket::new(self.market, self.client.provider());
        let r = DeviceRegistry::new(self.registry, self.client.provider());
        self.block_on(async {
            let a = m.creditOf(who).call().await.map_err(|e| self.client.contract_error("creditOf", e))?;
            let b = r.creditOf(who).call().await.map_err(|e| self.client.contract_error("creditOf", e))?;
            Ok((a, b))
        })
    }

    /// An account's ether.
    pub(super) fn balance(&self, who: Address) -> anyhow::Result<U256> {
        Ok(self.block_on(self.client.balance(who))?)
    }

    /// The chain's head block.
    pub(super) fn head(&self) -> anyhow::Result<u64> {
        Ok(self.block_on(self.client.block_number())?)
    }

    /// The latest block's timestamp.
    pub(super) fn now(&self) -> anyhow::Result<u64> {
        Ok(self.block_on(self.client.timestamp())?)
    }

    /// Every log of `addresses` from block `from` on.
    pub(super) fn logs(&self, addresses: Vec<Address>, from: u64) -> anyhow::Result<Vec<Log>> {
        self.block_on(async {
            let head = self.client.block_number().await?;
            if from > head {
                return Ok(Vec::new());
            }
            let filter = Filter::new().address(addresses).from_block(from).to_block(head);
            self.client.provider().get_logs(&filter).await.map_err(|e| self.client.rpc_error("get logs", e).into())
        })
    }

    /// Moves the chain's clock `secs` forward and mines a block on it, with `cast rpc` as a
    /// user would (`evm_increaseTime`, then `anvil_mine`).
    pub(super) fn warp_with_cast(&self, secs: u64) -> anyhow::Result<()> {
        for args in [vec!["rpc", "evm_increaseTime", &secs.to_string()], vec!["rpc", "anvil_mine"]] {
            let out = Command::new(&self.cast)
                .args(&args)
                .args(["--rpc-url", &self.url])
                .stdin(Stdio::null())
                .output()
                .context("running cast")?;
            if !out.status.success() {
                bail!("cast {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
            }
        }
        Ok(())
    }

    /// Mines an empty block when the latest one is more than a second old, so the chain's
    /// time keeps up with the wall clock (anvil mines only on transactions), as blocks
    /// do on a real chain: deadlines pass even when nobody sends anything.
    pub(super) fn tick(&self) -> anyhow::Result<()> {
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        if self.now()? + 1 < wall {
            self.block_on(async {
                let _: serde_json::Value = self.client.raw("evm_mine", ()).await?;
                anyhow::Ok(())
            })?;
        }
        Ok(())
    }

    /// Party `who`.
    pub(super) fn account(&self, who: usize) -> &Account {
        &self.accounts[who]
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Daemons first (they finish their tick), then the chain.
        for p in &mut self.procs {
            p.terminate();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for p in &mut self.procs {
            p.reap(deadline);
        }
        self.procs.clear();
        if let Some(mut a) = self.anvil.take() {
            a.terminate();
            a.reap(Instant::now() + Duration::from_secs(5));
        }
        // Every process is gone: keep the list for whoever checks (the end-to-end tests),
        // under a name the scripts' exit traps do not act on.
        let _ = std::fs::rename(self.dir.join("pids"), self.dir.join("pids.stopped"));
    }
}

/// Empties `dir` when it is a devnet folder, or any folder in a `runs/` scratch folder
/// (the repository's, ignored by git), or creates it; then marks it as a devnet folder.
fn prepare_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        let ours = dir.join(MARKER).is_file();
        let scratch = std::fs::canonicalize(dir)?.parent().and_then(Path::file_name).is_some_and(|n| n == "runs");
        let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !ours && !scratch && !empty {
            bail!("{} exists and is not a folder gavel devnet made; choose another --dir", dir.display());
        }
        if ours || scratch {
            if let Ok(pids) = std::fs::read_to_string(dir.join("pids")) {
                stop_leftovers(&pids);
            }
            std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
        }
    }
    for sub in ["logs", "home", "deployments"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(dir.join(MARKER), "a gavel devnet folder: emptied by the next run\n")?;
    Ok(std::fs::canonicalize(dir)?)
}

/// Stops processes an earlier run left (it was killed before it could clean up).
fn stop_leftovers(pids: &str) {
    for pid in pids.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        let ours = anvil::pid_cmdline(pid).is_some_and(|c| c.contains("gavel") || c.contains("anvil"));
        if ours && anvil::pid_alive(pid) {
            let _ = anvil::signal(pid, "KILL");
        }
    }
}

/// Appends a child's pid to `<dir>/pids` (what the scripts' exit traps and the next run
/// stop if this process is killed before it cleans up).
fn record_pid(dir: &Path, pid: u32) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("pids"))?;
    writeln!(f, "{pid}")?;
    Ok(())
}

/// Dev account `index`'s private key, from `cast wallet private-key`.
fn dev_key(cast: &Path, index: usize) -> anyhow::Result<String> {
    let out = Command::new(cast)
        .args(["wallet", "private-key", "--mnemonic", MNEMONIC, "--mnemonic-index", &index.to_string()])
        .stdin(Stdio::null())
        .output()
        .context("running cast wallet private-key")?;
    if !out.status.success() {
        bail!("cast wallet private-key failed for dev account {index}");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Decodes a log as event `E`, if it is one.
pub(super) fn decode<E: SolEvent>(log: &Log) -> Option<E> {
    (log.topic0() == Some(&E::SIGNATURE_HASH)).then(|| E::decode_log(&log.inner).ok().map(|l| l.data)).flatten()
}

/// `0x1234…abcd`.
pub(super) fn short(x: impl std::fmt::Display) -> String {
    let s = x.to_string();
    if s.len() > 14 { format!("{}…{}", &s[..6], &s[s.len() - 4..]) } else { s }
}

/// Wei as ether with a sign.
pub(super) fn signed_ether(wei: i128) -> String {
    let abs = crate::config::ether(U256::from(wei.unsigned_abs()));
    match wei.signum() {
        1 => format!("+{abs}"),
        -1 => format!("-{abs}"),
        _ => abs,
    }
}

/// Ether with four decimals (account balances, which gas makes long).
pub(super) fn ether4(x: U256) -> String {
    format!("{:.4} ETH", wei(x) as f64 / 1e18)
}

/// A wei amount as `i128`.
pub(super) fn wei(x: U256) -> i128 {
    i128::try_from(x).unwrap_or(i128::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stripped_and_amounts_signed() {
        assert_eq!(strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"), "2026  INFO x");
        assert_eq!(signed_ether(-200_000_000_000_000_000), "-0.2 ETH");
        assert_eq!(signed_ether(1_000_000_000_000_000_000), "+1 ETH");
        assert_eq!(signed_ether(0), "0 ETH");
        assert_eq!(short("0x983d9db15340b065c573b521bae017ceecca7d4a"), "0x983d…7d4a");
    }

    #[test]
    fn a_crash_is_told_by_its_panic() {
        let log = "INFO x\n\nthread 'main' (28341) panicked at prover/src/nodes.rs:52:9:\na chunk leaf has no children\nstack backtrace:\n   0: x\n";
        assert_eq!(crash_reason(log), "panicked at prover/src/nodes.rs:52:9: a chunk leaf has no children");
        assert_eq!(crash_reason("a\nlast words\n"), "last words");
    }

    #[test]
    fn a_folder_that_is_not_ours_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious"), "x").unwrap();
        assert!(prepare_dir(dir.path()).is_err());
        assert!(dir.path().join("precious").is_file());
        let ours = dir.path().join("net");
        prepare_dir(&ours).unwrap();
        std::fs::write(ours.join("logs/old.log"), "x").unwrap();
        prepare_dir(&ours).unwrap();
        assert!(!ours.join("logs/old.log").exists());
        // Anything in a `runs/` scratch folder may go.
        let old = dir.path().join("runs/demo");
        std::fs::create_dir_all(old.join("gpu")).unwrap();
        prepare_dir(&old).unwrap();
        assert!(!old.join("gpu").exists());
    }
}
