//! `gavel job`: jobs in the JobMarket, from posting to finalizing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gavel_chain_client::{
    alloy::{
        primitives::{B256, U256, keccak256},
        sol_types::SolEvent,
    },
    bindings::{
        factory::DisputeGameFactory,
        market::{IJobMarket, JobMarket},
    },
};
use gavel_prover::ProgramCommitment;
use serde::Serialize;

use crate::{
    config::{ChainArgs, Session, UsageError, VerificationError, block_on, ether, parse_amount, parse_duration, time},
    output::Output,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Post a job: the spec file and its data set are hashed here (keccak256 of their bytes)
    /// and only the hashes go on chain; the reward is held in escrow. The program
    /// commitment (initial memory root and op table) is then registered for the job with
    /// the dispute game factory, so that disputes can replay its operators.
    Post {
        /// The job spec (TOML), as `gavel run` takes it.
        spec: PathBuf,
        /// The reward, paid to the solver when the result stands (`1eth`, wei).
        #[arg(long, value_parser = parse_amount)]
        reward: U256,
        /// The solver's stake locked while it holds the job (at least the market's minimum).
        #[arg(long, value_parser = parse_amount)]
        collateral: U256,
        /// How long solvers have to claim it (`30m`, `2h`, `1d`).
        #[arg(long, value_parser = parse_duration, default_value = "1h")]
        claim_within: u64,
        /// How long after posting the result must be in.
        #[arg(long, value_parser = parse_duration, default_value = "1d")]
        execute_within: u64,
        /// How long a submitted result stays open to challenges.
        #[arg(long, value_parser = parse_duration, default_value = "1h")]
        challenge_window: u64,
    },
    /// Bind a job you posted to its program (what `post` does right after posting): the
    /// program commitment computed from the spec is registered with the dispute game
    /// factory. Only while the job is open; a job that is already bound to the same
    /// program is left as it is.
    Bind {
        /// The job id.
        job: u64,
        /// The job's spec (TOML): its keccak256 must be the job's spec hash.
        spec: PathBuf,
    },
    /// All jobs, newest first.
    List {
        /// Only jobs in this state (open, claimed, submitted, finalized, cancelled, expired, rejected).
        #[arg(long)]
        state: Option<String>,
    },
    /// One job in full, with its program root (or that it is not bound).
    Show {
        /// The job id.
        job: u64,
    },
    /// Claim an open job for one of your devices (locks the job's collateral from its stake).
    Claim {
        /// The job id.
        job: u64,
        /// Your device.
        #[arg(long)]
        device: u64,
    },
    /// Submit a claimed job's result: its trace root and output root, given directly or
    /// read from the `summary.json` of `gavel run --trace`.
    Submit {
        /// The job id.
        job: u64,
        /// The run's summary.json (has trace_root and output_root).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["trace_root", "output_root"])]
        summary: Option<PathBuf>,
        /// The trace root.
        #[arg(long, requires = "output_root")]
        trace_root: Option<B256>,
        /// The output root.
        #[arg(long, requires = "trace_root")]
        output_root: Option<B256>,
    },
    /// Cancel an open job you posted; the reward is credited back (`gavel job withdraw`).
    Cancel {
        /// The job id.
        job: u64,
    },
    /// A job's committed result; with --summary, check a run of your own against it
    /// (exit code 5 when the roots differ).
    Result {
        /// The job id.
        job: u64,
        /// The summary.json of your own `gavel run --trace` of the job.
        #[arg(long, value_name = "FILE")]
        summary: Option<PathBuf>,
    },
    /// Finalize a job whose challenge window closed without open disputes: the solver is
    /// credited the reward and its collateral unlocked.
    Finalize {
        /// The job id.
        job: u64,
    },
    /// Withdraw your credits to your account: the market's (rewards, refunds, bonds back)
    /// and the registry's (shares of slashed stake).
    Withdraw,
    /// Challenge a submitted result: opens a dispute game with your own trace root; the
    /// bond (the job's collateral) is sent with it.
    Challenge {
        /// The job id.
        job: u64,
        /// Your trace root for the job (it must differ from the solver's).
        #[arg(long)]
        trace_root: B256,
        /// Your device, if you have one (0: none).
        #[arg(long, default_value_t = 0)]
        device: u64,
    },
}

const STATES: [&str; 8] = ["none", "open", "claimed", "submitted", "finalized", "cancelled", "expired", "rejected"];

#[derive(Debug, Serialize)]
struct Job {
    job: u64,
    state: String,
    submitter: String,
    solver: Option<String>,
    device: Option<u64>,
    reward_wei: String,
    collateral_wei: String,
    steps: u64,
    spec_hash: String,
    input_hash: String,
    claim_deadline: u64,
    execution_deadline: u64,
    challenge_window: u64,
    challenge_deadline: u64,
    open_disputes: u32,
    trace_root: Option<String>,
    output_root: Option<String>,
}

impl Job {
    fn from_chain(id: u64, j: IJobMarket::Job) -> Self {
        let solver = (!j.solver.is_zero()).then(|| j.solver.to_checksum(None));
        let root = |r: B256| (!r.is_zero()).then(|| r.to_string());
        Self {
            job: id,
            state: STATES.get(j.state as usize).unwrap_or(&"unknown").to_string(),
            submitter: j.submitter.to_checksum(None),
            device: solver.as_ref().map(|_| j.device),
            solver,
            reward_wei: j.reward.to_string(),
            collateral_wei: j.collateral.to_string(),
            steps: j.steps,
            spec_hash: j.specHash.to_string(),
            input_hash: j.inputHash.to_string(),
            claim_deadline: j.claimDeadline,
            execution_deadline: j.executionDeadline,
            challenge_window: j.challengeWindow,
            challenge_deadline: j.challengeDeadline,
            open_disputes: j.openDisputes,
            trace_root: root(j.traceRoot),
            output_root: root(j.outputRoot),
        }
    }

    fn text(&self) -> String {
        let wei = |s: &str| ether(s.parse().unwrap_or_default());
        let mut t = format!("job {} ({}) from {}\n", self.job, self.state, self.submitter);
        t += &format!(
            "  reward {}, collateral {}, {} steps\n",
            wei(&self.reward_wei),
            wei(&self.collateral_wei),
            self.steps
        );
        t += &format!("  spec  {}\n  input {}\n", self.spec_hash, self.input_hash);
        t += &format!("  claim by {}, result by {}", time(self.claim_deadline), time(self.execution_deadline));
        if let (Some(s), Some(d)) = (&self.solver, self.device) {
            t += &format!("\n  claimed by device {d} ({s})");
        }
        if let (Some(tr), Some(or)) = (&self.trace_root, &self.output_root) {
            t += &format!(
                "\n  trace root  {tr}\n  output root {or}\n  challenges until {} ({} open)",
                time(self.challenge_deadline),
                self.open_disputes
            );
        }
        t
    }
}

/// A job with its program binding (`DisputeGameFactory.programRootOf`).
#[derive(Debug, Serialize)]
struct Bound {
    #[serde(flatten)]
    job: Job,
    /// The registered program root; `None` when the job is not bound.
    program_root: Option<String>,
    program_bound: bool,
    /// The commitment registered by this command (post and bind only).
    #[serde(skip_serializing_if = "Option::is_none")]
    program: Option<ProgramCommitment>,
}

impl Bound {
    fn text(&self) -> String {
        let mut t = self.job.text();
        match &self.program_root {
            Some(root) => t += &format!("\n  program root {root}"),
            None => {
                t += "\n  program not bound: a dispute on this job cannot replay anything and ends for the challenger";
                if self.job.state == "open" {
                    t += &format!("\n  (bind it while it is open: `gavel job bind {} SPEC`)", self.job.job);
                }
            }
        }
        t
    }
}

/// The job and its program root.
async fn bound(s: &Session, id: u64, program: Option<ProgramCommitment>) -> anyhow::Result<Bound> {
    let job = job(s, id).await?;
    let root = factory(s)?.programRootOf(id).call().await.map_err(|e| s.call_err("programRootOf", e))?;
    let program_root = (!root.is_zero()).then(|| root.to_string());
    Ok(Bound { job, program_bound: program_root.is_some(), program_root, program })
}

/// The program commitment of a spec: compiled here, from its data set (no chain needed).
fn commitment(spec: &Path) -> anyhow::Result<(ProgramCommitment, B256)> {
    let compiled = gavel_executor::JobSpec::load(spec)?.compile()?;
    let program = ProgramCommitment::initial(&compiled.program, &compiled.inputs)
        .with_context(|| format!("computing the program commitment of {}", spec.display()))?;
    let bytes = std::fs::read(spec).with_context(|| format!("reading {}", spec.display()))?;
    Ok((program, keccak256(&bytes)))
}

/// The factory's form of a commitment.
fn sol_commitment(p: &ProgramCommitment) -> DisputeGameFactory::ProgramCommitment {
    DisputeGameFactory::ProgramCommitment {
        initialMemory: B256::from(p.initial_memory.0),
        slots: p.slots,
        ops: p.ops,
        opTree: B256::from(p.op_tree.0),
    }
}

/// Registers `program` for job `id`.
async fn register(s: &Session, out: &Output, id: u64, program: &ProgramCommitment) -> anyhow::Result<()> {
    let tx = factory(s)?.registerProgram(id, sol_commitment(program)).into_transaction_request();
    s.send(out, "registerProgram", tx).await?;
    Ok(())
}

/// The DisputeGameFactory binding, at the address in the deployments file.
fn factory(
    s: &Session,
) -> anyhow::Result<DisputeGameFactory::DisputeGameFactoryInstance<&gavel_chain_client::alloy::providers::DynProvider>>
{
    Ok(DisputeGameFactory::new(s.address("DisputeGameFactory")?, s.client.provider()))
}

async fn job(s: &Session, id: u64) -> anyhow::Result<Job> {
    let j = s.market()?.jobOf(id).call().await.map_err(|e| s.call_err("jobOf", e))?;
    Ok(Job::from_chain(id, j))
}

#[derive(Debug, serde::Deserialize)]
struct RunSummary {
    trace_root: Option<B256>,
    output_root: Option<B256>,
    steps: Option<u64>,
}

fn read_summary(path: &PathBuf) -> anyhow::Result<RunSummary> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let s: RunSummary = serde_json::from_str(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    if s.trace_root.is_none() || s.output_root.is_none() {
        return Err(UsageError(format!(
            "{} has no trace_root/output_root: run the job with `gavel run --trace DIR`",
            path.display()
        ))
        .into());
    }
    Ok(s)
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    block_on(run_async(args, out))
}

async fn run_async(args: Args, out: &Output) -> anyhow::Result<()> {
    let chain = &args.chain;
    match args.command {
        Command::Post { spec, reward, collateral, claim_within, execute_within, challenge_window } => {
            // Hash and commit before connecting: a bad spec or data set fails without
            // touching the chain.
            let parsed = gavel_executor::JobSpec::load(&spec)?;
            let compiled = parsed.compile()?;
            let program = ProgramCommitment::initial(&compiled.program, &compiled.inputs)
                .with_context(|| format!("computing the program commitment of {}", spec.display()))?;
            let spec_bytes = std::fs::read(&spec).with_context(|| format!("reading {}", spec.display()))?;
            let spec_hash = keccak256(&spec_bytes);
            let input_hash = B256::from(compiled.dataset_hash.0);
            let s = Session::open(chain, true).await?;
            // The factory must be deployed before anything is escrowed.
            factory(&s)?;
            let now = s.client.timestamp().await?;
            let collateral = u128::try_from(collateral).map_err(|_| UsageError("--collateral is too large".into()))?;
            let params = IJobMarket::JobParams {
                specHash: spec_hash,
                inputHash: input_hash,
                claimDeadline: now + claim_within,
                executionDeadline: now + execute_within,
                challengeWindow: challenge_window,
                steps: parsed.job.steps,
                collateral,
            };
            let tx = s.market()?.postJob(params).value(reward).into_transaction_request();
            let receipt = s.send(out, "postJob", tx).await?;
            let id = receipt
                .inner
                .logs()
                .iter()
                .find_map(|l| JobMarket::JobPosted::decode_log_data(l.data()).ok())
                .map(|e| e.job)
                .context("postJob: no JobPosted event in the receipt")?;
            out.note(format!("posted job {id}; registering its program root {}", program.root()));
            register(&s, out, id, &program).await.with_context(|| {
                format!(
                    "job {id} was posted, but registering its program failed: the job is not bound to a program \
                     (a dispute on it would end for the challenger); retry with `gavel job bind {id} {}` while the \
                     job is open, or cancel it with `gavel job cancel {id}`",
                    spec.display()
                )
            })?;
            let j = bound(&s, id, Some(program)).await?;
            out.result(&j, || format!("posted {}", j.text()));
        }
        Command::Bind { job: id, spec } => {
            let (program, spec_hash) = commitment(&spec)?;
            let root = program.root();
            let s = Session::open(chain, true).await?;
            let j = job(&s, id).await?;
            if j.spec_hash != spec_hash.to_string() {
                return Err(VerificationError(format!(
                    "{} hashes to {spec_hash}, but job {id} was posted with spec hash {}: that is not the job's spec",
                    spec.display(),
                    j.spec_hash
                ))
                .into());
            }
            let on_chain = factory(&s)?.programRootOf(id).call().await.map_err(|e| s.call_err("programRootOf", e))?;
            if on_chain == B256::from(root.0) {
                out.note(format!("job {id} is already bound to program root {root}"));
            } else if !on_chain.is_zero() {
                return Err(VerificationError(format!(
                    "job {id} is bound to program root {on_chain}, not {root} (the program of {}): the submitter \
                     registered another program; do not solve this job",
                    spec.display()
                ))
                .into());
            } else {
                register(&s, out, id, &program).await.with_context(|| format!("binding job {id} to its program"))?;
            }
            let b = bound(&s, id, Some(program)).await?;
            out.result(&b, || format!("bound {}", b.text()));
        }
        Command::List { state } => {
            let wanted = match state.as_deref().map(str::to_lowercase) {
                Some(st) if !STATES[1..].contains(&st.as_str()) => {
                    return Err(
                        UsageError(format!("unknown state {st:?}; use one of {}", STATES[1..].join(", "))).into()
                    );
                }
                other => other,
            };
            let s = Session::open(chain, false).await?;
            let count = s.market()?.jobCount().call().await.map_err(|e| s.call_err("jobCount", e))?;
            let mut jobs = vec![];
            for id in (1..=count).rev() {
                let j = job(&s, id).await?;
                if wanted.as_ref().is_none_or(|w| *w == j.state) {
                    jobs.push(j);
                }
            }
            out.result(&jobs, || {
                let mut t = format!(
                    "{:>5}  {:<10} {:>14} {:>14} {:>8}  {:<42} {:>6}\n",
                    "JOB", "STATE", "REWARD", "COLLATERAL", "STEPS", "SUBMITTER", "DEVICE"
                );
                for j in &jobs {
                    t += &format!(
                        "{:>5}  {:<10} {:>14} {:>14} {:>8}  {:<42} {:>6}\n",
                        j.job,
                        j.state,
                        ether(j.reward_wei.parse().unwrap_or_default()),
                        ether(j.collateral_wei.parse().unwrap_or_default()),
                        j.steps,
                        j.submitter,
                        j.device.map_or("-".into(), |d| d.to_string())
                    );
                }
                if jobs.is_empty() {
                    t += "no jobs";
                }
                t.trim_end().to_owned()
            });
        }
        Command::Show { job: id } => {
            let s = Session::open(chain, false).await?;
            let j = bound(&s, id, None).await?;
            out.result(&j, || j.text());
        }
        Command::Claim { job: id, device } => {
            let s = Session::open(chain, true).await?;
            let tx = s.market()?.claimJob(id, device).into_transaction_request();
            s.send(out, "claimJob", tx).await?;
            let j = job(&s, id).await?;
            out.result(&j, || format!("claimed {}", j.text()));
        }
        Command::Submit { job: id, summary, trace_root, output_root } => {
            let (trace_root, output_root, steps) = match (summary, trace_root, output_root) {
                (Some(path), _, _) => {
                    let r = read_summary(&path)?;
                    (r.trace_root.expect("checked"), r.output_root.expect("checked"), r.steps)
                }
                (None, Some(t), Some(o)) => (t, o, None),
                _ => return Err(UsageError("give --summary FILE, or --trace-root and --output-root".into()).into()),
            };
            let s = Session::open(chain, true).await?;
            let steps = match steps {
                Some(n) => n,
                None => job(&s, id).await?.steps,
            };
            let tx = s.market()?.submitResult(id, trace_root, output_root, steps).into_transaction_request();
            s.send(out, "submitResult", tx).await?;
            let j = job(&s, id).await?;
            out.result(&j, || format!("submitted {}", j.text()));
        }
        Command::Cancel { job: id } => {
            let s = Session::open(chain, true).await?;
            let tx = s.market()?.cancelJob(id).into_transaction_request();
            s.send(out, "cancelJob", tx).await?;
            let j = job(&s, id).await?;
            out.result(&j, || format!("cancelled {}\nthe reward is credited back: `gavel job withdraw`", j.text()));
        }
        Command::Result { job: id, summary } => {
            let s = Session::open(chain, false).await?;
            let j = job(&s, id).await?;
            let (Some(trace_root), Some(output_root)) = (&j.trace_root, &j.output_root) else {
                return Err(UsageError(format!("job {id} has no result yet (it is {})", j.state)).into());
            };
            #[derive(Serialize)]
            struct R<'a> {
                job: u64,
                state: &'a str,
                trace_root: &'a str,
                output_root: &'a str,
                challenge_deadline: u64,
                verified: Option<bool>,
            }
            let verified = match &summary {
                Some(path) => {
                    let mine = read_summary(path)?;
                    let ok = mine.trace_root.map(|r| r.to_string()).as_deref() == Some(trace_root.as_str())
                        && mine.output_root.map(|r| r.to_string()).as_deref() == Some(output_root.as_str());
                    if !ok {
                        return Err(VerificationError(format!(
                            "job {id}: the committed result differs from your run ({}): on chain trace root {trace_root}, \
                             output root {output_root}; yours {}, {} — challenge it before {}",
                            path.display(),
                            mine.trace_root.unwrap_or_default(),
                            mine.output_root.unwrap_or_default(),
                            time(j.challenge_deadline)
                        ))
                        .into());
                    }
                    Some(true)
                }
                None => None,
            };
            let r = R {
                job: id,
                state: &j.state,
                trace_root,
                output_root,
                challenge_deadline: j.challenge_deadline,
                verified,
            };
            out.result(&r, || {
                let mut t = format!(
                    "job {id} ({}): trace root {trace_root}\n  output root {output_root}\n  challenges until {}",
                    j.state,
                    time(j.challenge_deadline)
                );
                if verified == Some(true) {
                    t += "\n  matches your run: verified";
                }
                t
            });
        }
        Command::Finalize { job: id } => {
            let s = Session::open(chain, true).await?;
            let tx = s.market()?.finalize(id).into_transaction_request();
            s.send(out, "finalize", tx).await?;
            let j = job(&s, id).await?;
            out.result(&j, || {
                format!("finalized {}\nthe solver can withdraw the reward: `gavel job withdraw`", j.text())
            });
        }
        Command::Challenge { job: id, trace_root, device } => {
            let s = Session::open(chain, true).await?;
            let j = s.market()?.jobOf(id).call().await.map_err(|e| s.call_err("jobOf", e))?;
            let bond = U256::from(j.collateral);
            let tx = s.market()?.challenge(id, device, trace_root).value(bond).into_transaction_request();
            let receipt = s.send(out, "challenge", tx).await?;
            let opened = receipt
                .inner
                .logs()
                .iter()
                .find_map(|l| JobMarket::DisputeOpened::decode_log_data(l.data()).ok())
                .context("challenge: no DisputeOpened event in the receipt")?;
            out.result(
                &serde_json::json!({
                    "job": id,
                    "game": opened.game,
                    "game_address": opened.gameAddress.to_checksum(None),
                    "bond_wei": opened.bond.to_string(),
                }),
                || {
                    format!(
                        "opened dispute game {} at {} on job {id} (bond {}); follow it with `gavel dispute show {}`",
                        opened.game,
                        opened.gameAddress,
                        ether(opened.bond),
                        opened.game
                    )
                },
            );
        }
        Command::Withdraw => {
            let s = Session::open(chain, true).await?;
            let me = s.client.sender()?;
            let market = s.market()?.creditOf(me).call().await.map_err(|e| s.call_err("creditOf", e))?;
            let registry = s.registry()?.creditOf(me).call().await.map_err(|e| s.call_err("creditOf", e))?;
            if market.is_zero() && registry.is_zero() {
                return Err(UsageError(format!(
                    "{me} has no credit to withdraw in the market or the registry (rewards and refunds are credited \
                     when a job is finalized, cancelled or expires; slashed stake when a dispute ends)"
                ))
                .into());
            }
            // Each contract pays out its own credit; one that holds none would revert.
            if !market.is_zero() {
                s.send(out, "withdrawCredit (market)", s.market()?.withdrawCredit().into_transaction_request()).await?;
            }
            if !registry.is_zero() {
                let tx = s.registry()?.withdrawCredit().into_transaction_request();
                s.send(out, "withdrawCredit (registry)", tx).await?;
            }
            let total = market.saturating_add(registry);
            out.result(
                &serde_json::json!({
                    "account": me.to_checksum(None),
                    "market_wei": market.to_string(),
                    "registry_wei": registry.to_string(),
                    "withdrawn_wei": total.to_string(),
                }),
                || {
                    format!(
                        "withdrew {} to {me} ({} from the market, {} from the registry)",
                        ether(total),
                        ether(market),
                        ether(registry)
                    )
                },
            );
        }
    }
    Ok(())
}
