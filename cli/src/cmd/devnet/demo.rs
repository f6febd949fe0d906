//! `gavel devnet demo`: the story `scripts/demo` tells, with four parties on a private
//! chain. alice posts the same digits training job twice; bob (an honest solver on the GPU
//! backend) solves the first and is paid; mallory (a solver started with the hidden
//! `--adversary` flag) solves the second wrongly; walter (a watchtower re-executing on the
//! CPU) agrees with bob bit for bit, disputes mallory, bisects to one operator and wins
//! the on-chain replay; mallory is slashed. Every step is narrated as it happens, the
//! balances are tabled before and after, and the end state is checked to the wei.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use gavel_chain_client::{
    alloy::primitives::{Address, U256},
    bindings::{DeviceRegistry, JobMarket, game::DisputeGame},
};
use gavel_executor::Program;
use serde::Serialize;

use super::net::{
    JOB_STATES, Net, NetOptions, OUTCOMES, PHASES, Restart, decode, ether4, free_port, short, signed_ether, wei,
};
use crate::{
    config::{UsageError, ether, parse_amount, parse_duration},
    output::Output,
};

const ALICE: usize = 0;
const BOB: usize = 1;
const MALLORY: usize = 2;
const WALTER: usize = 3;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The job spec alice posts (twice).
    #[arg(long, value_name = "SPEC", default_value = "examples/digits.toml")]
    spec: PathBuf,
    /// The folder for the chain's and the parties' state and logs (emptied first).
    #[arg(long, value_name = "DIR", default_value = "runs/demo")]
    dir: PathBuf,
    /// Where bob, the honest solver, runs jobs (`gpu` is lavapipe on a machine without one).
    #[arg(long, value_name = "BACKEND", default_value = "gpu", value_parser = ["gpu", "auto", "cpu"])]
    backend: String,
    /// How mallory cheats: one weight update in the middle step, or in the last step.
    #[arg(long, value_name = "KIND", default_value = "wrong-op", value_parser = ["wrong-op", "wrong-output"])]
    cheat: String,
    /// Each job's reward.
    #[arg(long, value_parser = parse_amount, default_value = "1eth")]
    reward: U256,
    /// Each job's collateral (also the watchtower's bond).
    #[arg(long, value_parser = parse_amount, default_value = "0.4eth")]
    collateral: U256,
    /// Give up (and stop everything) after this long (`90s`, `10m`).
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    timeout: u64,
}

/// One party's line in the summary.
#[derive(Debug, Clone, Serialize)]
struct Party {
    name: String,
    role: &'static str,
    address: String,
    device: Option<u64>,
    stake_before_wei: String,
    stake_after_wei: String,
    /// Rewards posted (submitter) and bonds (watchtower).
    paid_in_wei: String,
    /// Every credit the market and the registry gave it (rewards, refunds, bonds back,
    /// shares of a slash).
    credited_wei: String,
    /// credited - paid in - stake lost (gas not counted).
    net_wei: String,
    balance_before_wei: String,
    balance_after_wei: String,
}

/// A job of the story.
#[derive(Debug, Clone, Serialize)]
struct JobReport {
    job: u64,
    state: String,
    solver: String,
    device: u64,
    trace_root: String,
    output_root: String,
    /// The watchtower's own trace root for it.
    watchtower_trace_root: String,
}

/// The dispute game of the story.
#[derive(Debug, Clone, Default, Serialize)]
struct GameReport {
    game: u64,
    address: String,
    job: u64,
    /// Moves the two parties sent (each reveal or commit is one transaction).
    moves: u64,
    /// Blocks from the challenge to the ruling.
    blocks: u64,
    winner: String,
    outcome: String,
    /// The step and op the bisection ended at.
    step: u64,
    op: u32,
    op_name: String,
}

#[derive(Debug, Clone, Serialize)]
struct Check {
    what: String,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    elapsed_s: f64,
    spec: String,
    steps: u64,
    reward_wei: String,
    collateral_wei: String,
    solver_backend: String,
    honest: JobReport,
    cheated: JobReport,
    game: GameReport,
    parties: Vec<Party>,
    checks: Vec<Check>,
    /// Daemons that exited on their own and were started again.
    restarts: Vec<Restart>,
}

/// The narrator: prints what happens, with the time since the start.
struct Story<'a> {
    net: Net,
    deadline: Instant,
    cwd: PathBuf,
    program: &'a Program,
    job_name: String,
}

impl Story<'_> {
    fn say(&self, who: &str, text: impl AsRef<str>) {
        eprintln!("[{:>6.1}s] {who:<8} {}", self.net.elapsed(), text.as_ref());
    }

    fn more(&self, text: impl AsRef<str>) {
        eprintln!("{:19}{}", "", text.as_ref());
    }

    fn section(&self, title: &str) {
        eprintln!("\n== {title}");
    }

    /// What is left of the run's time.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A path as the user would type it (relative to the working folder when inside it).
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.cwd).unwrap_or(p).display().to_string()
    }

    /// A command line as the user would type it.
    fn shown(&self, args: &[String]) -> String {
        format!("$ gavel {}", args.join(" "))
    }

    fn wait<T>(&mut self, what: &str, f: impl FnMut(&Net) -> anyhow::Result<Option<T>>) -> anyhow::Result<T> {
        let left = self.left();
        self.net.wait(what, left, Duration::from_millis(150), f)
    }

    /// Waits until job `id` has left the states before `state`.
    fn wait_job(
        &mut self,
        id: u64,
        state: u8,
    ) -> anyhow::Result<gavel_chain_client::bindings::market::IJobMarket::Job> {
        let name = JOB_STATES[state as usize];
        self.wait(&format!("job {id} to be {name}"), |n| {
            let j = n.job(id)?;
            Ok((j.state >= state).then_some(j))
        })
    }
}

/// `0.4eth`: an amount as a flag value.
fn flag(amount: U256) -> String {
    ether(amount).trim_end_matches(" ETH").to_owned() + "eth"
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

/// The backend named in a daemon's `executing` log line.
fn backend_in(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("executing") && l.contains("backend="))?;
    let rest = &line[line.find("backend=")? + "backend=".len()..];
    Some(match rest.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or(q).to_owned(),
        None => rest.trim().to_owned(),
    })
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    if !args.spec.is_file() {
        return Err(UsageError(format!("no job spec at {} (run from the repository root)", args.spec.display())).into());
    }
    let parsed = gavel_executor::JobSpec::load(&args.spec)?;
    let program = parsed.compile()?.program;
    let started = Instant::now();
    eprintln!("gavel demo: a compute market on a private chain with an honest solver, a cheater and a watchtower");
    eprintln!("state and logs in {}", args.dir.display());
    let net = Net::start(NetOptions {
        dir: &args.dir,
        parties: ["alice", "bob", "mallory", "walter"].map(String::from).to_vec(),
        deploy: vec![],
        poll_ms: 200,
    })?;
    let mut story = Story {
        net,
        deadline: started + Duration::from_secs(args.timeout),
        cwd: std::env::current_dir()?,
        program: &program,
        job_name: parsed.job.name.clone(),
    };
    let report = tell(&mut story, &args).map_err(|e| story.net.explain(e))?;
    let failed: Vec<&Check> = report.checks.iter().filter(|c| !c.ok).collect();
    out.result(&report, || summary_text(&report));
    if !failed.is_empty() {
        let list: Vec<&str> = failed.iter().map(|c| c.what.as_str()).collect();
        bail!("the story did not go as told: {}", list.join("; "));
    }
    let logs = story.net.dir.join("logs");
    drop(story);
    eprintln!(
        "\nthe demo took {:.0} s; every process it started has been stopped (logs in {})",
        started.elapsed().as_secs_f64(),
        logs.display()
    );
    Ok(())
}

fn tell(st: &mut Story<'_>, args: &Args) -> anyhow::Result<Report> {
    let (reward, c) = (args.reward, args.collateral);
    let steps = st.program.steps;
    let spec = st.rel(&std::fs::canonicalize(&args.spec)?);
    let dir = st.net.dir.clone();

    st.section("the chain");
    st.say(
        "anvil",
        format!(
            "a private chain {} at {}, the contracts deployed by alice (`gavel chain deploy`):",
            st.net.chain_id, st.net.url
        ),
    );
    st.more(format!(
        "JobMarket {}, DeviceRegistry {}, DisputeGameFactory {}",
        st.net.market, st.net.registry, st.net.factory
    ));
    let roles = ["submitter", "honest solver", "cheating solver", "watchtower"];
    for (i, role) in roles.iter().enumerate() {
        let a = st.net.account(i);
        st.more(format!("{:<8} {} ({role}), anvil dev account {i}", a.name, a.address));
    }

    // alice serves her job's spec and data set by hash.
    let alice_port = free_port()?;
    let content = dir.join("alice/content");
    let serve = vec![
        s("serve"),
        s("--content"),
        content.display().to_string(),
        s("--add"),
        spec.clone(),
        s("--listen"),
        format!("127.0.0.1:{alice_port}"),
    ];
    st.say("alice", format!("{} &", st.shown(&serve)));
    st.more("serves the job spec and its data set, each named by its keccak256");
    let serve_i = st.net.spawn(ALICE, "alice-serve", &serve, Some(alice_port))?;
    st.net.wait_up(serve_i)?;
    let alice_url = st.net.proc(serve_i).url();

    st.section("identities");
    let ports = [free_port()?, free_port()?, free_port()?];
    let regs = [
        (BOB, "bob-gpu", args.backend.as_str(), "2eth", ports[0]),
        (MALLORY, "mallory-rig", "cpu", "2eth", ports[1]),
        (WALTER, "walter-tower", "cpu", "1eth", ports[2]),
    ];
    let mut devices = [None; 4];
    for (who, name, backend, stake, port) in regs {
        let a = vec![
            s("identity"),
            s("register"),
            s("--name"),
            s(name),
            s("--backend"),
            s(backend),
            s("--stake"),
            s(stake),
            s("--endpoint"),
            format!("http://127.0.0.1:{port}"),
        ];
        st.say(&st.net.account(who).name.clone(), st.shown(&a));
        let d = st.net.gavel(who, &a)?;
        let id = d["device"].as_u64().context("register printed no device id")?;
        devices[who] = Some(id);
        st.more(format!("device {id}, {} bonded", ether(d["bonded_wei"].as_str().unwrap_or("0").parse()?)));
    }
    let device = |who: usize| devices[who].expect("registered");

    let mut before = Vec::new();
    for (who, dev) in devices.iter().enumerate() {
        let a = st.net.account(who).address;
        let stake = dev.map(|d| st.net.stake(d)).transpose()?.map_or(U256::ZERO, |s| U256::from(s.bonded));
        before.push((st.net.balance(a)?, stake));
    }
    st.section("balances before");
    for (who, (bal, stake)) in before.iter().enumerate() {
        st.more(format!(
            "{:<8} {:>14} in the account, {:>6} staked",
            st.net.account(who).name,
            ether4(*bal),
            ether(*stake)
        ));
    }

    // ---------------------------------------------------------------- job 1
    st.section("job 1: an honest solver on the GPU backend, checked by a watchtower on the CPU");
    let post = vec![s("job"), s("post"), spec.clone(), s("--reward"), flag(reward), s("--collateral"), flag(c)];
    st.say("alice", st.shown(&post));
    let p1 = st.net.gavel(ALICE, &post)?;
    let job1 = p1["job"].as_u64().context("job post printed no job id")?;
    st.more(format!(
        "job {job1}: {steps} training steps of `{}`, {} in escrow, program root {} registered for disputes",
        st.job_name,
        ether(reward),
        short(p1["program_root"].as_str().unwrap_or("?"))
    ));

    let watch = vec![
        s("watch"),
        s("--data"),
        dir.join("walter").display().to_string(),
        s("--listen"),
        format!("127.0.0.1:{}", ports[2]),
        s("--backend"),
        s("cpu"),
        s("--source"),
        alice_url.clone(),
    ];
    st.say("walter", format!("{} &", st.shown(&watch)));
    st.more("a watchtower: re-executes every submitted result on the CPU reference and disputes wrong ones");
    let walter = st.net.spawn(WALTER, "walter-watch", &watch, Some(ports[2]))?;
    let solve_bob = vec![
        s("solve"),
        s("--data"),
        dir.join("bob").display().to_string(),
        s("--listen"),
        format!("127.0.0.1:{}", ports[0]),
        s("--backend"),
        args.backend.clone(),
        s("--source"),
        alice_url.clone(),
        s("--collateral-budget"),
        flag(c),
    ];
    st.say("bob", format!("{} &", st.shown(&solve_bob)));
    st.more(format!("a solver that locks at most {} of collateral at a time: one job until it is paid", ether(c)));
    let bob = st.net.spawn(BOB, "bob-solve", &solve_bob, Some(ports[0]))?;
    st.net.wait_up(walter)?;
    st.net.wait_up(bob)?;

    let j = st.wait(&format!("bob to claim job {job1}"), |n| {
        if let Some(v) = n.proc(bob).get(&format!("/v1/jobs/{job1}")).filter(|v| v["stage"] == "declined") {
            bail!("bob declined job {job1}: {}", v["note"].as_str().unwrap_or_default());
        }
        let j = n.job(job1)?;
        Ok((j.state >= 2).then_some(j))
    })?;
    if j.device != device(BOB) {
        bail!("job {job1} was claimed by device {}, not bob's device {}", j.device, device(BOB));
    }
    let locked = st.net.stake(device(BOB))?.locked;
    st.say(
        "bob",
        format!(
            "claimed job {job1}: {} of device {}'s stake locked as collateral",
            ether(U256::from(locked)),
            device(BOB)
        ),
    );

    // Only now does mallory start: the first job is taken.
    let solve_mallory = vec![
        s("solve"),
        s("--data"),
        dir.join("mallory").display().to_string(),
        s("--listen"),
        format!("127.0.0.1:{}", ports[1]),
        s("--backend"),
        s("cpu"),
        s("--source"),
        alice_url.clone(),
        s("--adversary"),
        args.cheat.clone(),
    ];
    st.say("mallory", format!("{} &", st.shown(&solve_mallory)));
    let how = if args.cheat == "wrong-op" {
        format!("adds 1 to one weight in the SGD update of step {}", steps / 2)
    } else {
        format!("adds 1 to one weight in the SGD update of the last step, {}", steps.saturating_sub(1))
    };
    st.more(format!("`--adversary` is a hidden flag for tests: her node {how} and defends that trace in any dispute"));
    let mallory = st.net.spawn(MALLORY, "mallory-solve", &solve_mallory, Some(ports[1]))?;
    st.net.wait_up(mallory)?;

    let backend = st.wait("bob to start running", |n| Ok(backend_in(&n.proc(bob).log_text())))?;
    st.say("bob", format!("training job {job1} on {backend}"));
    let j1 = st.wait_job(job1, 3)?;
    st.say(
        "bob",
        format!(
            "submitted job {job1}: trace root {} (over all {} checkpoints), output root {}",
            short(j1.traceRoot),
            steps + 1,
            short(j1.outputRoot)
        ),
    );
    st.more(format!("the result can be challenged for {} s of chain time", j1.challengeWindow));
    let v1 = st.wait("walter's check of job 1", |n| {
        Ok(n.proc(walter)
            .get(&format!("/v1/jobs/{job1}"))
            .filter(|v| !matches!(v["stage"].as_str(), Some("new" | "executing") | None)))
    })?;
    let walter_root1 = v1["trace_root"].as_str().unwrap_or_default().to_owned();
    let identical = v1["stage"] == "agreed" && walter_root1 == j1.traceRoot.to_string();
    if identical {
        st.say(
            "walter",
            format!(
                "re-executed job {job1} on the CPU reference: trace root {}, the same as bob's",
                short(&walter_root1)
            ),
        );
        st.more(format!(
            "bit-identity: all {} checkpoints of bob's run on {backend} and walter's CPU run are the same bytes; nothing to dispute",
            steps + 1
        ));
    } else {
        st.say("walter", format!("re-executed job {job1}: {} (trace root {})", v1["stage"], short(&walter_root1)));
        st.more("the GPU and CPU runs differ: please report this with the logs in the state folder");
    }

    // ---------------------------------------------------------------- job 2
    st.section("job 2: the same job, claimed by a cheating solver");
    st.say("alice", st.shown(&post));
    let p2 = st.net.gavel(ALICE, &post)?;
    let job2 = p2["job"].as_u64().context("job post printed no job id")?;
    st.more(format!("job {job2}: the same spec, {} in escrow", ether(reward)));
    let note = st.wait("bob's decision on job 2", |n| {
        Ok(n.proc(bob)
            .get(&format!("/v1/jobs/{job2}"))
            .filter(|v| v["stage"] != "new")
            .map(|v| (v["stage"].clone(), v["note"].clone())))
    })?;
    let why = note.1.as_str().unwrap_or_default();
    let why = if why.contains("budget") {
        format!("job {job1}'s {} of collateral is still locked and fills its budget", ether(c))
    } else {
        why.to_owned()
    };
    st.say("bob", format!("passes on job {job2} ({}: {why})", note.0.as_str().unwrap_or("?")));
    let j = st.wait(&format!("mallory to claim job {job2}"), |n| {
        let j = n.job(job2)?;
        if j.state < 2
            && let Some(v) = n.proc(mallory).get(&format!("/v1/jobs/{job2}")).filter(|v| v["stage"] == "declined")
        {
            bail!("mallory declined job {job2}: {}", v["note"].as_str().unwrap_or_default());
        }
        Ok((j.state >= 2).then_some(j))
    })?;
    if j.device != device(MALLORY) {
        bail!("job {job2} was claimed by device {}, not mallory's device {}", j.device, device(MALLORY));
    }
    st.say("mallory", format!("claimed job {job2}: {} of her stake locked", ether(U256::from(j.collateral))));
    let j2 = st.wait_job(job2, 3)?;
    st.say(
        "mallory",
        format!(
            "submitted job {job2}: trace root {} (bob's honest run of the same spec: {}), output root {}",
            short(j2.traceRoot),
            short(j1.traceRoot),
            short(j2.outputRoot)
        ),
    );

    let opened = st.wait("walter's challenge", |n| {
        let logs = n.logs(vec![n.market], n.first_block)?;
        Ok(logs.iter().find_map(|l| {
            decode::<JobMarket::DisputeOpened>(l)
                .filter(|e| e.job == job2)
                .map(|e| (e, l.block_number.unwrap_or_default()))
        }))
    })?;
    let (ev, opened_block) = opened;
    let v2 = st.net.proc(walter).get(&format!("/v1/jobs/{job2}")).unwrap_or_default();
    let walter_root2 = v2["trace_root"].as_str().unwrap_or_default().to_owned();
    st.say(
        "walter",
        format!(
            "re-executed job {job2}: his trace root {} differs from mallory's {}",
            short(&walter_root2),
            short(j2.traceRoot)
        ),
    );
    st.more(format!(
        "challenge: dispute game {} at {}, bond {} (follow it with `gavel dispute show {}`)",
        ev.game,
        ev.gameAddress,
        ether(ev.bond),
        ev.game
    ));
    st.section(&format!("dispute game {}, move by move", ev.game));
    let game = narrate(st, ev.game, ev.gameAddress, job2, opened_block)?;

    let j2 = st.wait_job(job2, 7)?;
    let half = c / U256::from(2);
    st.say(
        "market",
        format!(
            "job {job2} is {}: mallory's collateral {} is slashed, {} to walter and {} to alice;",
            JOB_STATES.get(j2.state as usize).unwrap_or(&"?"),
            ether(c),
            ether(half),
            ether(c - half)
        ),
    );
    st.more(format!("walter's bond {} comes back; alice's reward {} is refunded", ether(c), ether(reward)));
    let paid = c + half;
    st.wait("walter's withdrawal", |n| {
        Ok(n.proc(walter).get("/v1/status").filter(|v| v["withdrawn_wei"] == paid.to_string().as_str()))
    })?;
    st.say("walter", format!("withdrew {} (bond back + half of mallory's collateral)", ether(paid)));

    // ---------------------------------------------------------------- time travel
    st.section("time travel: past job 1's challenge window");
    let now = st.net.now()?;
    let secs = j1.challengeDeadline.saturating_sub(now) + 1;
    st.say(
        "anvil",
        format!("job {job1}'s window ends in {secs} s of chain time; the demo moves anvil's clock instead of waiting:"),
    );
    st.more(format!("$ cast rpc evm_increaseTime {secs} && cast rpc anvil_mine"));
    st.net.warp_with_cast(secs)?;
    st.wait_job(job1, 4)?;
    st.say("bob", format!("finalized job {job1}: the reward is credited to him, his collateral unlocked"));
    st.wait("bob's withdrawal", |n| {
        Ok(n.proc(bob).get("/v1/status").filter(|v| v["withdrawn_wei"] == reward.to_string().as_str()))
    })?;
    st.say("bob", format!("withdrew {}", ether(reward)));
    let w = vec![s("job"), s("withdraw")];
    st.say("alice", st.shown(&w));
    let got = st.net.gavel(ALICE, &w)?;
    let amount = |field: &str| -> anyhow::Result<U256> { Ok(got[field].as_str().unwrap_or("0").parse()?) };
    st.more(format!(
        "withdrew {}: job {job2}'s reward, refunded by the JobMarket, and her share of mallory's slashed \
         collateral, {}, from the DeviceRegistry",
        ether(amount("withdrawn_wei")?),
        ether(amount("registry_wei")?)
    ));

    // ---------------------------------------------------------------- the end
    let after_honest = st.net.job(job1)?;
    let honest = JobReport {
        job: job1,
        state: s(JOB_STATES[after_honest.state as usize]),
        solver: st.net.account(BOB).name.clone(),
        device: after_honest.device,
        trace_root: s(after_honest.traceRoot),
        output_root: s(after_honest.outputRoot),
        watchtower_trace_root: walter_root1.clone(),
    };
    let cheated = JobReport {
        job: job2,
        state: s(JOB_STATES[j2.state as usize]),
        solver: st.net.account(MALLORY).name.clone(),
        device: j2.device,
        trace_root: s(j2.traceRoot),
        output_root: s(j2.outputRoot),
        watchtower_trace_root: walter_root2.clone(),
    };
    let parties = ledger(st, &devices, &before)?;
    let c_i = wei(c);
    let r_i = wei(reward);
    let party = |name: &str| parties.iter().find(|p| p.name == name).expect("listed");
    let num = |x: &str| x.parse::<i128>().unwrap_or(i128::MIN);
    let market_balance = st.net.balance(st.net.market)?;
    let bob_rep = st.net.reputation(device(BOB))?;
    let mallory_rep = st.net.reputation(device(MALLORY))?;
    let walter_rep = st.net.reputation(device(WALTER))?;
    let total_net: i128 = parties.iter().map(|p| num(&p.net_wei)).sum();
    let checks = vec![
        Check {
            what: format!("job {job1} finalized for bob's device"),
            ok: honest.state == "finalized" && honest.device == device(BOB),
        },
        Check {
            what: format!("walter's CPU trace root of job {job1} equals bob's {backend} one (bit-identity)"),
            ok: identical && walter_root2 == honest.trace_root,
        },
        Check {
            what: format!("job {job2} rejected: it was mallory's"),
            ok: cheated.state == "rejected" && cheated.device == device(MALLORY),
        },
        Check {
            what: s("the game was won by walter, the challenger, on the replay"),
            ok: game.winner == "walter" && game.outcome == "replayed",
        },
        Check {
            what: format!("bob credited exactly the reward {}, stake untouched", ether(reward)),
            ok: num(&party("bob").credited_wei) == r_i
                && party("bob").stake_after_wei == party("bob").stake_before_wei
                && bob_rep.jobsCompleted == 1
                && bob_rep.amountSlashed == 0,
        },
        Check {
            what: format!("mallory slashed exactly the collateral {}", ether(c)),
            ok: num(&party("mallory").stake_before_wei) - num(&party("mallory").stake_after_wei) == c_i
                && num(&party("mallory").credited_wei) == 0
                && mallory_rep.disputesLost == 1
                && wei(U256::from(mallory_rep.amountSlashed)) == c_i,
        },
        Check {
            what: format!("walter paid the bond {} and was credited it plus half the collateral", ether(c)),
            ok: num(&party("walter").paid_in_wei) == c_i
                && num(&party("walter").credited_wei) == c_i + c_i / 2
                && walter_rep.disputesWon == 1,
        },
        Check {
            what: s("alice paid two rewards and got one back plus the rest of the collateral"),
            ok: num(&party("alice").paid_in_wei) == 2 * r_i
                && num(&party("alice").credited_wei) == r_i + (c_i - c_i / 2),
        },
        Check {
            what: s("the nets sum to zero and the market holds nothing"),
            ok: total_net == 0 && market_balance.is_zero(),
        },
    ];
    for ch in &checks {
        st.say("check", format!("{} {}", if ch.ok { "ok  " } else { "FAIL" }, ch.what));
    }
    Ok(Report {
        ok: checks.iter().all(|c| c.ok),
        elapsed_s: (st.net.elapsed() * 10.0).round() / 10.0,
        spec,
        steps,
        reward_wei: reward.to_string(),
        collateral_wei: c.to_string(),
        solver_backend: backend,
        honest,
        cheated,
        game,
        parties,
        checks,
        restarts: st.net.restarts().to_vec(),
    })
}

/// Plays back game `id`'s events as they are mined, until it is resolved.
fn narrate(st: &mut Story<'_>, id: u64, address: Address, job: u64, opened: u64) -> anyhow::Result<GameReport> {
    let who = |party: u8| if party == 0 { "mallory" } else { "walter" };
    let k = st.program.ops.len();
    let mut from = opened;
    let mut step = 0u64;
    let mut descending = false;
    let mut revealed: [Vec<gavel_chain_client::alloy::primitives::B256>; 2] = [Vec::new(), Vec::new()];
    let mut r = GameReport { game: id, address: address.to_string(), job, ..GameReport::default() };
    loop {
        let logs = st.wait(&format!("the next move in game {id}"), |n| {
            let logs = n.logs(vec![address], from)?;
            Ok((!logs.is_empty()).then_some(logs))
        })?;
        for l in &logs {
            let block = l.block_number.unwrap_or_default();
            from = from.max(block + 1);
            let line = if let Some(e) = decode::<DisputeGame::CheckpointRevealed>(l) {
                r.moves += 1;
                format!("{:<8} reveals checkpoint h_{} = {}", who(e.party), e.step, short(e.root))
            } else if let Some(e) = decode::<DisputeGame::StepCommitted>(l) {
                r.moves += 1;
                format!(
                    "{:<8} commits the {} op-level roots of step {}: step root {}",
                    who(e.party),
                    k + 1,
                    e.step,
                    short(e.stepRoot)
                )
            } else if let Some(e) = decode::<DisputeGame::OpRootRevealed>(l) {
                r.moves += 1;
                format!("{:<8} reveals M_{step},{} = {} (memory after op {})", who(e.party), e.op, short(e.root), e.op)
            } else if let Some(e) = decode::<DisputeGame::SlotRevealed>(l) {
                r.moves += 1;
                let name = st.program.slots.get(e.slot as usize).map_or("?", |s| s.name.as_str());
                format!("{:<8} reveals the root of `{name}` after the op: {}", who(e.party), short(e.dataRoot))
            } else if let Some(e) = decode::<DisputeGame::ChildrenRevealed>(l) {
                r.moves += 1;
                revealed[usize::from(e.party.min(1))].extend([e.left, e.right]);
                format!(
                    "{:<8} opens a chunk-tree node at level {}: {} | {}",
                    who(e.party),
                    e.level,
                    short(e.left),
                    short(e.right)
                )
            } else if let Some(e) = decode::<DisputeGame::ChunkRevealed>(l) {
                r.moves += 1;
                format!("{:<8} reveals chunk {} ({} elements)", who(e.party), e.chunk, e.data.len() / 4)
            } else if let Some(e) = decode::<DisputeGame::RoundSettled>(l) {
                let (lo, hi) = (e.lo, e.hi);
                match PHASES.get(e.phase as usize).copied().unwrap_or("?") {
                    "checkpoints" => format!("{:<8} agreed on h_{lo}, differ at h_{hi}", "→"),
                    "step commit" => {
                        step = lo;
                        format!("{:<8} the first wrong step is step {lo} (h_{lo} agreed, h_{hi} not)", "→")
                    }
                    "ops" if lo == 0 && hi as usize == k => {
                        format!("{:<8} bisecting over the {k} ops of step {step}", "→")
                    }
                    "ops" => format!("{:<8} agreed on M_{step},{lo}, differ at M_{step},{hi}", "→"),
                    "slot" => {
                        r.step = step;
                        r.op = lo as u32;
                        let op = st.program.ops.get(lo as usize);
                        r.op_name = op.map_or("?", |o| o.name()).to_owned();
                        let slot =
                            op.and_then(|o| st.program.slots.get(o.output() as usize)).map_or("?", |s| s.name.as_str());
                        format!(
                            "{:<8} the first wrong op is op {lo} of step {step}: `{}` writing `{slot}`",
                            "→", r.op_name
                        )
                    }
                    "descent" if !descending => {
                        descending = true;
                        format!(
                            "{:<8} the slot roots differ: both open the written tensor's chunk tree from its root",
                            "→"
                        )
                    }
                    "descent" => format!("{:<8} the children differ under node {lo}: one level down", "→"),
                    "chunk reveal" => {
                        format!("{:<8} the first differing chunk is chunk {lo}: both reveal its bytes", "→")
                    }
                    "replay" => {
                        format!("{:<8} the first differing chunk is chunk {lo}: the contract recomputes it", "→")
                    }
                    other => format!("{:<8} next: {other}", "→"),
                }
            } else if let Some(e) = decode::<DisputeGame::Replayed>(l) {
                let whose = match (revealed[0].contains(&e.leaf), revealed[1].contains(&e.leaf)) {
                    (true, false) => ", mallory's",
                    (false, true) => ", walter's",
                    _ => "",
                };
                format!(
                    "{:<8} recomputed chunk {} of op {} (`{}`) from the agreed inputs: leaf {}{whose}",
                    "contract",
                    e.chunk,
                    r.op,
                    r.op_name,
                    short(e.leaf)
                )
            } else if let Some(e) = decode::<DisputeGame::ElementReplayed>(l) {
                format!(
                    "{:<8} recomputed element {} of op {} from the agreed inputs: {}",
                    "contract", e.element, r.op, e.value
                )
            } else if let Some(e) = decode::<DisputeGame::GameResolved>(l) {
                r.winner = s(if e.solverWon { "mallory" } else { "walter" });
                r.outcome = s(OUTCOMES.get(e.outcome as usize).copied().unwrap_or("?"));
                r.blocks = block.saturating_sub(opened);
                format!("{:<8} game over: {} wins ({})", "contract", r.winner, r.outcome)
            } else {
                continue;
            };
            st.more(format!("block {block:>4}  {line}"));
        }
        if !r.winner.is_empty() {
            st.more(format!("{} moves in {} blocks", r.moves, r.blocks));
            return Ok(r);
        }
    }
}

/// Every party's stake, payments and credits, from the chain's events.
fn ledger(st: &Story<'_>, devices: &[Option<u64>; 4], before: &[(U256, U256)]) -> anyhow::Result<Vec<Party>> {
    let net = &st.net;
    let logs = net.logs(vec![net.market, net.registry], net.first_block)?;
    let roles = ["submitter", "honest solver", "cheating solver", "watchtower"];
    let mut parties = Vec::new();
    for (who, device) in devices.iter().enumerate() {
        let a = net.account(who).address;
        let mut paid = U256::ZERO;
        let mut credited = U256::ZERO;
        for l in &logs {
            if let Some(e) = decode::<JobMarket::JobPosted>(l).filter(|e| e.submitter == a) {
                paid += e.reward;
            } else if let Some(e) = decode::<JobMarket::DisputeOpened>(l).filter(|e| e.challenger == a) {
                paid += e.bond;
            } else if let Some(e) = decode::<JobMarket::Credited>(l).filter(|e| e.account == a) {
                credited += e.amount;
            } else if let Some(e) = decode::<DeviceRegistry::StakeSlashed>(l).filter(|e| e.recipient == a) {
                credited += e.amount;
            }
        }
        let stake_after = device.map(|d| net.stake(d)).transpose()?.map_or(U256::ZERO, |s| U256::from(s.bonded));
        let (balance_before, stake_before) = before[who];
        let net_wei = wei(credited) - wei(paid) - (wei(stake_before) - wei(stake_after));
        parties.push(Party {
            name: net.account(who).name.clone(),
            role: roles[who],
            address: a.to_string(),
            device: *device,
            stake_before_wei: stake_before.to_string(),
            stake_after_wei: stake_after.to_string(),
            paid_in_wei: paid.to_string(),
            credited_wei: credited.to_string(),
            net_wei: net_wei.to_string(),
            balance_before_wei: balance_before.to_string(),
            balance_after_wei: net.balance(a)?.to_string(),
        });
    }
    Ok(parties)
}

fn summary_text(r: &Report) -> String {
    let e = |x: &str| ether(x.parse().unwrap_or_default());
    let sn = |x: &str| signed_ether(x.parse().unwrap_or_default());
    let mut t = String::from("\n== summary\n");
    t += &format!(
        "{:<8} {:<16} {:>9} {:>9} {:>10} {:>10} {:>10} {:>16}\n",
        "PARTY", "ROLE", "STAKE", "AFTER", "PAID IN", "CREDITED", "NET", "ACCOUNT Δ (gas)"
    );
    for p in &r.parties {
        let stake = |x: &str| if p.device.is_some() { e(x) } else { "-".into() };
        let delta = wei(p.balance_after_wei.parse().unwrap_or_default())
            - wei(p.balance_before_wei.parse().unwrap_or_default());
        t += &format!(
            "{:<8} {:<16} {:>9} {:>9} {:>10} {:>10} {:>10} {:>16}\n",
            p.name,
            p.role,
            stake(&p.stake_before_wei),
            stake(&p.stake_after_wei),
            e(&p.paid_in_wei),
            e(&p.credited_wei),
            sn(&p.net_wei),
            format!("{:+.4} ETH", delta as f64 / 1e18),
        );
    }
    t += &format!(
        "NET = credited - paid in - stake lost; it sums to zero over the parties (the account column also pays gas)\n\
         job {} ({} steps, {}'s): {}; job {} ({}'s): {}; game {}: {} moves, {} wins ({}) at op {} (`{}`) of step {}\n",
        r.honest.job,
        r.steps,
        r.honest.solver,
        r.honest.state,
        r.cheated.job,
        r.cheated.solver,
        r.cheated.state,
        r.game.game,
        r.game.moves,
        r.game.winner,
        r.game.outcome,
        r.game.op,
        r.game.op_name,
        r.game.step
    );
    for x in &r.restarts {
        t += &format!("restarted {} after it exited ({}): {}\n", x.name, x.status, x.reason);
    }
    t += if r.ok { "every check passed" } else { "SOME CHECKS FAILED" };
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_read_from_the_log() {
        let log = "2026-01-01T00:00:00Z  INFO gavel_node::exec: executing dir=/x from=0 steps=40 backend=\"gpu (llvmpipe, vulkan, native i64)\"\n";
        assert_eq!(backend_in(log).as_deref(), Some("gpu (llvmpipe, vulkan, native i64)"));
        assert_eq!(backend_in("INFO executing dir=/x backend=cpu\n").as_deref(), Some("cpu"));
        assert_eq!(backend_in("INFO started\n"), None);
        assert_eq!(flag(U256::from(400_000_000_000_000_000u128)), "0.4eth");
        assert_eq!(flag(U256::from(2_000_000_000_000_000_000u128)), "2eth");
    }

    #[test]
    fn the_b256_short_form() {
        assert_eq!(short(gavel_chain_client::alloy::primitives::B256::ZERO), "0x0000…0000");
    }
}
