//! The solver daemon: follows the market, claims jobs its policy accepts, runs them into
//! trace stores, submits the roots, defends every dispute and collects its pay.
//!
//! Each job's stage is in the `jobs` table. A stage that sends a transaction is written
//! first as an intent (`claiming`, `submitting`, `finalizing`) and reconciled with the
//! job's state on chain whenever the node finds it again, so a crash between the write
//! and the transaction, or between the transaction and the next write, neither repeats
//! nor loses an action.

use std::{
    collections::{BTreeMap, HashMap},
    sync::atomic::Ordering,
};

use alloy::primitives::{B256, U256};
use gavel_chain_client::{
    Client, Deployments,
    bindings::{JobMarket, market::IJobMarket},
};
use gavel_dispute::Role;
use serde::{Deserialize, Serialize};

use crate::{
    chain::{Contracts, JobState},
    core::{Core, NodeConfig, decode, own_device},
    error::{Error, Result},
    exec::{Prepared, Run, RunControl, execute, prepare},
    policy::SolverPolicy,
    state::Table,
};

/// Where one of the solver's jobs stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolverStage {
    /// Seen posted; not decided yet.
    New,
    /// Not taken (the note says why).
    Declined,
    /// Intent: the claim is being sent.
    Claiming,
    /// Claimed; running.
    Claimed,
    /// Run finished; roots known, not submitted.
    Executed,
    /// Intent: the result is being sent.
    Submitting,
    /// Result on chain; in its challenge window or disputed.
    Submitted,
    /// Intent: finalize is being sent.
    Finalizing,
    /// Paid.
    Finalized,
    /// A dispute rejected the result.
    Rejected,
    /// The execution deadline passed before the result was in.
    Expired,
}

impl SolverStage {
    fn name(self) -> &'static str {
        match self {
            SolverStage::New => "new",
            SolverStage::Declined => "declined",
            SolverStage::Claiming => "claiming",
            SolverStage::Claimed => "claimed",
            SolverStage::Executed => "executed",
            SolverStage::Submitting => "submitting",
            SolverStage::Submitted => "submitted",
            SolverStage::Finalizing => "finalizing",
            SolverStage::Finalized => "finalized",
            SolverStage::Rejected => "rejected",
            SolverStage::Expired => "expired",
        }
    }

    fn terminal(self) -> bool {
        matches!(self, SolverStage::Declined | SolverStage::Finalized | SolverStage::Rejected | SolverStage::Expired)
    }

    /// Claimed and not yet submitted: the node is working on it.
    fn working(self) -> bool {
        matches!(self, SolverStage::Claiming | SolverStage::Claimed | SolverStage::Executed | SolverStage::Submitting)
    }

    /// Its collateral is locked.
    fn locking(self) -> bool {
        self.working() || matches!(self, SolverStage::Submitted | SolverStage::Finalizing)
    }
}

/// A job in the solver's `jobs` table (also what `GET /v1/jobs/<id>` shows).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SolverJob {
    /// The job id.
    pub job: u64,
    /// Where it stands.
    pub stage: SolverStage,
    /// Why it was declined, or the last problem with it.
    pub note: String,
    /// keccak256 of the spec.
    pub spec_hash: B256,
    /// keccak256 of the data set.
    pub input_hash: B256,
    /// Program steps.
    pub steps: u64,
    /// Reward, wei.
    pub reward_wei: String,
    /// Collateral, wei.
    pub collateral_wei: String,
    /// The committed trace root, once run.
    pub trace_root: Option<B256>,
    /// The committed output root, once run.
    pub output_root: Option<B256>,
    /// Not before this unix time on the node's own clock (a retry after a failure; the
    /// chain's clock stands still on a chain that mines no blocks).
    pub retry_at: u64,
}

/// The solver daemon.
pub struct Solver {
    core: Core,
    policy: SolverPolicy,
    device: u64,
    prepared: HashMap<u64, Prepared>,
    runs: HashMap<u64, Run>,
}

impl std::fmt::Debug for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Solver").field("device", &self.device).field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Solver {
    /// Opens the node: its state, content store and server; finds its device.
    pub async fn start(
        mut cfg: NodeConfig,
        policy: SolverPolicy,
        client: Client,
        deployments: &Deployments,
        deployments_dir: &std::path::Path,
    ) -> Result<Self> {
        if cfg.adversary.is_some_and(|a| !a.is_solver()) {
            return Err(Error::Config("that adversary is a watchtower's, not a solver's".into()));
        }
        let probe = Contracts::new(client.clone(), deployments, deployments_dir, crate::Metrics::default())?;
        let me = probe.me()?;
        let device = own_device(&probe, me, cfg.device).await?.ok_or_else(|| {
            Error::Config(format!("{me} owns no device: register one first (`gavel identity register`)"))
        })?;
        cfg.device = Some(device);
        let core = Core::start("solver", cfg, client, deployments, deployments_dir).await?;
        tracing::info!(device, account = %core.me, "solver started");
        Ok(Self { core, policy, device, prepared: HashMap::new(), runs: HashMap::new() })
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

    fn get(&self, id: u64) -> Result<Option<SolverJob>> {
        self.core.state.get(Table::Jobs, id)
    }

    fn put(&self, rec: &SolverJob) -> Result<()> {
        self.core.state.put(Table::Jobs, rec.job, rec)
    }

    fn set(&self, rec: &mut SolverJob, stage: SolverStage, note: impl Into<String>) -> Result<()> {
        let note = note.into();
        if rec.stage != stage {
            tracing::info!(job = rec.job, from = rec.stage.name(), to = stage.name(), note, "job stage");
        }
        rec.stage = stage;
        rec.note = note;
        self.put(rec)
    }

    /// One pass: events, games, jobs, credits, metrics.
    pub async fn tick(&mut self) -> Result<()> {
        if let Some((logs, next)) = self.core.next_logs().await? {
            for log in &logs {
                self.on_log(log)?;
            }
            self.core.store_cursor(next).await?;
        }
        // A dropped game needs nothing more here: the job records are reconciled below.
        let _dropped = self.core.drive_games().await?;
        self.reap().await?;
        let jobs: Vec<(u64, SolverJob)> = self.core.state.all(Table::Jobs)?;
        for (_, rec) in jobs.into_iter().filter(|(_, r)| !r.stage.terminal()) {
            let id = rec.job;
            if let Err(e) = self.advance(rec).await {
                tracing::warn!(job = id, error = %e, "job step failed; retrying");
                if let Some(mut r) = self.get(id)? {
                    r.note = e.to_string();
                    self.put(&r)?;
                }
            }
        }
        self.core.withdraw().await?;
        self.report().await
    }

    fn on_log(&mut self, log: &alloy::rpc::types::Log) -> Result<()> {
        if let Some(e) = decode::<JobMarket::JobPosted>(log) {
            if self.get(e.job)?.is_none() {
                tracing::info!(job = e.job, steps = e.params.steps, reward = %e.reward, "job posted");
                self.put(&SolverJob {
                    job: e.job,
                    stage: SolverStage::New,
                    note: String::new(),
                    spec_hash: e.params.specHash,
                    input_hash: e.params.inputHash,
                    steps: e.params.steps,
                    reward_wei: e.reward.to_string(),
                    collateral_wei: e.params.collateral.to_string(),
                    trace_root: None,
                    output_root: None,
                    retry_at: 0,
                })?;
            }
        } else if let Some(e) = decode::<JobMarket::DisputeOpened>(log)
            && let Some(rec) = self.get(e.job)?
            && !matches!(rec.stage, SolverStage::New | SolverStage::Declined)
        {
            self.core.add_game(e.game, e.gameAddress, e.job, Role::Solver, e.bond)?;
        }
        Ok(())
    }

    fn counts(&self) -> Result<(u64, U256)> {
        let jobs: Vec<(u64, SolverJob)> = self.core.state.all(Table::Jobs)?;
        let working = jobs.iter().filter(|(_, r)| r.stage.working()).count() as u64;
        let locked = jobs
            .iter()
            .filter(|(_, r)| r.stage.locking())
            .map(|(_, r)| r.collateral_wei.parse::<U256>().unwrap_or_default())
            .fold(U256::ZERO, |a, b| a.saturating_add(b));
        Ok((working, locked))
    }

    async fn advance(&mut self, mut rec: SolverJob) -> Result<()> {
        let now = self.core.chain.now().await?;
        if crate::core::wall_clock() < rec.retry_at {
            return Ok(());
        }
        let chain = self.core.chain.clone();
        let Some(j) = chain.job_if_exists(rec.job).await? else {
            return self.forget_branch(rec, None).await;
        };
        let state = Contracts::state_of(&j);
        let me = self.core.me;
        let mine = j.solver == me && j.device == self.device;
        let past_claim = !matches!(rec.stage, SolverStage::New | SolverStage::Declined | SolverStage::Claiming);
        if (j.specHash, j.inputHash, j.steps) != (rec.spec_hash, rec.input_hash, rec.steps)
            || (past_claim && state == JobState::Open)
        {
            return self.forget_branch(rec, Some(&j)).await;
        }
        if matches!(rec.stage, SolverStage::Submitted | SolverStage::Finalizing) && state == JobState::Claimed && mine {
            // A reorg dropped the submission but kept the claim: submit again.
            return self.set(
                &mut rec,
                SolverStage::Executed,
                "the submission was dropped by a reorg; submitting again",
            );
        }
        match rec.stage {
            SolverStage::New => {
                if state != JobState::Open || now > j.claimDeadline {
                    return self.set(&mut rec, SolverStage::Declined, format!("no longer claimable ({state:?})"));
                }
                let (working, locked) = self.counts()?;
                if working >= u64::from(self.policy.max_concurrent) {
                    return Ok(());
                }
                let free = chain.free_stake(self.device).await?;
                let (reward, collateral) = (U256::from(j.reward), U256::from(j.collateral));
                if let Some(why) = self.policy.decline(j.steps, reward, collateral, locked, free) {
                    return self.set(&mut rec, SolverStage::Declined, why);
                }
                let prepared = match prepare(&self.core.fetcher, j.specHash, j.inputHash, &[]).await {
                    Ok(p) => p,
                    Err(e @ Error::NotFound { .. }) => {
                        rec.retry_at = crate::core::wall_clock() + 5;
                        return self.set(&mut rec, SolverStage::New, e.to_string());
                    }
                    Err(e) => return self.set(&mut rec, SolverStage::Declined, format!("cannot run it: {e}")),
                };
                if prepared.job.program.steps != j.steps {
                    let why = format!("the spec has {} steps, the job {}", prepared.job.program.steps, j.steps);
                    return self.set(&mut rec, SolverStage::Declined, why);
                }
                let registered = chain.program_root(rec.job).await?;
                if registered.is_zero() {
                    // The submitter registers it right after posting; wait for it.
                    rec.retry_at = crate::core::wall_clock() + 2;
                    return self.set(&mut rec, SolverStage::New, "no program commitment registered yet");
                }
                if registered != prepared.program_root {
                    let why = format!(
                        "the registered program root {registered} is not the spec's {}: refusing",
                        prepared.program_root
                    );
                    return self.set(&mut rec, SolverStage::Declined, why);
                }
                self.prepared.insert(rec.job, prepared);
                self.set(&mut rec, SolverStage::Claiming, "")?;
                self.claim(rec).await
            }
            SolverStage::Claiming => match state {
                JobState::Open => self.claim(rec).await,
                _ if mine => self.set(&mut rec, SolverStage::Claimed, ""),
                _ => self.set(&mut rec, SolverStage::Declined, format!("claimed by another device ({state:?})")),
            },
            SolverStage::Claimed | SolverStage::Executed | SolverStage::Submitting => match state {
                JobState::Claimed if mine => self.work(rec, now, j.executionDeadline).await,
                JobState::Expired => self.set(&mut rec, SolverStage::Expired, "missed the execution deadline"),
                JobState::Submitted | JobState::Finalized | JobState::Rejected if mine => {
                    rec.trace_root = Some(j.traceRoot);
                    rec.output_root = Some(j.outputRoot);
                    self.set(&mut rec, SolverStage::Submitted, "")
                }
                other => Err(Error::Inconsistent(format!("job {} is {other:?} on chain", rec.job))),
            },
            SolverStage::Submitted | SolverStage::Finalizing => match state {
                JobState::Finalized => self.set(&mut rec, SolverStage::Finalized, ""),
                JobState::Rejected => self.set(&mut rec, SolverStage::Rejected, "a dispute rejected the result"),
                JobState::Submitted if now > j.challengeDeadline && j.openDisputes == 0 => {
                    self.set(&mut rec, SolverStage::Finalizing, "")?;
                    match chain.finalize(rec.job).await {
                        Ok(_) => self.set(&mut rec, SolverStage::Finalized, ""),
                        Err(e) => {
                            let again = Contracts::state_of(&chain.job(rec.job).await?);
                            if again == JobState::Finalized {
                                self.set(&mut rec, SolverStage::Finalized, "")
                            } else {
                                Err(e)
                            }
                        }
                    }
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// The chain no longer holds what this record was built on (a reorg dropped the job,
    /// or replaced it with another at the same id): stop any run for it, drop its trace
    /// and start over from what the chain holds now (`job`), or wait for it to reappear.
    async fn forget_branch(&mut self, mut rec: SolverJob, job: Option<&IJobMarket::Job>) -> Result<()> {
        if let Some(run) = self.runs.remove(&rec.job) {
            run.stop().await;
        }
        self.prepared.remove(&rec.job);
        let dir = self.core.trace_dir(rec.job);
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Error::io("removing the dropped branch's trace", dir)(e));
        }
        if let Some(j) = job {
            rec.spec_hash = j.specHash;
            rec.input_hash = j.inputHash;
            rec.steps = j.steps;
            rec.reward_wei = j.reward.to_string();
            rec.collateral_wei = j.collateral.to_string();
        }
        rec.trace_root = None;
        rec.output_root = None;
        rec.retry_at = crate::core::wall_clock() + 2;
        let note = match job {
            Some(_) => "the chain changed under this job (a reorg): starting over from what it holds now",
            None => "the job is not on the chain now (a reorg dropped it): waiting for it to reappear",
        };
        if rec.stage != SolverStage::New || rec.note != note {
            tracing::warn!(job = rec.job, stage = ?rec.stage, "{note}");
        }
        self.set(&mut rec, SolverStage::New, note)
    }

    async fn claim(&mut self, mut rec: SolverJob) -> Result<()> {
        let chain = self.core.chain.clone();
        match chain.claim(rec.job, self.device).await {
            Ok(_) => self.set(&mut rec, SolverStage::Claimed, ""),
            Err(e) => {
                let j = chain.job(rec.job).await?;
                if Contracts::state_of(&j) != JobState::Open && j.solver == self.core.me {
                    self.set(&mut rec, SolverStage::Claimed, "")
                } else if matches!(e, Error::Chain(gavel_chain_client::Error::Reverted { .. })) {
                    self.set(&mut rec, SolverStage::Declined, format!("claim refused: {e}"))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Runs (or resumes) the job, then submits its roots.
    async fn work(&mut self, mut rec: SolverJob, now: u64, deadline: u64) -> Result<()> {
        if rec.stage == SolverStage::Claimed {
            if self.runs.contains_key(&rec.job) {
                return Ok(());
            }
            let prepared = match self.prepared.get(&rec.job) {
                Some(p) => p.clone(),
                None => prepare(&self.core.fetcher, rec.spec_hash, rec.input_hash, &[]).await?,
            };
            self.prepared.insert(rec.job, prepared.clone());
            let (tamper, _) = self.core.cheat(&prepared.job.program);
            let ctl = RunControl::default();
            let dir = self.core.trace_dir(rec.job);
            let (every, backend, run_ctl) = (self.core.cfg.trace_every, self.core.cfg.backend.clone(), ctl.clone());
            let job = prepared.job.clone();
            let handle = tokio::task::spawn_blocking(move || execute(&job, &dir, every, &backend, tamper, &run_ctl));
            self.runs.insert(rec.job, Run { ctl, handle, steps: prepared.job.program.steps, counted: 0 });
            return Ok(());
        }
        if now > deadline {
            return self.set(&mut rec, SolverStage::Expired, "the execution deadline passed before submitting");
        }
        let (Some(trace), Some(output)) = (rec.trace_root, rec.output_root) else {
            return self.set(&mut rec, SolverStage::Claimed, "roots lost; running again");
        };
        self.set(&mut rec, SolverStage::Submitting, "")?;
        self.core.chain.submit(rec.job, trace, output, rec.steps).await?;
        self.set(&mut rec, SolverStage::Submitted, "")
    }

    /// Collects finished runs.
    async fn reap(&mut self) -> Result<()> {
        let finished: Vec<u64> = self.runs.iter().filter(|(_, r)| r.handle.is_finished()).map(|(id, _)| *id).collect();
        for id in finished {
            let run = self.runs.remove(&id).expect("listed");
            self.count_steps(run.ctl.done.load(Ordering::Relaxed).saturating_sub(run.counted));
            let Some(mut rec) = self.get(id)? else { continue };
            match run.handle.await {
                Ok(Ok(Some(roots))) => {
                    let output_root = match self.core.cfg.adversary {
                        Some(a) => a.submitted_output_root(roots.output_root),
                        None => roots.output_root,
                    };
                    rec.trace_root = Some(roots.trace_root);
                    rec.output_root = Some(output_root);
                    tracing::info!(job = id, trace_root = %roots.trace_root, %output_root, "run finished");
                    self.set(&mut rec, SolverStage::Executed, "")?;
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(job = id, error = %e, "run failed");
                    rec.retry_at = crate::core::wall_clock() + 5;
                    self.set(&mut rec, SolverStage::Claimed, format!("run failed: {e}"))?;
                }
                Err(e) => tracing::warn!(job = id, error = %e, "run task failed"),
            }
        }
        Ok(())
    }

    fn count_steps(&self, n: u64) {
        self.core.metrics.inc("gavel_executed_steps_total", "Program steps executed (throughput).", &[], n as f64);
    }

    async fn report(&mut self) -> Result<()> {
        let jobs: Vec<(u64, SolverJob)> = self.core.state.all(Table::Jobs)?;
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

impl crate::core::Daemon for Solver {
    const NAME: &'static str = "solver";

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
