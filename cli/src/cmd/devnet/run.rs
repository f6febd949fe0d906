//! `gavel devnet run`: N solvers (a fraction of them cheating), M watchtowers and a job
//! generator on one private chain, each a separate process; at the end, the checks (every
//! job settled, every cheat caught, no honest party slashed, the escrow conserved to the
//! wei) and the throughput figures, from the chain's own events.
//!
//! Chain time runs with the wall clock: the run deploys the market with a short minimum
//! challenge window (`--window`, 60 s) and posts every job with that window, so honest
//! results finalize a minute after they are submitted and a watchtower has that minute to
//! give its verdict (on this machine one takes well under a second per 20-step result).
//! Nothing moves the chain's clock, so no game and no window is ever decided by a jump;
//! the run only mines an empty block when none came for a second, as a chain's block
//! producer would, so that deadlines pass while the nodes are quiet.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use gavel_chain_client::{
    alloy::{
        primitives::{Address, U256},
        rpc::types::Log,
    },
    bindings::{DeviceRegistry, JobMarket, game::DisputeGame},
};
use serde::Serialize;

use super::net::{JOB_STATES, Net, NetOptions, Restart, decode, free_port, wei};
use crate::{
    config::{UsageError, ether, parse_amount, parse_duration},
    output::Output,
};

/// The generator (and deployer) is dev account 0.
const GENERATOR: usize = 0;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Solver daemons (1 to 64).
    #[arg(long, default_value_t = 3)]
    solvers: usize,
    /// Watchtower daemons (1 to 32).
    #[arg(long, default_value_t = 2)]
    watchers: usize,
    /// Share of the solvers that cheat, 0 to 1 (rounded to a whole number of solvers).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.2)]
    cheaters: f64,
    /// Jobs the generator posts (1 to 1000).
    #[arg(long, default_value_t = 6)]
    jobs: u64,
    /// Training steps per job (the digits MLP, each job with its own seed).
    #[arg(long, default_value_t = 20)]
    steps: u64,
    /// Most posted jobs waiting for a solver; the generator waits below it [default: the number of solvers].
    #[arg(long, value_name = "N")]
    max_open: Option<u64>,
    /// Stop (and fail) after this long (`90s`, `30m`, `2h`).
    #[arg(long, value_parser = parse_duration, default_value = "30m")]
    max_duration: u64,
    /// Each job's reward.
    #[arg(long, value_parser = parse_amount, default_value = "0.1eth")]
    reward: U256,
    /// Each job's collateral, and so each challenge's bond.
    #[arg(long, value_parser = parse_amount, default_value = "0.1eth")]
    collateral: U256,
    /// Each solver's stake (watchtowers stake the registry's minimum, 1 ETH).
    #[arg(long, value_parser = parse_amount, default_value = "10eth")]
    stake: U256,
    /// How the cheaters cheat, given out in turn (`wrong-op`, `wrong-output`).
    #[arg(long, value_delimiter = ',', default_value = "wrong-op,wrong-output")]
    adversaries: Vec<String>,
    /// Share of the results each watchtower re-executes.
    #[arg(long, value_name = "FRACTION", default_value_t = 1.0)]
    sample: f64,
    /// The job spec the jobs are made from (seed, steps and name changed per job).
    #[arg(long, value_name = "SPEC", default_value = "examples/digits.toml")]
    spec: PathBuf,
    /// The folder for the chain's and the daemons' state and logs (emptied first).
    #[arg(long, value_name = "DIR", default_value = "runs/devnet")]
    dir: PathBuf,
    /// Every job's challenge window, in real time (the market is deployed with it as its
    /// minimum): how long the watchtowers have to give their verdicts.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    window: u64,
    /// How often the daemons look at the chain, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    poll_ms: u64,
}

impl Args {
    fn check(&self) -> anyhow::Result<()> {
        let bad = |m: String| Err(UsageError(m).into());
        if !(1..=64).contains(&self.solvers) {
            return bad(format!("--solvers {} must be 1 to 64", self.solvers));
        }
        if !(1..=32).contains(&self.watchers) {
            return bad(format!("--watchers {} must be 1 to 32", self.watchers));
        }
        if !(1..=1000).contains(&self.jobs) {
            return bad(format!("--jobs {} must be 1 to 1000", self.jobs));
        }
        if !(1..=100_000).contains(&self.steps) {
            return bad(format!("--steps {} must be 1 to 100000", self.steps));
        }
        if !(0.0..=1.0).contains(&self.cheaters) || !(0.0..=1.0).contains(&self.sample) {
            return bad("--cheaters and --sample are fractions from 0 to 1".into());
        }
        if let Some(a) = self.adversaries.iter().find(|a| !matches!(a.as_str(), "wrong-op" | "wrong-output")) {
            return bad(format!("--adversaries: {a:?} is not a solver's adversary (wrong-op, wrong-output)"));
        }
        if self.adversaries.is_empty() {
            return bad("--adversaries needs at least one".into());
        }
        if !self.spec.is_file() {
            return bad(format!("no job spec at {} (run from the repository root)", self.spec.display()));
        }
        Ok(())
    }
}

/// One daemon of the run.
#[derive(Debug, Clone, Serialize)]
struct Node {
    name: String,
    role: &'static str,
    address: String,
    device: u64,
    /// The adversary it plays, if it cheats.
    adversary: Option<String>,
    jobs_claimed: u64,
    jobs_finalized: u64,
    jobs_rejected: u64,
    games: u64,
    games_won: u64,
    games_moot: u64,
    games_lost: u64,
    paid_in_wei: String,
    credited_wei: String,
    expected_credited_wei: String,
    slashed_wei: String,
}

#[derive(Debug, Clone, Serialize)]
struct Check {
    what: String,
    ok: bool,
    detail: String,
}

#[derive(Debug, Clone, Serialize)]
struct Figures {
    /// From the first post to the last settlement.
    wall_s: f64,
    jobs_settled: u64,
    jobs_per_minute: f64,
    games: u64,
    moves: u64,
    moves_per_game: f64,
    /// Blocks from a challenge to its game's ruling.
    dispute_blocks_median: u64,
    dispute_blocks_max: u64,
    /// Blocks from a cheater's submission to the rejection of its result.
    reject_blocks_median: u64,
    reject_blocks_max: u64,
    /// Wall seconds from submission to settlement, as the run saw them (an honest result
    /// waits out its challenge window).
    honest_settle_s_median: f64,
    cheat_reject_s_median: f64,
    blocks: u64,
    executed_steps: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    solvers: usize,
    watchers: usize,
    cheaters: usize,
    jobs: u64,
    steps: u64,
    /// Every job's challenge window, seconds.
    window_s: u64,
    timed_out: bool,
    figures: Figures,
    checks: Vec<Check>,
    nodes: Vec<Node>,
    job_states: BTreeMap<String, u64>,
    /// Daemons that exited on their own and were started again.
    restarts: Vec<Restart>,
}

/// What the monitor saw of one job, in wall time.
#[derive(Debug, Default, Clone)]
struct Seen {
    posted: Option<Instant>,
    submitted: Option<Instant>,
    settled: Option<Instant>,
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    args.check()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_duration);
    let n_cheat = (args.cheaters * args.solvers as f64).round() as usize;
    // Spread the cheaters over the solvers' start order.
    let cheats: Vec<bool> =
        (0..args.solvers).map(|i| (i + 1) * n_cheat / args.solvers > i * n_cheat / args.solvers).collect();
    let mut parties = vec!["generator".to_owned()];
    parties.extend((1..=args.solvers).map(|i| format!("solver-{i}")));
    parties.extend((1..=args.watchers).map(|i| format!("tower-{i}")));
    eprintln!(
        "gavel devnet: {} solvers ({n_cheat} cheating), {} watchtowers, {} jobs of {} steps; state and logs in {}",
        args.solvers,
        args.watchers,
        args.jobs,
        args.steps,
        args.dir.display()
    );
    let mut net = Net::start(NetOptions {
        dir: &args.dir,
        parties,
        deploy: vec!["--min-challenge-window".into(), args.window.to_string()],
        poll_ms: args.poll_ms,
    })?;
    let say = |net: &Net, text: String| eprintln!("[{:>6.1}s] {text}", net.elapsed());
    say(&net, format!("anvil at {} with the contracts deployed", net.url));

    // The specs and the generator's content server.
    let specs = write_specs(&net, &args)?;
    let content = net.dir.join("generator/content");
    let mut add = vec!["serve".to_owned(), "--content".into(), content.display().to_string(), "--no-serve".into()];
    for s in &specs {
        add.extend(["--add".to_owned(), s.display().to_string()]);
    }
    net.gavel(GENERATOR, &add)?;
    let port = free_port()?;
    let serve = vec![
        "serve".to_owned(),
        "--content".into(),
        content.display().to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    let server = net.spawn(GENERATOR, "generator-serve", &serve, Some(port))?;
    net.wait_up(server)?;
    let source = net.proc(server).url();
    say(&net, format!("{} job specs written and served at {source}", specs.len()));

    // Identities.
    let mut nodes = Vec::new();
    let mut ports = Vec::new();
    let mut adversaries = args.adversaries.iter().cycle();
    for i in 0..args.solvers + args.watchers {
        let who = i + 1;
        let solver = i < args.solvers;
        let port = free_port()?;
        let stake = if solver { args.stake } else { U256::from(10u64).pow(U256::from(18)) };
        let name = net.account(who).name.clone();
        let reg = vec![
            "identity".to_owned(),
            "register".into(),
            "--name".into(),
            name.clone(),
            "--backend".into(),
            "cpu".into(),
            "--stake".into(),
            stake.to_string(),
            "--endpoint".into(),
            format!("http://127.0.0.1:{port}"),
        ];
        let d = net.gavel(who, &reg)?;
        let device = d["device"].as_u64().context("register printed no device id")?;
        let adversary = (solver && cheats.get(i) == Some(&true)).then(|| adversaries.next().expect("cycled").clone());
        nodes.push(Node {
            name,
            role: if solver { "solver" } else { "watchtower" },
            address: net.account(who).address.to_string(),
            device,
            adversary,
            jobs_claimed: 0,
            jobs_finalized: 0,
            jobs_rejected: 0,
            games: 0,
            games_won: 0,
            games_moot: 0,
            games_lost: 0,
            paid_in_wei: "0".into(),
            credited_wei: "0".into(),
            expected_credited_wei: "0".into(),
            slashed_wei: "0".into(),
        });
        ports.push(port);
    }
    say(&net, format!("{} devices registered", nodes.len()));

    // Daemons.
    let mut procs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let who = i + 1;
        let data = net.dir.join(&node.name);
        let listen = format!("127.0.0.1:{}", ports[i]);
        let mut a = if node.role == "solver" { vec!["solve".to_owned()] } else { vec!["watch".to_owned()] };
        a.extend([
            "--data".into(),
            data.display().to_string(),
            "--listen".into(),
            listen,
            "--backend".into(),
            "cpu".into(),
            "--source".into(),
            source.clone(),
            "--trace-every".into(),
            "4".into(),
        ]);
        if let Some(adv) = &node.adversary {
            a.extend(["--adversary".into(), adv.clone()]);
        }
        if node.role == "watchtower" {
            a.extend(["--sample".into(), args.sample.to_string()]);
        }
        procs.push(net.spawn(who, &node.name, &a, Some(ports[i]))?);
    }
    for &p in &procs {
        net.wait_up(p)?;
    }
    say(&net, format!("{} solvers and {} watchtowers running", args.solvers, args.watchers));

    // The generator: posts the jobs one `gavel job post` at a time, keeping at most
    // `max_open` waiting for a solver.
    let max_open = args.max_open.unwrap_or(args.solvers as u64).max(1);
    let open = Arc::new(AtomicU64::new(0));
    let halt = Arc::new(AtomicBool::new(false));
    let posted: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let failure: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let mut commands = Vec::new();
    for s in &specs {
        let a = vec![
            "--json".to_owned(),
            "job".into(),
            "post".into(),
            s.display().to_string(),
            "--reward".into(),
            args.reward.to_string(),
            "--collateral".into(),
            args.collateral.to_string(),
            "--claim-within".into(),
            "20d".into(),
            "--execute-within".into(),
            "30d".into(),
            "--challenge-window".into(),
            format!("{}s", args.window),
        ];
        commands.push(net.command(GENERATOR, &a));
    }
    let mut seen: HashMap<u64, Seen> = HashMap::new();
    let mut settled_states: HashMap<u64, u8> = HashMap::new();
    let mut timed_out = false;
    let mut last_progress = Instant::now();
    let monitor = std::thread::scope(|scope| -> anyhow::Result<()> {
        let (open2, halt2, posted2, failure2) = (open.clone(), halt.clone(), posted.clone(), failure.clone());
        scope.spawn(move || {
            for (i, mut cmd) in commands.into_iter().enumerate() {
                while open2.load(Ordering::SeqCst) >= max_open && !halt2.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                if halt2.load(Ordering::SeqCst) {
                    return;
                }
                let result = cmd.output();
                let job = result
                    .as_ref()
                    .ok()
                    .filter(|o| o.status.success())
                    .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
                    .and_then(|v| v["job"].as_u64());
                match job {
                    Some(id) => {
                        open2.fetch_add(1, Ordering::SeqCst);
                        posted2.lock().expect("lock").push((id, Instant::now()));
                    }
                    None => {
                        let why = match result {
                            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                            Err(e) => e.to_string(),
                        };
                        *failure2.lock().expect("lock") = Some(format!("posting job {} failed: {why}", i + 1));
                        return;
                    }
                }
            }
        });
        let r = (|| -> anyhow::Result<()> {
            loop {
                net.check()?;
                net.tick()?;
                if let Some(f) = failure.lock().expect("lock").clone() {
                    bail!(f);
                }
                for (id, at) in posted.lock().expect("lock").iter() {
                    seen.entry(*id).or_default().posted.get_or_insert(*at);
                }
                let count = net.job_count()?;
                let mut open_now = 0;
                let mut submitted = Vec::new();
                for id in 1..=count {
                    if settled_states.contains_key(&id) {
                        continue;
                    }
                    let j = net.job(id)?;
                    let s = seen.entry(id).or_default();
                    match j.state {
                        1 => open_now += 1,
                        3 => {
                            s.submitted.get_or_insert_with(Instant::now);
                            submitted.push((j.challengeDeadline, id));
                        }
                        4..=7 => {
                            s.submitted.get_or_insert_with(Instant::now);
                            s.settled = Some(Instant::now());
                            settled_states.insert(id, j.state);
                        }
                        _ => {}
                    }
                }
                open.store(open_now, Ordering::SeqCst);
                let all_posted = posted.lock().expect("lock").len() as u64 == args.jobs;
                let done = all_posted && settled_states.len() as u64 == args.jobs && games_over(&net)?;
                if done {
                    return Ok(());
                }
                if last_progress.elapsed() > Duration::from_secs(10) {
                    last_progress = Instant::now();
                    let fin = settled_states.values().filter(|&&s| s == 4).count();
                    let rej = settled_states.values().filter(|&&s| s == 7).count();
                    eprintln!(
                        "[{:>6.1}s] posted {}/{}, open {open_now}, in their window {}, finalized {fin}, rejected {rej}, games {}",
                        net.elapsed(),
                        posted.lock().expect("lock").len(),
                        args.jobs,
                        submitted.len(),
                        net.game_count()?
                    );
                }
                if Instant::now() > deadline {
                    timed_out = true;
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })();
        halt.store(true, Ordering::SeqCst);
        r
    });
    monitor.map_err(|e| net.explain(e))?;
    // Give the daemons a moment to withdraw what they were credited last.
    let daemons: Vec<Address> = nodes.iter().map(|n| n.address.parse().expect("an address")).collect();
    let _ = net.wait("the daemons' last withdrawals", Duration::from_secs(30), Duration::from_millis(500), |n| {
        for a in &daemons {
            let (m, r) = n.credits(*a)?;
            if !(m.is_zero() && r.is_zero()) {
                return Ok(None);
            }
        }
        Ok(Some(()))
    });
    say(
        &net,
        if timed_out { "time is up; checking what settled".into() } else { "every job settled; checking".into() },
    );
    let report = settle(&net, &args, nodes, &seen, timed_out, n_cheat)?;
    out.result(&report, || text(&report));
    let logs = net.dir.join("logs");
    drop(net);
    eprintln!("every process of the devnet has been stopped (logs in {})", logs.display());
    if !report.ok {
        let failed: Vec<&str> = report.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
        bail!("devnet checks failed: {}", failed.join("; "));
    }
    Ok(())
}

/// Whether every dispute game has been decided.
fn games_over(net: &Net) -> anyhow::Result<bool> {
    for g in 1..=net.game_count()? {
        if net.dispute(g)?.state == 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One spec per job: the template with its own name and seed and `--steps` steps.
fn write_specs(net: &Net, args: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(&args.spec).with_context(|| format!("reading {}", args.spec.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| UsageError(format!("{}: {e}", args.spec.display())))?;
    let base = std::fs::canonicalize(&args.spec)?.parent().map(PathBuf::from).unwrap_or_default();
    let data = table
        .get("dataset")
        .and_then(|d| d.get("path"))
        .and_then(|p| p.as_str())
        .ok_or_else(|| UsageError(format!("{} has no [dataset] path", args.spec.display())))?;
    let data = std::fs::canonicalize(base.join(data)).with_context(|| format!("finding the data set {data}"))?;
    let dir = net.dir.join("specs");
    std::fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    for i in 1..=args.jobs {
        let job = table.get_mut("job").and_then(|j| j.as_table_mut()).context("the spec has no [job]")?;
        job.insert("name".into(), format!("devnet-{i}").into());
        job.insert("seed".into(), toml::Value::Integer(i as i64));
        job.insert("steps".into(), toml::Value::Integer(args.steps as i64));
        job.remove("checkpoint_interval");
        let ds = table.get_mut("dataset").and_then(|d| d.as_table_mut()).context("the spec has no [dataset]")?;
        ds.insert("path".into(), data.display().to_string().into());
        let path = dir.join(format!("job-{i}.toml"));
        std::fs::write(&path, toml::to_string(&table)?)?;
        out.push(path);
    }
    Ok(out)
}

fn median<T: Copy + Ord + Default>(v: &mut [T]) -> T {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn median_f(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The checks and figures, from the chain's events.
#[allow(clippy::too_many_arguments)]
fn settle(
    net: &Net,
    args: &Args,
    mut nodes: Vec<Node>,
    seen: &HashMap<u64, Seen>,
    timed_out: bool,
    n_cheat: usize,
) -> anyhow::Result<Report> {
    let logs = net.logs(vec![net.market, net.registry], net.first_block)?;
    let market_logs: Vec<&Log> = logs.iter().filter(|l| l.address() == net.market).collect();
    let registry_logs: Vec<&Log> = logs.iter().filter(|l| l.address() == net.registry).collect();
    let c = wei(args.collateral);
    let half = c / 2;

    // Jobs.
    let count = net.job_count()?;
    let mut states = BTreeMap::new();
    let mut job_device = HashMap::new();
    let mut job_state = HashMap::new();
    for id in 1..=count {
        let j = net.job(id)?;
        *states.entry(JOB_STATES.get(j.state as usize).copied().unwrap_or("?").to_owned()).or_insert(0) += 1;
        job_device.insert(id, j.device);
        job_state.insert(id, j.state);
    }
    let by_device: HashMap<u64, usize> = nodes.iter().enumerate().map(|(i, n)| (n.device, i)).collect();
    let by_address: HashMap<Address, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.address.parse().expect("an address"), i)).collect();
    let generator = net.account(GENERATOR).address;

    // Money in and out of each contract, and each account's credits.
    let (mut m_in, mut m_credited, mut m_out) = (0i128, 0i128, 0i128);
    let mut credited: HashMap<Address, i128> = HashMap::new();
    let mut paid: HashMap<Address, i128> = HashMap::new();
    let mut opened = HashMap::new(); // game -> (challenger, block, job)
    let mut resolved = HashMap::new(); // game -> (solverWon, moot, block)
    let mut submitted_block = HashMap::new();
    let mut rejected_block = HashMap::new();
    for l in &market_logs {
        let block = l.block_number.unwrap_or_default();
        if let Some(e) = decode::<JobMarket::JobPosted>(l) {
            m_in += wei(e.reward);
            *paid.entry(e.submitter).or_default() += wei(e.reward);
        } else if let Some(e) = decode::<JobMarket::DisputeOpened>(l) {
            m_in += wei(e.bond);
            *paid.entry(e.challenger).or_default() += wei(e.bond);
            opened.insert(e.game, (e.challenger, block, e.job, e.gameAddress));
        } else if let Some(e) = decode::<JobMarket::Credited>(l) {
            m_credited += wei(e.amount);
            *credited.entry(e.account).or_default() += wei(e.amount);
        } else if let Some(e) = decode::<JobMarket::CreditWithdrawn>(l) {
            m_out += wei(e.amount);
        } else if let Some(e) = decode::<JobMarket::DisputeResolved>(l) {
            resolved.insert(e.game, (e.solverWon, e.moot, block));
        } else if let Some(e) = decode::<JobMarket::ResultSubmitted>(l) {
            submitted_block.insert(e.job, block);
        } else if let Some(e) = decode::<JobMarket::JobRejected>(l) {
            rejected_block.insert(e.job, block);
        }
    }
    let (mut r_in, mut r_out, mut slashed_total) = (0i128, 0i128, 0i128);
    let mut slashed: HashMap<u64, i128> = HashMap::new();
    for l in &registry_logs {
        if let Some(e) = decode::<DeviceRegistry::DeviceRegistered>(l) {
            r_in += wei(e.stake);
        } else if let Some(e) = decode::<DeviceRegistry::StakeAdded>(l) {
            r_in += wei(e.amount);
        } else if let Some(e) = decode::<DeviceRegistry::StakeWithdrawn>(l) {
            r_out += wei(e.amount);
        } else if let Some(e) = decode::<DeviceRegistry::CreditWithdrawn>(l) {
            r_out += wei(e.amount);
        } else if let Some(e) = decode::<DeviceRegistry::StakeSlashed>(l) {
            slashed_total += wei(e.amount);
            *slashed.entry(e.device).or_default() += wei(e.amount);
            *credited.entry(e.recipient).or_default() += wei(e.amount);
        }
    }

    // Games: moves from the games' own events.
    let addresses: Vec<Address> = opened.values().map(|o| o.3).collect();
    let mut moves = 0u64;
    if !addresses.is_empty() {
        for l in net.logs(addresses, net.first_block)? {
            let party = decode::<DisputeGame::CheckpointRevealed>(&l).is_some()
                || decode::<DisputeGame::StepCommitted>(&l).is_some()
                || decode::<DisputeGame::OpRootRevealed>(&l).is_some()
                || decode::<DisputeGame::SlotRevealed>(&l).is_some()
                || decode::<DisputeGame::ChildrenRevealed>(&l).is_some()
                || decode::<DisputeGame::ChunkRevealed>(&l).is_some()
                || decode::<DisputeGame::Replayed>(&l).is_some()
                || decode::<DisputeGame::ElementReplayed>(&l).is_some();
            moves += u64::from(party);
        }
    }

    // Per node: jobs, games, expected credits.
    let mut expected: HashMap<Address, i128> = HashMap::new();
    let mut rejected_jobs = 0i128;
    for id in 1..=count {
        let Some(&i) = job_device.get(&id).and_then(|d| by_device.get(d)) else { continue };
        let node = &mut nodes[i];
        node.jobs_claimed += 1;
        match job_state[&id] {
            4 => {
                node.jobs_finalized += 1;
                *expected.entry(node.address.parse()?).or_default() += wei(args.reward);
            }
            7 => {
                node.jobs_rejected += 1;
                rejected_jobs += 1;
                // The submitter: the reward back (market) and the rest of the collateral (registry).
                *expected.entry(generator).or_default() += wei(args.reward) + (c - half);
            }
            _ => {}
        }
    }
    let mut lost_by_watchers = 0;
    let mut dispute_blocks = Vec::new();
    for (game, (challenger, block, _job, _)) in &opened {
        let Some(&i) = by_address.get(challenger) else { continue };
        let node = &mut nodes[i];
        node.games += 1;
        if let Some(&(solver_won, moot, end)) = resolved.get(game) {
            dispute_blocks.push(end.saturating_sub(*block));
            let e = expected.entry(*challenger).or_default();
            if moot {
                node.games_moot += 1;
                *e += c;
            } else if solver_won {
                node.games_lost += 1;
                lost_by_watchers += 1;
            } else {
                node.games_won += 1;
                *e += c + half;
            }
        }
    }
    for n in &mut nodes {
        let a: Address = n.address.parse()?;
        n.paid_in_wei = paid.get(&a).copied().unwrap_or_default().to_string();
        n.credited_wei = credited.get(&a).copied().unwrap_or_default().to_string();
        n.expected_credited_wei = expected.get(&a).copied().unwrap_or_default().to_string();
        n.slashed_wei = slashed.get(&n.device).copied().unwrap_or_default().to_string();
    }
    let mut reject_blocks: Vec<u64> = rejected_block
        .iter()
        .map(|(job, b)| b.saturating_sub(submitted_block.get(job).copied().unwrap_or(*b)))
        .collect();

    // The checks.
    let cheater = |n: &Node| n.adversary.is_some();
    let settled = job_state.values().filter(|&&s| s == 4 || s == 7).count() as u64;
    let cheat_jobs: Vec<u64> = (1..=count)
        .filter(|id| job_device.get(id).and_then(|d| by_device.get(d)).is_some_and(|&i| cheater(&nodes[i])))
        .collect();
    let caught = cheat_jobs.iter().filter(|id| job_state[id] == 7).count();
    let honest_hurt: Vec<String> = nodes
        .iter()
        .filter(|n| !cheater(n) && (n.slashed_wei != "0" || n.jobs_rejected > 0 || n.games_lost > 0))
        .map(|n| n.name.clone())
        .collect();
    let market_balance = wei(net.balance(net.market)?);
    let registry_balance = wei(net.balance(net.registry)?);
    let mut outstanding_m = 0i128;
    let mut outstanding_r = 0i128;
    let mut everyone: Vec<Address> = by_address.keys().copied().collect();
    everyone.push(generator);
    for a in &everyone {
        let (m, r) = net.credits(*a)?;
        outstanding_m += wei(m);
        outstanding_r += wei(r);
    }
    let mut staked = 0i128;
    for n in &nodes {
        let s = net.stake(n.device)?;
        staked += wei(U256::from(s.bonded)) + wei(U256::from(s.unbonding));
    }
    let generator_credited = credited.get(&generator).copied().unwrap_or_default();
    let generator_expected = expected.get(&generator).copied().unwrap_or_default();
    let exact_nodes: Vec<String> = nodes
        .iter()
        .filter(|n| n.credited_wei != n.expected_credited_wei)
        .map(|n| format!("{} credited {} wei, expected {}", n.name, n.credited_wei, n.expected_credited_wei))
        .collect();
    let slashes_right =
        nodes.iter().all(|n| n.slashed_wei.parse::<i128>().unwrap_or(-1) == c * n.jobs_rejected as i128);
    let checks = vec![
        Check {
            what: "every job settled".into(),
            ok: !timed_out && count == args.jobs && settled == args.jobs,
            detail: format!("{settled} of {} jobs finalized or rejected ({states:?})", args.jobs),
        },
        Check {
            what: "every cheat caught".into(),
            ok: caught == cheat_jobs.len() && cheat_jobs.iter().all(|id| job_state[id] != 4),
            detail: format!("{caught} of {} results from cheating solvers rejected", cheat_jobs.len()),
        },
        Check {
            what: "no honest party slashed".into(),
            ok: honest_hurt.is_empty() && lost_by_watchers == 0,
            detail: if honest_hurt.is_empty() {
                format!("{} honest solvers and {} watchtowers lost nothing", args.solvers - n_cheat, args.watchers)
            } else {
                format!("hurt: {}", honest_hurt.join(", "))
            },
        },
        Check {
            what: "escrow conserved".into(),
            ok: m_credited == m_in
                && market_balance == m_in - m_out
                && market_balance == outstanding_m
                && registry_balance == r_in - r_out
                && registry_balance == staked + outstanding_r
                && slashed_total == c * rejected_jobs,
            detail: format!(
                "market: {} in (rewards + bonds) = {} credited; holds {} = the credits not yet withdrawn; \
                 registry: holds {} = stakes {} + credits {}; slashed {} = {} rejected x collateral",
                ether(U256::from(m_in)),
                ether(U256::from(m_credited)),
                ether(U256::from(market_balance)),
                ether(U256::from(registry_balance)),
                ether(U256::from(staked)),
                ether(U256::from(outstanding_r)),
                ether(U256::from(slashed_total)),
                rejected_jobs
            ),
        },
        Check {
            what: "every payment exact (docs/contracts.md, Amounts and shares)".into(),
            ok: exact_nodes.is_empty() && generator_credited == generator_expected && slashes_right,
            detail: if exact_nodes.is_empty() {
                format!(
                    "each solver credited its rewards, each watchtower its bonds and shares, the submitter {} back",
                    ether(U256::from(generator_credited))
                )
            } else {
                exact_nodes.join("; ")
            },
        },
    ];

    // Figures.
    let first_post = seen.values().filter_map(|s| s.posted).min();
    let last_settle = seen.values().filter_map(|s| s.settled).max();
    let wall_s = match (first_post, last_settle) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let mut honest_s = Vec::new();
    let mut cheat_s = Vec::new();
    for (id, s) in seen {
        if let (Some(a), Some(b)) = (s.submitted, s.settled) {
            let d = b.saturating_duration_since(a).as_secs_f64();
            if cheat_jobs.contains(id) { cheat_s.push(d) } else { honest_s.push(d) }
        }
    }
    let figures = Figures {
        wall_s: (wall_s * 10.0).round() / 10.0,
        jobs_settled: settled,
        jobs_per_minute: if wall_s > 0.0 { (settled as f64 / (wall_s / 60.0) * 10.0).round() / 10.0 } else { 0.0 },
        games: opened.len() as u64,
        moves,
        moves_per_game: if opened.is_empty() {
            0.0
        } else {
            (moves as f64 / opened.len() as f64 * 10.0).round() / 10.0
        },
        dispute_blocks_median: median(&mut dispute_blocks.clone()),
        dispute_blocks_max: dispute_blocks.iter().copied().max().unwrap_or_default(),
        reject_blocks_median: median(&mut reject_blocks),
        reject_blocks_max: reject_blocks.iter().copied().max().unwrap_or_default(),
        honest_settle_s_median: (median_f(&mut honest_s) * 10.0).round() / 10.0,
        cheat_reject_s_median: (median_f(&mut cheat_s) * 10.0).round() / 10.0,
        blocks: net.head()?,
        executed_steps: settled * args.steps * (1 + args.watchers as u64),
    };
    Ok(Report {
        ok: checks.iter().all(|c| c.ok),
        solvers: args.solvers,
        watchers: args.watchers,
        cheaters: n_cheat,
        jobs: args.jobs,
        steps: args.steps,
        window_s: args.window,
        timed_out,
        figures,
        checks,
        nodes,
        job_states: states,
        restarts: net.restarts().to_vec(),
    })
}

fn text(r: &Report) -> String {
    let e = |x: &str| ether(x.parse().unwrap_or_default());
    let mut t = String::from("\nnodes\n");
    t += &format!(
        "{:<11} {:<10} {:>6} {:<13} {:>7} {:>9} {:>8} {:>6} {:>4} {:>4} {:>4} {:>10} {:>10} {:>10}\n",
        "NAME",
        "ROLE",
        "DEVICE",
        "CHEATS",
        "CLAIMED",
        "FINALIZED",
        "REJECTED",
        "GAMES",
        "WON",
        "MOOT",
        "LOST",
        "PAID IN",
        "CREDITED",
        "SLASHED"
    );
    for n in &r.nodes {
        t += &format!(
            "{:<11} {:<10} {:>6} {:<13} {:>7} {:>9} {:>8} {:>6} {:>4} {:>4} {:>4} {:>10} {:>10} {:>10}\n",
            n.name,
            n.role,
            n.device,
            n.adversary.as_deref().unwrap_or("-"),
            n.jobs_claimed,
            n.jobs_finalized,
            n.jobs_rejected,
            n.games,
            n.games_won,
            n.games_moot,
            n.games_lost,
            e(&n.paid_in_wei),
            e(&n.credited_wei),
            e(&n.slashed_wei)
        );
    }
    t += "\nchecks\n";
    for c in &r.checks {
        t += &format!("  {} {}: {}\n", if c.ok { "ok  " } else { "FAIL" }, c.what, c.detail);
    }
    let f = &r.figures;
    t += &format!(
        "\nfigures ({} jobs of {} steps, {} solvers of which {} cheat, {} watchtowers)\n\
         \x20 jobs settled per minute   {} ({} jobs in {} s, first post to last settlement)\n\
         \x20 dispute latency           median {} blocks, max {} (challenge to ruling; {} games, {} moves, {} a game)\n\
         \x20 cheat to rejection        median {} blocks, max {} (submission to rejection); {} s median wall time\n\
         \x20 honest result to payment  {} s median wall time (the challenge window is {} s)\n\
         \x20 chain                     {} blocks\n\
         \x20 steps executed            {} (solvers and watchtowers)",
        r.jobs,
        r.steps,
        r.solvers,
        r.cheaters,
        r.watchers,
        f.jobs_per_minute,
        f.jobs_settled,
        f.wall_s,
        f.dispute_blocks_median,
        f.dispute_blocks_max,
        f.games,
        f.moves,
        f.moves_per_game,
        f.reject_blocks_median,
        f.reject_blocks_max,
        f.cheat_reject_s_median,
        f.honest_settle_s_median,
        r.window_s,
        f.blocks,
        f.executed_steps
    );
    for x in &r.restarts {
        t += &format!("\n  restarted {} after it exited ({}): {}", x.name, x.status, x.reason);
    }
    t += if r.ok { "\nevery check passed" } else { "\nSOME CHECKS FAILED" };
    t
}
