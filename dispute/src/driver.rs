//! The driver: reads a game's state, decides this party's move, sends it.

use alloy::{
    primitives::{Address, B256},
    rpc::types::TransactionRequest,
};
use gavel_chain_client::{
    Client,
    alloy::providers::DynProvider,
    bindings::game::DisputeGame::{self, DisputeGameInstance},
};
use gavel_prover::TraceStore;

use crate::{
    error::{Error, Result},
    types::{GameStatus, Move, Outcome, Phase, Role, Strategy},
};

/// Plays one party's side of one dispute game. See the crate docs.
#[derive(Debug)]
pub struct GameDriver {
    client: Client,
    game: Address,
    role: Role,
    store: TraceStore,
    strategy: Strategy,
}

/// One side's state, as `sideOf` returns it.
#[derive(Clone, Debug)]
pub(crate) struct SideState {
    /// Its root at the first disputed position.
    pub(crate) hi: B256,
    /// Its reveal of this round / current node.
    pub(crate) a: B256,
    /// Seconds left at the round's start.
    pub(crate) remaining: u64,
    /// Whether it moved this round.
    pub(crate) moved: bool,
}

/// Everything a poll reads from the game.
#[derive(Clone, Debug)]
pub(crate) struct GameState {
    pub(crate) phase: Phase,
    pub(crate) lo: u64,
    pub(crate) hi: u64,
    pub(crate) step: u64,
    pub(crate) op_index: u32,
    pub(crate) level: u8,
    pub(crate) chunk: u64,
    pub(crate) hi_known: bool,
    pub(crate) round_start: u64,
    pub(crate) now: u64,
    pub(crate) me: SideState,
    pub(crate) other: SideState,
}

impl GameState {
    /// Seconds a side has left now (0 once it ran out), as `clockLeft` computes it.
    fn clock_left(&self, side: &SideState) -> u64 {
        if side.moved || self.phase == Phase::Resolved {
            return side.remaining;
        }
        side.remaining.saturating_sub(self.now.saturating_sub(self.round_start))
    }

    /// Whether a side owes a move and has run out: `timeout()` would end the game.
    /// `timeout` needs `elapsed > remaining` in the block it runs in, which is at least
    /// one second after the latest block.
    fn ran_out(&self, side: &SideState) -> bool {
        !side.moved && self.now + 1 - self.round_start > side.remaining
    }
}

impl GameDriver {
    /// A driver for one party of one game.
    ///
    /// `client`: the chain client ([`gavel_chain_client::Client`], cheap to clone) signing
    /// as this party; `game`: the game contract; `role`: which side this party is;
    /// `store`: this party's own trace store for the disputed job (the trace whose root
    /// it committed); `strategy`: [`Strategy::Honest`] for real nodes.
    pub fn new(client: Client, game: Address, role: Role, store: TraceStore, strategy: Strategy) -> Self {
        Self { client, game, role, store, strategy }
    }

    /// The game contract.
    pub fn game(&self) -> Address {
        self.game
    }

    /// The side this driver plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The strategy it plays.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// This party's trace store.
    pub fn store(&self) -> &TraceStore {
        &self.store
    }

    /// Reads the game's state on chain and sends at most one transaction: this party's
    /// move if it owes one, the replay when the game reached it, or `timeout()` when the
    /// other side ran out of time. Stateless across calls (all state is on chain or in
    /// the store), so a node killed at any moment resumes by calling it again.
    ///
    /// A move the contract refuses comes back as [`Error::Chain`] with the decoded revert
    /// ([`Error::revert`]); nothing was sent then (the gas estimate reverts first).
    pub async fn poll(&mut self) -> Result<GameStatus> {
        let game = self.contract();
        if let Some(resolved) = self.resolved(&game).await? {
            return Ok(resolved);
        }
        let state = self.read_state(&game).await?;
        let (mine, theirs) = (state.clock_left(&state.me), state.clock_left(&state.other));
        let waiting = GameStatus::Waiting {
            phase: state.phase,
            clock_left_s: mine,
            other_clock_left_s: theirs,
            other_owes: !state.other.moved,
        };
        if self.strategy == Strategy::Stall {
            return Ok(waiting);
        }
        if state.ran_out(&state.other) {
            let tx = game.timeout().into_transaction_request();
            return match self.send(state.phase, Move::Timeout, tx).await {
                Ok(moved) => Ok(moved),
                // Estimated in a block whose clock has not passed the deadline yet.
                Err(e) if e.revert().and_then(|r| r.name.as_deref()) == Some("NoTimeout") => Ok(waiting),
                Err(e) => Err(e),
            };
        }
        if state.me.moved || state.ran_out(&state.me) {
            return Ok(waiting);
        }
        match self.next_move(&game, &state).await? {
            Some((action, tx)) => self.send(state.phase, action, tx).await,
            None => Ok(waiting),
        }
    }

    fn contract(&self) -> DisputeGameInstance<DynProvider> {
        DisputeGame::new(self.game, self.client.provider().clone())
    }

    fn call_err(&self, what: &str) -> impl Fn(alloy::contract::Error) -> Error + '_ {
        let what = format!("read {what} of game {}", self.game);
        move |e| Error::Chain(self.client.contract_error(&what, e))
    }

    /// The final status once the game ended.
    async fn resolved(&self, game: &DisputeGameInstance<DynProvider>) -> Result<Option<GameStatus>> {
        let phase = game.phase().call().await.map_err(self.call_err("phase"))?;
        if Phase::from_u8(phase) != Some(Phase::Resolved) {
            return Ok(None);
        }
        let solver_won = game.solverWon().call().await.map_err(self.call_err("solverWon"))?;
        let raw = game.outcome().call().await.map_err(self.call_err("outcome"))?;
        let outcome =
            Outcome::from_u8(raw).ok_or(Error::Unknown { game: self.game, what: "outcome", value: raw as u64 })?;
        let we_won = solver_won == (self.role == Role::Solver);
        Ok(Some(GameStatus::Resolved { solver_won, outcome, we_won }))
    }

    async fn side(&self, game: &DisputeGameInstance<DynProvider>, role: Role) -> Result<SideState> {
        let s = game.sideOf(role.party()).call().await.map_err(self.call_err("sideOf"))?;
        Ok(SideState { hi: s.hi, a: s.a, remaining: s.remaining, moved: s.moved })
    }

    async fn read_state(&self, game: &DisputeGameInstance<DynProvider>) -> Result<GameState> {
        let raw = game.phase().call().await.map_err(self.call_err("phase"))?;
        let phase = Phase::from_u8(raw).ok_or(Error::Unknown { game: self.game, what: "phase", value: raw as u64 })?;
        Ok(GameState {
            phase,
            lo: game.lo().call().await.map_err(self.call_err("lo"))?,
            hi: game.hi().call().await.map_err(self.call_err("hi"))?,
            step: game.step().call().await.map_err(self.call_err("step"))?,
            op_index: game.opIndex().call().await.map_err(self.call_err("opIndex"))?,
            level: game.level().call().await.map_err(self.call_err("level"))?,
            chunk: game.chunk().call().await.map_err(self.call_err("chunk"))?,
            hi_known: game.hiKnown().call().await.map_err(self.call_err("hiKnown"))?,
            round_start: game.roundStart().call().await.map_err(self.call_err("roundStart"))?,
            now: self.client.timestamp().await?,
            me: self.side(game, self.role).await?,
            other: self.side(game, self.role.other()).await?,
        })
    }

    /// This party's move in the current round, if it has one.
    async fn next_move(
        &mut self,
        _game: &DisputeGameInstance<DynProvider>,
        state: &GameState,
    ) -> Result<Option<(Move, TransactionRequest)>> {
        Err(Error::Inconsistent { game: self.game, message: format!("phase {} is not played yet", state.phase) })
    }

    /// Sends one move and reports it.
    async fn send(&self, phase: Phase, action: Move, tx: TransactionRequest) -> Result<GameStatus> {
        let what = format!("{} {action} in game {}", self.role, self.game);
        let receipt = self.client.send(&what, tx).await?;
        tracing::info!(game = %self.game, role = %self.role, %phase, %action, gas = receipt.gas_used, "moved");
        Ok(GameStatus::Moved { phase, action, tx_hash: receipt.transaction_hash, gas_used: receipt.gas_used })
    }
}
