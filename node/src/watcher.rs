//! The watchtower daemon: follows submitted results, re-executes them (all, or a sample),
//! challenges the ones whose trace root or output root differs from its own (with its own
//! trace root, which is the solver's when only the output root differs: the game binds the
//! output root to the trace at the last step), plays those games to the end and withdraws
//! what it wins.

use std::{
    collections::{BTreeMap, HashMap},
    sync::atomic::Ordering,
};

use alloy::primitives::{B256, U256};
use gavel_chain_client::{Client, Deployments, bindings::JobMarket};
use gavel_dispute::Role;
use serde::{Deserialize, Serialize};

use crate::{
    chain::{Contracts, JobState},
    core::{Core, GameRecord, GameResult, NodeConfig, decode, own_device},
    error::{Error, Result},
    exec::{Run, RunControl, execute, prepare},
    policy::WatchPolicy,
    state::Table,
};

/// Where one watched result stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchStage {
    /// Seen submitted; not decided yet.
    New,
    /// Not re-executed (policy, or it could not be run: see the note).
    Skipped,
    /// Being re-executed.
    Executing,
    /// Our trace root and output root are the solver's.
    Agreed,
    /// Intent: the challenge is being sent.
    Challenging,
    /// Challenged; the game is in the `games` table.
    Challenged,
    /// Our roots differ, but the challenge window closed first.
    Late,
}

impl WatchStage {
    fn name(self) -> &'static str {
        match self {
            WatchStage::New => "new",
            WatchStage::Skipped => "skipped",
            WatchStage::Executing => "executing",
            WatchStage::Agreed => "agreed",
            WatchStage::Challenging => "challenging",
            WatchStage::Challenged => "challenged",
            WatchStage::Late => "late",
        }
    }

    fn terminal(self) -> bool {
        matches!(self, WatchStage::Skipped | WatchStage::Agreed | WatchStage::Challenged | WatchStage::Late)
    }
}

/// A result in the watchtower's `jobs` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatchJob {
    /// The job id.
    pub job: u64,
    /// Where it stands.
    pub stage: WatchStage,
    /// Why it was skipped, or the last problem with it.
    pub note: String,
    /// The solver's trace root.
    pub solver_trace_root: B256,
    /// The solver's output root.
    pub solver_output_root: B256,
    /// Our trace root, once re-executed.
    pub trace_root: Option<B256>,
    /// Our output root, once re-executed.
    pub output_root: Option<B256>,
    /// The last second a challenge is accepted.
    pub challenge_deadline: u64,
    /// Our game on it, if we challenged.
    pub game: Option<u64>,
    /// Not before this unix time on the node's own clock (a retry after a failure; the
    /// chain's clock stands still on a chain that mines no blocks).
    pub retry_at: u64,
}

/// A result as the chain holds it.
#[derive(Debug, Clone, Copy)]
struct Submission {
    trace_root: B256,
    output_root: B256,
    challenge_deadline: u64,
}

impl Submission {
    fn from_event(e: &JobMarket::ResultSubmitted) -> Self {
        Self { trace_root: e.traceRoot, output_root: e.outputRoot, challenge_deadline: e.challengeDeadline }
    }

    fn from_job(j: &gavel_chain_client::bindings::market::IJobMarket::Job) -> Self {
        Self { trace_root: j.traceRoot, output_root: j.outputRoot, challenge_deadline: j.challengeDeadline }
    }
}

/// What a watchtower earned and played.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Results re-executed.
    pub verified: u64,
    /// Results that agreed.
    pub agreed: u64,
    /// Challenges opened.
    pub challenged: u64,
    /// Games won.
    pub disputes_won: u64,
    /// Games lost.
    pub disputes_lost: u64,
    /// Games still being played.
    pub disputes_open: u64,
    /// Bonds posted, wei.
    pub bonds_wei: String,
    /// Credits withdrawn (bonds back, bond shares, slashed stake), wei.
    pub withdrawn_wei: String,
    /// Paid for gas (challenges, moves, withdrawals), wei.
    pub gas_wei: String,
    /// Withdrawn minus bonds posted minus gas, wei.
    pub net_wei: String,
    /// Every game.
    pub games: Vec<GameRecord>,
}

/// Reads a watchtower's report from its state database (`<data>/node.redb`).
pub fn report(data_dir: &std::path::Path) -> Result<Report> {
    let state = crate::State::open(&data_dir.join("node.redb"), "watcher")?;
    let jobs: Vec<(u64, WatchJob)> = state.all(Table::Jobs)?;
    let games: Vec<(u64, GameRecord)> = state.all(Table::Games)?;
    let n = |f: &dyn Fn(&WatchJob) -> bool| jobs.iter().filter(|(_, j)| f(j)).count() as u64;
    let g = |r: GameResult| games.iter().filter(|(_, x)| x.result == r).count() as u64;
    let bonds = crate::core::bonds_posted(&games);
    let withdrawn = state.counter("withdrawn_wei")?;
    let gas = state.counter("gas_wei")?;
    let signed = |x: u128| i128::try_from(x).unwrap_or(i128::MAX);
    let net = signed(withdrawn) - signed(bonds) - signed(gas);
    Ok(Report {
        verified: n(&|j| j.trace_root.is_some()),
        agreed: n(&|j| j.stage == WatchStage::Agreed),
        challenged: n(&|j| j.game.is_some()),
        disputes_won: g(GameResult::Won),
        disputes_lost: g(GameResult::Lost),
        disputes_open: g(GameResult::Open),
        bonds_wei: bonds.to_string(),
        withdrawn_wei: withdrawn.to_string(),
        gas_wei: gas.to_string(),
        net_wei: net.to_string(),
        games: games.into_iter().map(|(_, g)| g).collect(),
    })
}

/// The watchtower daemon.
pub struct Watcher {
    core: Core,
    policy: WatchPolicy,
    device: u64,
    runs: HashMap<u64, Run>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").field("device", &self.device).field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Watcher {
    /// Opens the node: its state, content store and server. The device (for reputation)
    /// is optional.
    pub async fn start(
        mut cfg: NodeConfig,
        policy: WatchPolicy,
        client: Client,
        deployments: &Deployments,
        deployments_dir: &std::path::Path,
    ) -> Result<Self> {
        if cfg.adversary.is_some_and(|a| a.is_solver()) {
            return Err(Error::Config("that adversary is a solver's, not a watchtower's".into()));
        }
        let probe = Contracts::new(client.clone(), deployments, deployments_dir, crate::Metrics::default())?;
        let me = probe.me()?;
        cfg.device = if cfg.device == Some(0) { None } else { own_device(&probe, me, cfg.device).await? };
        let device = cfg.device.unwrap_or(0);
        let core = Core::start("watcher", cfg, client, deployments, deployments_dir).await?;
        tracing::info!(device, account = %core.me, sample = policy.sample, "watchtower started");
        Ok(Self { core, policy, device, runs: HashMap::new() })
    }

    /// The HTTP server's address, if it has one.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.core.server.as_ref().map(|s| s.addr())
    }

    /// The shared status (for a progress line).
    pub fn status(&self) -> std::sync::Arc<std::sync::Mutex<crate::Status>> {
        self.core.status.clone()
    }

    /// Runs until `shutdown` completes; transient failures are logged and retried.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        crate::core::run_daemon(self, shutdown).await
    }

    fn get(&self, id: u64) -> Result<Option<WatchJob>> {
        self.core.state.get(Table::Jobs, id)
    }

    fn set(&self, rec: &mut WatchJob, stage: WatchStage, note: impl Into<String>) -> Result<()> {
        let note = note.into();
        if rec.stage != stage {
            tracing::info!(job = rec.job, from = rec.stage.name(), to = stage.name(), note, "watched result");
        }
        rec.stage = stage;
        rec.note = note;
        self.core.state.put(Table::Jobs, rec.job, rec)
    }

    /// One pass: events, games, results, credits, metrics.
    pub async fn tick(&mut self) -> Result<()> {
        if let Some((logs, next)) = self.core.next_logs().await? {
            for log in &logs {
                self.on_log(log).await?;
            }
            self.core.store_cursor(next).await?;
        }
        for job in self.core.drive_games().await? {
            // Our challenge went with the game: challenge again if the result still stands.
            if let Some(mut rec) = self.get(job)?
                && rec.stage == WatchStage::Challenged
            {
                rec.game = None;
                self.set(&mut rec, WatchStage::Challenging, "the challenge was dropped by a reorg")?;
            }
        }
        self.reap().await?;
        let jobs: Vec<(u64, WatchJob)> = self.core.state.all(Table::Jobs)?;
        for (_, rec) in jobs.into_iter().filter(|(_, r)| !r.stage.terminal()) {
            let id = rec.job;
            if let Err(e) = self.advance(rec).await {
                tracing::warn!(job = id, error = %e, "watch step failed; retrying");
                if let Some(mut r) = self.get(id)? {
                    r.note = e.to_string();
                    self.core.state.put(Table::Jobs, id, &r)?;
                }
            }
        }
        self.core.withdraw().await?;
        self.report().await
    }

    async fn on_log(&mut self, log: &alloy::rpc::types::Log) -> Result<()> {
        if let Some(e) = decode::<JobMarket::ResultSubmitted>(log) {
            match self.get(e.job)? {
                Some(rec) if (rec.solver_trace_root, rec.solver_output_root) == (e.traceRoot, e.outputRoot) => {}
                // Read again after a reorganisation: the result on this branch is another.
                Some(rec) => self.forget_branch(rec, Some(Submission::from_event(&e))).await?,
                None => {
                    tracing::info!(job = e.job, trace_root = %e.traceRoot, "result submitted");
                    self.core.state.put(
                        Table::Jobs,
                        e.job,
                        &WatchJob {
                            job: e.job,
                            stage: WatchStage::New,
                            note: String::new(),
                            solver_trace_root: e.traceRoot,
                            solver_output_root: e.outputRoot,
                            trace_root: None,
                            output_root: None,
                            challenge_deadline: e.challengeDeadline,
                            game: None,
                            retry_at: 0,
                        },
                    )?;
                }
            }
        } else if let Some(e) = decode::<JobMarket::DisputeOpened>(log)
            && e.challenger == self.core.me
        {
            // Our own challenge: also how a crash between sending it and recording it heals.
            self.core.add_game(e.game, e.gameAddress, e.job, Role::Challenger, e.bond)?;
            if let Some(mut rec) = self.get(e.job)?
                && rec.game.is_none()
            {
                rec.game = Some(e.game);
                self.set(&mut rec, WatchStage::Challenged, "")?;
            }
        }
        Ok(())
    }

    async fn advance(&mut self, mut rec: WatchJob) -> Result<()> {
        let chain = self.core.chain.clone();
        let now = chain.now().await?;
        if crate::core::wall_clock() < rec.retry_at {
            return Ok(());
        }
        let Some(j) = chain.job_if_exists(rec.job).await? else {
            return self.forget_branch(rec, None).await;
        };
        let dropped = matches!(Contracts::state_of(&j), JobState::Open | JobState::Claimed);
        if dropped || (j.traceRoot, j.outputRoot) != (rec.solver_trace_root, rec.solver_output_root) {
            let result = (!dropped).then(|| Submission::from_job(&j));
            return self.forget_branch(rec, result).await;
        }
        match rec.stage {
            WatchStage::New => {
                if !self.policy.sampled(rec.job, self.core.me) {
                    return self.set(&mut rec, WatchStage::Skipped, "not in this watchtower's sample");
                }
                if j.steps > self.policy.max_steps {
                    return self.set(&mut rec, WatchStage::Skipped, format!("{} steps is over max_steps", j.steps));
                }
                if !self.runs.is_empty() {
                    return Ok(()); // one re-execution at a time
                }
                self.start_run(&mut rec, &j).await
            }
            WatchStage::Executing => {
                if !self.runs.contains_key(&rec.job) {
                    return self.start_run(&mut rec, &j).await; // resumes the store
                }
                Ok(())
            }
            WatchStage::Challenging => {
                let games: Vec<(u64, GameRecord)> = self.core.state.all(Table::Games)?;
                if let Some((id, _)) = games.iter().find(|(_, g)| g.job == rec.job && g.result != GameResult::Dropped) {
                    rec.game = Some(*id);
                    return self.set(&mut rec, WatchStage::Challenged, "");
                }
                self.challenge(rec, &j, now).await
            }
            _ => Ok(()),
        }
    }

    /// The chain no longer holds the result this record was built on (a reorganisation
    /// dropped the submission, or replaced it): stop the re-execution, drop its trace and
    /// start over from `result`, the one the chain holds now, or wait for one to appear.
    async fn forget_branch(&mut self, mut rec: WatchJob, result: Option<Submission>) -> Result<()> {
        if let Some(run) = self.runs.remove(&rec.job) {
            run.stop().await;
        }
        let dir = self.core.trace_dir(rec.job);
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Error::io("removing the dropped branch's trace", dir)(e));
        }
        let note = match result {
            Some(r) => {
                (rec.solver_trace_root, rec.solver_output_root) = (r.trace_root, r.output_root);
                rec.challenge_deadline = r.challenge_deadline;
                "the chain changed under this result (a reorg): checking the one it holds now"
            }
            None => "the result is not on the chain now (a reorg dropped it): waiting for it to reappear",
        };
        (rec.trace_root, rec.output_root, rec.game) = (None, None, None);
        rec.retry_at = crate::core::wall_clock() + 2;
        if rec.stage != WatchStage::New || rec.note != note {
            tracing::warn!(job = rec.job, stage = rec.stage.name(), "{note}");
        }
        self.set(&mut rec, WatchStage::New, note)
    }

    async fn start_run(
        &mut self,
        rec: &mut WatchJob,
        j: &gavel_chain_client::bindings::market::IJobMarket::Job,
    ) -> Result<()> {
        let endpoint = self.core.endpoint_of(j.device).await;
        let prepared = match prepare(&self.core.fetcher, j.specHash, j.inputHash, &[endpoint]).await {
            Ok(p) => p,
            Err(e @ Error::NotFound { .. }) => {
                rec.retry_at = crate::core::wall_clock() + 5;
                return self.set(rec, WatchStage::New, e.to_string());
            }
            Err(e) => return self.set(rec, WatchStage::Skipped, format!("cannot run it: {e}")),
        };
        if prepared.job.program.steps != j.steps {
            let why = format!("the spec has {} steps, the job {}", prepared.job.program.steps, j.steps);
            return self.set(rec, WatchStage::Skipped, why);
        }
        let (tamper, _) = self.core.cheat(&prepared.job.program);
        let ctl = RunControl::default();
        let dir = self.core.trace_dir(rec.job);
        let (every, backend, run_ctl) = (self.core.cfg.trace_every, self.core.cfg.backend.clone(), ctl.clone());
        let job = prepared.job.clone();
        let handle = tokio::task::spawn_blocking(move || execute(&job, &dir, every, &backend, tamper, &run_ctl));
        self.runs.insert(rec.job, Run { ctl, handle, steps: prepared.job.program.steps, counted: 0 });
        self.set(rec, WatchStage::Executing, "")
    }

    async fn challenge(
        &mut self,
        mut rec: WatchJob,
        j: &gavel_chain_client::bindings::market::IJobMarket::Job,
        now: u64,
    ) -> Result<()> {
        let Some(ours) = rec.trace_root else {
            return self.set(&mut rec, WatchStage::Executing, "roots lost; re-executing");
        };
        if Contracts::state_of(j) != JobState::Submitted || now > j.challengeDeadline {
            return self.set(
                &mut rec,
                WatchStage::Late,
                format!("too late to challenge ({:?})", Contracts::state_of(j)),
            );
        }
        let bond = U256::from(j.collateral);
        self.set(&mut rec, WatchStage::Challenging, "")?;
        let (game, address) = self.core.chain.challenge(rec.job, self.device, ours, bond).await?;
        self.core.add_game(game, address, rec.job, Role::Challenger, bond)?;
        rec.game = Some(game);
        self.set(&mut rec, WatchStage::Challenged, "")
    }

    async fn reap(&mut self) -> Result<()> {
        let finished: Vec<u64> = self.runs.iter().filter(|(_, r)| r.handle.is_finished()).map(|(id, _)| *id).collect();
        for id in finished {
            let run = self.runs.remove(&id).expect("listed");
            self.count_steps(run.ctl.done.load(Ordering::Relaxed).saturating_sub(run.counted));
            let Some(mut rec) = self.get(id)? else { continue };
            match run.handle.await {
                Ok(Ok(Some(roots))) => {
                    rec.trace_root = Some(roots.trace_root);
                    rec.output_root = Some(roots.output_root);
                    if roots.trace_root == rec.solver_trace_root && roots.output_root == rec.solver_output_root {
                        self.set(&mut rec, WatchStage::Agreed, "")?;
                    } else {
                        if roots.trace_root == rec.solver_trace_root {
                            // The game binds the output root to the trace: with equal trace
                            // roots the solver must open h_N as its output root at the end.
                            tracing::warn!(job = id, solver = %rec.solver_output_root, ours = %roots.output_root,
                                "same trace but another output root: challenging with the solver's own trace root");
                        } else {
                            tracing::warn!(job = id, solver = %rec.solver_trace_root, ours = %roots.trace_root,
                                "the solver's trace differs from ours: challenging");
                        }
                        let j = self.core.chain.job(id).await?;
                        let now = self.core.chain.now().await?;
                        self.challenge(rec, &j, now).await?;
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(job = id, error = %e, "re-execution failed");
                    rec.retry_at = crate::core::wall_clock() + 5;
                    self.set(&mut rec, WatchStage::Executing, format!("re-execution failed: {e}"))?;
                }
                Err(e) => tracing::warn!(job = id, error = %e, "re-execution task failed"),
            }
        }
        Ok(())
    }

    fn count_steps(&self, n: u64) {
        self.core.metrics.inc("gavel_executed_steps_total", "Program steps executed (throughput).", &[], n as f64);
    }

    async fn report(&mut self) -> Result<()> {
        let jobs: Vec<(u64, WatchJob)> = self.core.state.all(Table::Jobs)?;
        let mut by_stage = BTreeMap::new();
        for (_, r) in &jobs {
            *by_stage.entry(r.stage.name().to_owned()).or_insert(0) += 1;
        }
        let mut running = None;
        let mut newly = 0;
        for (id, run) in &mut self.runs {
            let done = run.ctl.done.load(Ordering::Relaxed);
            newly += done.saturating_sub(run.counted);
            run.counted = done;
            running = Some((*id, done, run.steps));
        }
        self.count_steps(newly);
        self.core.report(by_stage, running).await
    }
}

impl crate::core::Daemon for Watcher {
    const NAME: &'static str = "watchtower";

    fn core(&self) -> &Core {
        &self.core
    }

    fn runs(&mut self) -> &mut HashMap<u64, Run> {
        &mut self.runs
    }

    fn pass(&mut self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.tick()
    }
}
