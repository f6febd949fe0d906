//! What both daemons share: connection, state, content, server, event following, the
//! dispute games they play, credits, metrics and the status line.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::Log,
};
use gavel_chain_client::{Client, Deployments, LogPoller};
use gavel_dispute::{GameDriver, GameStatus, Role, Strategy};
use gavel_executor::BackendChoice;
use gavel_prover::{Tamper, TraceStore};
use serde::{Deserialize, Serialize};

use crate::{
    adversary::Adversary,
    chain::Contracts,
    content::ContentStore,
    error::{Error, Result},
    fetch::Fetcher,
    http::{NodeView, Server},
    metrics::Metrics,
    state::{State, Table},
};

/// Marks kept behind the event cursor. A reorganisation deeper than the oldest rewinds
/// the cursor to the deployment's first block.
const CURSOR_MARKS: usize = 64;

/// A credit withdrawal this node made, kept until it is deep enough.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Withdrawal {
    tx: alloy::primitives::B256,
    /// Wei, as a decimal string.
    wei: String,
}

/// A block the event cursor passed, by number and hash.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CursorMark {
    /// The cursor after the block.
    next_block: u64,
    /// The block's hash when the cursor passed it.
    hash: B256,
}

/// Settings both daemons take.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's folder: `node.redb`, `content/`, `jobs/<id>/trace`.
    pub data_dir: PathBuf,
    /// Where the HTTP server listens (`127.0.0.1:7545`; empty: no server).
    pub listen: String,
    /// Content sources: `http://` bases of other nodes, or content folders.
    pub sources: Vec<String>,
    /// The backend jobs run on.
    pub backend: BackendChoice,
    /// Keep the tensors of every this many checkpoints in trace stores.
    pub trace_every: u64,
    /// How often the node looks at the chain.
    pub poll_interval: Duration,
    /// Blocks re-read behind the event cursor on every poll (reorganisations).
    pub reorg_depth: u64,
    /// Confirmations an event needs before the node acts on it.
    pub confirmations: u64,
    /// The node's device (a solver's is required; found from the key when there is one).
    pub device: Option<u64>,
    /// A cheating mode for tests (never set by default).
    pub adversary: Option<Adversary>,
}

/// What one of the node's games stands at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GameResult {
    /// Being played.
    Open,
    /// This node won.
    Won,
    /// This node lost.
    Lost,
    /// A reorganisation dropped the game (its address holds no code on this branch).
    Dropped,
}

/// A dispute game this node plays (the `games` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GameRecord {
    /// The market's game id.
    pub game: u64,
    /// The game contract.
    pub address: Address,
    /// The disputed job.
    pub job: u64,
    /// `solver` or `challenger`.
    pub role: String,
    /// The bond or collateral at stake, in wei.
    pub stake_wei: String,
    /// Where it stands.
    pub result: GameResult,
    /// Why it ended.
    pub outcome: Option<String>,
    /// Transactions this node sent in it.
    pub moves: u32,
}

/// The node's status: `/v1/status` and the foreground progress line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// `solver` or `watcher`.
    pub role: String,
    /// The signing account.
    pub account: String,
    /// The device, if any.
    pub device: Option<u64>,
    /// The HTTP server's address.
    pub listen: Option<String>,
    /// The last block the node looked at.
    pub head_block: u64,
    /// Jobs by stage.
    pub jobs: BTreeMap<String, u64>,
    /// The run in progress: `(job, steps done, steps)`.
    pub running: Option<(u64, u64, u64)>,
    /// Games being played.
    pub games_open: u64,
    /// Games won.
    pub games_won: u64,
    /// Games lost.
    pub games_lost: u64,
    /// Credits withdrawn so far, in wei.
    pub withdrawn_wei: String,
    /// Bonds posted so far, in wei (watchtowers).
    pub bonds_wei: String,
    /// Paid for gas so far, in wei.
    pub gas_wei: String,
    /// The account's balance, in wei.
    pub balance_wei: String,
    /// The last error the loop hit (it retries), if the last tick failed.
    pub last_error: Option<String>,
}

struct View {
    state: Arc<State>,
    status: Arc<Mutex<Status>>,
}

impl NodeView for View {
    fn job(&self, id: u64) -> Option<serde_json::Value> {
        self.state.get::<serde_json::Value>(Table::Jobs, id).ok().flatten()
    }

    fn status(&self) -> serde_json::Value {
        serde_json::to_value(&*self.status.lock().expect("status lock")).unwrap_or_default()
    }
}

/// What the shared loop ([`run_daemon`]) needs of a daemon.
pub(crate) trait Daemon: Send {
    /// For the log line when it stops.
    const NAME: &'static str;
    /// The shared machinery.
    fn core(&self) -> &Core;
    /// The jobs running on the blocking pool.
    fn runs(&mut self) -> &mut HashMap<u64, crate::exec::Run>;
    /// One pass: events, games, jobs, credits, metrics.
    fn pass(&mut self) -> impl Future<Output = Result<()>> + Send;
}

/// Runs `daemon` a pass per poll interval until `shutdown` completes; a failed pass is
/// logged, counted and retried on the next. On shutdown the runs are stopped after their
/// current step (their stores resume on the next start).
pub(crate) async fn run_daemon<D: Daemon>(mut daemon: D, shutdown: impl Future<Output = ()>) -> Result<()> {
    tokio::pin!(shutdown);
    loop {
        if let Err(e) = daemon.pass().await {
            daemon.core().failed(&e);
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(daemon.core().cfg.poll_interval) => {}
        }
    }
    for (_, run) in daemon.runs().drain() {
        run.stop().await;
    }
    tracing::info!("{} stopped", D::NAME);
    Ok(())
}

/// The shared machinery of a daemon.
pub(crate) struct Core {
    pub(crate) cfg: NodeConfig,
    pub(crate) chain: Contracts,
    pub(crate) me: Address,
    pub(crate) state: Arc<State>,
    pub(crate) fetcher: Fetcher,
    pub(crate) metrics: Metrics,
    pub(crate) status: Arc<Mutex<Status>>,
    pub(crate) server: Option<Server>,
    poller: LogPoller,
    drivers: HashMap<u64, GameDriver>,
    /// The part of the client's gas counter already added to the database's.
    gas_counted: Mutex<U256>,
}

impl Core {
    /// Opens the state, the content store and the server; `role` is `solver` or `watcher`.
    pub(crate) async fn start(
        role: &str,
        mut cfg: NodeConfig,
        client: Client,
        deployments: &Deployments,
        deployments_dir: &std::path::Path,
    ) -> Result<Self> {
        cfg.data_dir = std::path::absolute(&cfg.data_dir).map_err(Error::io("resolving", &cfg.data_dir))?;
        let metrics = Metrics::default();
        let chain = Contracts::new(client.clone(), deployments, deployments_dir, metrics.clone())?;
        let me = chain.me()?;
        let state = Arc::new(State::open(&cfg.data_dir.join("node.redb"), role)?);
        let content = ContentStore::open(&cfg.data_dir.join("content"))?;
        let fetcher = Fetcher::new(content.clone(), cfg.sources.clone())?;
        let status = Arc::new(Mutex::new(Status {
            role: role.to_owned(),
            account: me.to_checksum(None),
            device: cfg.device,
            ..Status::default()
        }));
        let server = if cfg.listen.is_empty() {
            None
        } else {
            let view = Arc::new(View { state: state.clone(), status: status.clone() });
            Some(Server::start(&cfg.listen, content, metrics.clone(), view).await?)
        };
        status.lock().expect("status lock").listen = server.as_ref().map(|s| s.addr().to_string());
        let poller = LogPoller::new(client, vec![chain.market], cfg.confirmations, 2000);
        Ok(Self {
            cfg,
            chain,
            me,
            state,
            fetcher,
            metrics,
            status,
            server,
            poller,
            drivers: HashMap::new(),
            gas_counted: Mutex::default(),
        })
    }

    /// The trace store folder of job `id`.
    pub(crate) fn trace_dir(&self, id: u64) -> PathBuf {
        self.cfg.data_dir.join("jobs").join(id.to_string()).join("trace")
    }

    /// The market's logs since the cursor (re-reading `reorg_depth` blocks before it, so
    /// handlers must be idempotent), and the cursor to store once they are handled.
    pub(crate) async fn next_logs(&self) -> Result<Option<(Vec<Log>, u64)>> {
        let cursor = self.checked_cursor().await?;
        let from = cursor.saturating_sub(self.cfg.reorg_depth).max(self.chain.start_block);
        Ok(self.poller.poll(from).await?.map(|b| (b.logs, b.next_block)))
    }

    /// The event cursor, moved back when the chain reorganised below it: to the newest
    /// mark whose block the chain still holds, or to the start when none is left. Re-read
    /// events are harmless (handlers are idempotent); missed ones would not be.
    async fn checked_cursor(&self) -> Result<u64> {
        let cursor: u64 = self.state.meta("cursor")?.unwrap_or(self.chain.start_block);
        let mut marks: Vec<CursorMark> = self.state.meta("cursor_marks")?.unwrap_or_default();
        let Some(newest) = marks.last().map(|m| m.next_block) else { return Ok(cursor) };
        while let Some(mark) = marks.last() {
            if self.chain.client.block_hash(mark.next_block - 1).await? == Some(mark.hash) {
                break;
            }
            marks.pop();
        }
        let kept = marks.last().map(|m| m.next_block);
        if kept == Some(newest) {
            return Ok(cursor);
        }
        let rewound = kept.unwrap_or(self.chain.start_block);
        tracing::warn!(
            block = newest - 1,
            rewound,
            "the chain reorganised below the event cursor: re-reading the market's events"
        );
        self.metrics.inc("gavel_reorgs_total", "Reorganisations found below the event cursor.", &[], 1.0);
        self.uncount_dropped_withdrawals().await?;
        // A game's end may have gone with the blocks: play every decided game again; the
        // driver finds it resolved at once, open again, or gone (`Dropped`).
        for (id, mut game) in self.state.all::<GameRecord>(Table::Games)? {
            if matches!(game.result, GameResult::Won | GameResult::Lost) {
                game.result = GameResult::Open;
                game.outcome = None;
                self.state.put(Table::Games, id, &game)?;
            }
        }
        self.state.put_meta("cursor_marks", &marks)?;
        self.state.put_meta("cursor", &rewound)?;
        Ok(rewound)
    }

    /// Stores the event cursor after a batch was handled, with a mark of the block it
    /// follows (how [`Core::checked_cursor`] finds a reorganisation).
    pub(crate) async fn store_cursor(&self, next_block: u64) -> Result<()> {
        let cursor: u64 = self.state.meta("cursor")?.unwrap_or(0);
        let mut marks: Vec<CursorMark> = self.state.meta("cursor_marks")?.unwrap_or_default();
        if next_block > cursor
            && let Some(hash) = self.chain.client.block_hash(next_block - 1).await?
        {
            marks.push(CursorMark { next_block, hash });
            if marks.len() > CURSOR_MARKS {
                marks.remove(0);
            }
            self.state.put_meta("cursor_marks", &marks)?;
        }
        self.state.put_meta("cursor", &cursor.max(next_block))
    }

    /// Records a game this node plays (idempotent). A record of the same id that was
    /// dropped, or is at another address, was a game on a branch a reorganisation dropped:
    /// it is replaced (a game created again after a reorg may get the same address).
    pub(crate) fn add_game(&mut self, game: u64, address: Address, job: u64, role: Role, stake: U256) -> Result<()> {
        if let Some(known) = self.state.get::<GameRecord>(Table::Games, game)? {
            if known.address == address && known.result != GameResult::Dropped {
                return Ok(());
            }
            tracing::warn!(game, dropped = %known.address, %address, "a reorg replaced this game; playing the new one");
            self.drivers.remove(&game);
        }
        tracing::info!(game, %address, job, role = %role, "dispute game opened; playing it");
        self.state.put(
            Table::Games,
            game,
            &GameRecord {
                game,
                address,
                job,
                role: role.name().to_owned(),
                stake_wei: stake.to_string(),
                result: GameResult::Open,
                outcome: None,
                moves: 0,
            },
        )
    }

    /// The fault and strategy this node plays with.
    pub(crate) fn cheat(&self, program: &gavel_executor::Program) -> (Option<Tamper>, Strategy) {
        match self.cfg.adversary {
            Some(a) => (a.tamper(program), a.strategy()),
            None => (None, Strategy::Honest),
        }
    }

    /// Plays every open game: polls each until it has nothing to send. Returns the jobs
    /// whose game a reorganisation dropped.
    pub(crate) async fn drive_games(&mut self) -> Result<Vec<u64>> {
        let mut dropped = vec![];
        let games: Vec<(u64, GameRecord)> = self.state.all(Table::Games)?;
        for (id, mut rec) in games.into_iter().filter(|(_, g)| g.result == GameResult::Open) {
            if !self.drivers.contains_key(&id) {
                let dir = self.trace_dir(rec.job);
                let mut store = TraceStore::open(&dir)?;
                let (tamper, strategy) = self.cheat(store.program());
                if let Some(t) = tamper {
                    store = store.with_tamper(t)?;
                }
                let role = if rec.role == "solver" { Role::Solver } else { Role::Challenger };
                let driver = GameDriver::new(self.chain.client.clone(), rec.address, role, store, strategy);
                self.drivers.insert(id, driver);
            }
            let driver = self.drivers.get_mut(&id).expect("inserted");
            for _ in 0..16 {
                match driver.poll().await {
                    Ok(GameStatus::Moved { action, phase, gas_used, .. }) => {
                        rec.moves += 1;
                        self.state.put(Table::Games, id, &rec)?;
                        self.metrics.inc("gavel_game_moves_total", "Moves sent in dispute games.", &[], 1.0);
                        tracing::info!(game = id, %phase, %action, gas_used, "game move");
                    }
                    Ok(GameStatus::Waiting { phase, clock_left_s, other_clock_left_s, .. }) => {
                        let g = id.to_string();
                        let clock = "gavel_game_clock_seconds";
                        let help = "Seconds left on each party's chess clock, by game.";
                        self.metrics.gauge(clock, help, &[("game", &g), ("side", "own")], clock_left_s as f64);
                        self.metrics.gauge(clock, help, &[("game", &g), ("side", "other")], other_clock_left_s as f64);
                        tracing::debug!(game = id, %phase, clock_left_s, other_clock_left_s, "game waiting");
                        break;
                    }
                    Ok(GameStatus::Resolved { we_won, outcome, solver_won }) => {
                        rec.result = if we_won { GameResult::Won } else { GameResult::Lost };
                        rec.outcome = Some(outcome.to_string());
                        self.state.put(Table::Games, id, &rec)?;
                        self.drivers.remove(&id);
                        tracing::info!(game = id, %outcome, solver_won, we_won, "dispute game over");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(game = id, error = %e, "game poll failed; retrying next tick");
                        self.metrics.inc("gavel_game_errors_total", "Failed game polls.", &[], 1.0);
                        if matches!(e, gavel_dispute::Error::Store(_)) {
                            self.drivers.remove(&id);
                        }
                        if self.chain.code_at(rec.address).await?.is_empty() {
                            tracing::warn!(game = id, address = %rec.address, "the game is not on the chain now (a reorg dropped it)");
                            rec.result = GameResult::Dropped;
                            self.state.put(Table::Games, id, &rec)?;
                            self.drivers.remove(&id);
                            dropped.push(rec.job);
                        }
                        break;
                    }
                }
            }
        }
        Ok(dropped)
    }

    /// Withdraws any credit in the market and the registry, and counts it (each
    /// withdrawal is remembered, so one a reorganisation drops is uncounted).
    pub(crate) async fn withdraw(&self) -> Result<()> {
        let (m, r) = self.chain.credits(self.me).await?;
        for (credit, registry) in [(m, false), (r, true)] {
            if credit.is_zero() {
                continue;
            }
            let (tx, paid) = self.chain.withdraw_credit(registry).await?;
            let paid = u128::try_from(paid).unwrap_or(u128::MAX);
            let mut recent: Vec<Withdrawal> = self.state.meta("withdrawals")?.unwrap_or_default();
            recent.push(Withdrawal { tx, wei: paid.to_string() });
            if recent.len() > CURSOR_MARKS {
                recent.remove(0);
            }
            self.state.put_meta("withdrawals", &recent)?;
            let sum = self.state.add("withdrawn_wei", paid)?;
            tracing::info!(%tx, paid, registry, total_withdrawn = sum, "withdrew credit");
        }
        Ok(())
    }

    /// Takes the withdrawals a reorganisation dropped off the counter (their credit is
    /// back on chain and will be withdrawn again).
    async fn uncount_dropped_withdrawals(&self) -> Result<()> {
        let recent: Vec<Withdrawal> = self.state.meta("withdrawals")?.unwrap_or_default();
        let mut kept = Vec::with_capacity(recent.len());
        let mut dropped = 0u128;
        for w in recent {
            if self.chain.client.receipt(w.tx).await?.is_some() {
                kept.push(w);
            } else {
                tracing::warn!(tx = %w.tx, wei = %w.wei, "a reorg dropped this withdrawal; uncounting it");
                dropped = dropped.saturating_add(w.wei.parse().unwrap_or(0));
            }
        }
        self.state.put_meta("withdrawals", &kept)?;
        let left = self.state.counter("withdrawn_wei")?.saturating_sub(dropped);
        self.state.put_meta("withdrawn_wei", &left.to_string())
    }

    /// Refreshes the metrics and the status from the state and the chain.
    pub(crate) async fn report(&self, jobs: BTreeMap<String, u64>, running: Option<(u64, u64, u64)>) -> Result<()> {
        let head = self.chain.client.block_number().await?;
        let balance = self.chain.client.balance(self.me).await?;
        let games: Vec<(u64, GameRecord)> = self.state.all(Table::Games)?;
        let count = |r: GameResult| games.iter().filter(|(_, g)| g.result == r).count() as u64;
        let m = &self.metrics;
        m.gauge("gavel_head_block", "The chain head the node last saw.", &[], head as f64);
        m.gauge("gavel_balance_wei", "Balances, in wei.", &[("kind", "account")], wei_f64(balance));
        m.clear("gavel_jobs");
        for (stage, n) in &jobs {
            m.gauge("gavel_jobs", "Jobs the node holds, by stage.", &[("stage", stage)], *n as f64);
        }
        for (r, name) in [
            (GameResult::Open, "open"),
            (GameResult::Won, "won"),
            (GameResult::Lost, "lost"),
            (GameResult::Dropped, "dropped"),
        ] {
            m.gauge("gavel_games", "Dispute games, by result.", &[("result", name)], count(r) as f64);
        }
        let withdrawn = self.state.counter("withdrawn_wei")?;
        let bonds = bonds_posted(&games);
        let gas = self.count_gas()?;
        m.gauge("gavel_gas_wei", "Paid for gas, in wei.", &[], gas as f64);
        m.gauge(
            "gavel_withdrawn_wei",
            "Credits withdrawn (rewards, bonds back, slashes won), in wei.",
            &[],
            withdrawn as f64,
        );
        m.gauge("gavel_bonds_wei", "Bonds posted in challenges, in wei.", &[], bonds as f64);
        if let Some(device) = self.cfg.device {
            let free = self.chain.free_stake(device).await?;
            m.gauge("gavel_balance_wei", "Balances, in wei.", &[("kind", "free_stake")], wei_f64(free));
        }
        let mut st = self.status.lock().expect("status lock");
        st.head_block = head;
        st.jobs = jobs;
        st.running = running;
        st.games_open = count(GameResult::Open);
        st.games_won = count(GameResult::Won);
        st.games_lost = count(GameResult::Lost);
        st.withdrawn_wei = withdrawn.to_string();
        st.bonds_wei = bonds.to_string();
        st.gas_wei = gas.to_string();
        st.balance_wei = balance.to_string();
        st.last_error = None;
        Ok(())
    }

    /// Adds the gas paid since the last count to the database's counter; returns it.
    fn count_gas(&self) -> Result<u128> {
        let spent = self.chain.client.gas_spent();
        let mut counted = self.gas_counted.lock().expect("gas counter");
        let new = u128::try_from(spent.saturating_sub(*counted)).unwrap_or(u128::MAX);
        *counted = spent;
        if new == 0 { self.state.counter("gas_wei") } else { self.state.add("gas_wei", new) }
    }

    /// Notes a failed tick.
    pub(crate) fn failed(&self, e: &Error) {
        tracing::warn!(error = %e, "tick failed; retrying");
        self.metrics.inc("gavel_tick_errors_total", "Loop iterations that failed (RPC outages, ...).", &[], 1.0);
        self.status.lock().expect("status lock").last_error = Some(e.to_string());
    }

    /// The device's endpoint from the registry (empty when none).
    pub(crate) async fn endpoint_of(&self, device: u64) -> String {
        match self.chain.metadata(device).await {
            Ok(m) => m.endpoint,
            Err(e) => {
                tracing::debug!(device, error = %e, "reading a device's endpoint failed");
                String::new()
            }
        }
    }
}

/// Finds the device the key owns: `wanted`, checked, or the only one.
pub(crate) async fn own_device(chain: &Contracts, me: Address, wanted: Option<u64>) -> Result<Option<u64>> {
    if let Some(d) = wanted {
        let owner = chain.owner(d).await?;
        if owner != me {
            return Err(Error::Config(format!("device {d} is owned by {owner}, not by this key's {me}")));
        }
        return Ok(Some(d));
    }
    let mut mine = Vec::new();
    for d in 1..=chain.device_count().await? {
        if chain.owner(d).await? == me {
            mine.push(d);
        }
    }
    match mine.as_slice() {
        [] => Ok(None),
        [d] => Ok(Some(*d)),
        many => Err(Error::Config(format!("this key owns devices {many:?}: choose one with --device"))),
    }
}

/// Decodes a market log as event `E`, if it is one.
pub(crate) fn decode<E: alloy::sol_types::SolEvent>(log: &Log) -> Option<E> {
    (log.topic0() == Some(&E::SIGNATURE_HASH)).then(|| E::decode_log(&log.inner).ok().map(|l| l.data)).flatten()
}

/// The bonds this node posted in its challenges, from its games: a challenge a
/// reorganisation dropped took its bond back with it.
pub(crate) fn bonds_posted(games: &[(u64, GameRecord)]) -> u128 {
    games
        .iter()
        .filter(|(_, g)| g.role == Role::Challenger.name() && g.result != GameResult::Dropped)
        .map(|(_, g)| g.stake_wei.parse::<u128>().unwrap_or(0))
        .fold(0, u128::saturating_add)
}

/// Wei as a float for a gauge.
pub(crate) fn wei_f64(x: U256) -> f64 {
    x.to_string().parse().unwrap_or(f64::MAX)
}

/// Seconds since the epoch on the node's own clock.
pub(crate) fn wall_clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
