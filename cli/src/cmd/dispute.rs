//! `gavel dispute`: dispute games, listed and shown move by move.

use gavel_chain_client::{
    Event,
    alloy::{providers::Provider, rpc::types::Filter},
    bindings::{game::DisputeGame, market::IJobMarket},
    decode_log,
};
use serde::Serialize;

use crate::{
    config::{ChainArgs, Session, UsageError, block_on, ether, time},
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
    /// All disputes, newest first.
    List {
        /// Only the disputes of this job.
        #[arg(long)]
        job: Option<u64>,
    },
    /// One dispute: its parties, bond, phase, the bisection range, both clocks and every move.
    Show {
        /// The game id.
        game: u64,
    },
}

const STATES: [&str; 4] = ["none", "open", "solver won", "challenger won"];
/// The game's `Phase` enum, in order (contracts/src/game/GameTypes.sol).
const PHASES: [&str; 8] =
    ["checkpoints", "step commit", "ops", "slot", "descent", "chunk reveal", "replay", "resolved"];
const OUTCOMES: [&str; 6] = ["none", "replayed", "padding", "no disagreement", "timeout", "unbound"];

#[derive(Debug, Serialize)]
struct Dispute {
    game: u64,
    job: u64,
    state: String,
    challenger: String,
    challenger_device: u64,
    bond_wei: String,
    address: String,
}

impl Dispute {
    fn from_chain(game: u64, d: IJobMarket::Dispute) -> Self {
        Self {
            game,
            job: d.job,
            state: STATES.get(d.state as usize).unwrap_or(&"unknown").to_string(),
            challenger: d.challenger.to_checksum(None),
            challenger_device: d.challengerDevice,
            bond_wei: d.bond.to_string(),
            address: d.game.to_checksum(None),
        }
    }
}

#[derive(Debug, Serialize)]
struct Clock {
    party: &'static str,
    address: String,
    seconds_left: String,
    moved_this_round: bool,
}

#[derive(Debug, Serialize)]
struct GameView {
    #[serde(flatten)]
    dispute: Dispute,
    solver: String,
    phase: String,
    outcome: String,
    solver_won: bool,
    steps: u64,
    lo: u64,
    hi: u64,
    step: u64,
    op_index: u32,
    round_start: u64,
    clock_seconds: u64,
    clocks: Vec<Clock>,
    moves: Vec<Event>,
}

async fn dispute(s: &Session, game: u64) -> anyhow::Result<Dispute> {
    let d = s.market()?.disputeOf(game).call().await.map_err(|e| s.call_err("disputeOf", e))?;
    Ok(Dispute::from_chain(game, d))
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    block_on(run_async(args, out))
}

async fn run_async(args: Args, out: &Output) -> anyhow::Result<()> {
    let s = Session::open(&args.chain, false).await?;
    let count = s.market()?.gameCount().call().await.map_err(|e| s.call_err("gameCount", e))?;
    match args.command {
        Command::List { job } => {
            let mut all = vec![];
            for g in (1..=count).rev() {
                let d = dispute(&s, g).await?;
                if job.is_none_or(|j| j == d.job) {
                    all.push(d);
                }
            }
            out.result(&all, || {
                let mut t = format!(
                    "{:>5} {:>5}  {:<15} {:<42} {:>14}  {}\n",
                    "GAME", "JOB", "STATE", "CHALLENGER", "BOND", "ADDRESS"
                );
                for d in &all {
                    t += &format!(
                        "{:>5} {:>5}  {:<15} {:<42} {:>14}  {}\n",
                        d.game,
                        d.job,
                        d.state,
                        d.challenger,
                        ether(d.bond_wei.parse().unwrap_or_default()),
                        d.address
                    );
                }
                if all.is_empty() {
                    t += "no disputes";
                }
                t.trim_end().to_owned()
            });
        }
        Command::Show { game } => {
            if game == 0 || game > count {
                return Err(UsageError(format!("no dispute game {game}: the market has games 1 to {count}")).into());
            }
            let d = dispute(&s, game).await?;
            let g = DisputeGame::new(d.address.parse()?, s.client.provider());
            let e = |what: &str| {
                let what = what.to_owned();
                let s = &s;
                move |err| s.call_err(&what, err)
            };
            let solver = g.SOLVER().call().await.map_err(e("SOLVER"))?;
            let challenger = g.CHALLENGER().call().await.map_err(e("CHALLENGER"))?;
            let mut clocks = vec![];
            for (i, (party, who)) in [("solver", solver), ("challenger", challenger)].into_iter().enumerate() {
                let left = g.clockLeft(i as u8).call().await.map_err(e("clockLeft"))?;
                let side = g.sideOf(i as u8).call().await.map_err(e("sideOf"))?;
                clocks.push(Clock {
                    party,
                    address: who.to_checksum(None),
                    seconds_left: left.to_string(),
                    moved_this_round: side.moved,
                });
            }
            let filter = Filter::new().address(g.address().to_owned()).from_block(0);
            let logs =
                s.client.provider().get_logs(&filter).await.map_err(|err| s.client.rpc_error("read moves", err))?;
            let moves: Vec<Event> = logs.iter().map(|l| decode_log("DisputeGame", l)).collect();
            let phase = g.phase().call().await.map_err(e("phase"))?;
            let outcome = g.outcome().call().await.map_err(e("outcome"))?;
            let v = GameView {
                solver: solver.to_checksum(None),
                phase: PHASES.get(phase as usize).unwrap_or(&"unknown").to_string(),
                outcome: OUTCOMES.get(outcome as usize).unwrap_or(&"unknown").to_string(),
                solver_won: g.solverWon().call().await.map_err(e("solverWon"))?,
                steps: g.STEPS().call().await.map_err(e("STEPS"))?,
                lo: g.lo().call().await.map_err(e("lo"))?,
                hi: g.hi().call().await.map_err(e("hi"))?,
                step: g.step().call().await.map_err(e("step"))?,
                op_index: g.opIndex().call().await.map_err(e("opIndex"))?,
                round_start: g.roundStart().call().await.map_err(e("roundStart"))?,
                clock_seconds: g.CLOCK().call().await.map_err(e("CLOCK"))?,
                clocks,
                moves,
                dispute: d,
            };
            out.result(&v, || {
                let d = &v.dispute;
                let mut t = format!(
                    "game {} on job {} ({}), at {}\n  solver     {}\n  challenger {} (device {}), bond {}\n",
                    d.game,
                    d.job,
                    d.state,
                    d.address,
                    v.solver,
                    d.challenger,
                    d.challenger_device,
                    ether(d.bond_wei.parse().unwrap_or_default())
                );
                t += &format!(
                    "  phase {}, checkpoints agreed up to {} and disputed from {} of {}, step {}, op {}\n",
                    v.phase, v.lo, v.hi, v.steps, v.step, v.op_index
                );
                if v.phase == "resolved" {
                    t += &format!(
                        "  outcome: {} ({} won)\n",
                        v.outcome,
                        if v.solver_won { "solver" } else { "challenger" }
                    );
                }
                t += &format!("  round started {}; clocks ({} s each):\n", time(v.round_start), v.clock_seconds);
                for c in &v.clocks {
                    t += &format!(
                        "    {:<10} {} s left{}\n",
                        c.party,
                        c.seconds_left,
                        if c.moved_this_round { ", moved this round" } else { "" }
                    );
                }
                t += &format!("  moves ({}):\n", v.moves.len());
                for m in &v.moves {
                    let args: Vec<String> =
                        m.args.iter().filter(|(k, _)| k.as_str() != "game").map(|(k, v)| format!("{k}={v}")).collect();
                    t += &format!("    block {:>6}  {:<18} {}\n", m.block, m.event, args.join(" "));
                }
                t.trim_end().to_owned()
            });
        }
    }
    Ok(())
}
