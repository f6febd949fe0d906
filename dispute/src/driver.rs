//! The driver: reads a game's state, decides this party's move, sends it.

use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, TransactionRequest},
    sol_types::SolEvent,
};
use gavel_chain_client::{
    Client,
    bindings::game::{
        DisputeGame::{self, DisputeGameInstance},
        OneStepReplay,
    },
};
use gavel_executor::Hash32;
use gavel_prover::{CHUNK_ELEMENTS, ChunkTree, OpTable, Position, TraceStore};

use crate::{
    convert,
    error::{Error, Result},
    replay,
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
    /// Derived from the store's program once (not game state).
    table: Option<OpTable>,
    /// The game's immutables, checked against the store once.
    commitments: Option<Commitments>,
}

/// One side's state, as `sideOf` returns it.
#[derive(Clone, Debug)]
pub(crate) struct SideState {
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
    /// The block every field was read at, and its timestamp.
    pub(crate) at: BlockId,
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
        !side.moved && (self.now + 1).saturating_sub(self.round_start) > side.remaining
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
        Self { client, game, role, store, strategy, table: None, commitments: None }
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
        // Every read of one poll is pinned to one block: a move mined between two reads
        // would otherwise mix two rounds' fields (a level from one, a phase from the next).
        let (number, now) = self.client.head().await?;
        let at = BlockId::number(number);
        if let Some(resolved) = self.resolved(&game, at).await? {
            return Ok(resolved);
        }
        let commitments = self.check_commitments(&game).await?;
        let state = self.read_state(&game, at, now).await?;
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
        if !commitments.bound {
            // No move is accepted; the result cannot stand, so the challenger ends it.
            if self.role == Role::Challenger {
                let tx = game.resolveUnbound().into_transaction_request();
                return self.send(state.phase, Move::ResolveUnbound, tx).await;
            }
            return Ok(waiting);
        }
        // In `Replay` anyone may move, and the replay decides on the merits: send it
        // rather than a timeout.
        if state.phase != Phase::Replay && state.ran_out(&state.other) {
            let tx = game.timeout().into_transaction_request();
            return match self.send(state.phase, Move::Timeout, tx).await {
                Ok(moved) => Ok(moved),
                // Estimated in a block whose clock has not passed the deadline yet.
                Err(e) if e.revert().and_then(|r| r.name.as_deref()) == Some("NoTimeout") => Ok(waiting),
                Err(e) => Err(e),
            };
        }
        // The replay is not a party's move (no clock, no `moved` flag): anyone sends it.
        if state.phase != Phase::Replay && (state.me.moved || state.ran_out(&state.me)) {
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
    async fn resolved(&self, game: &DisputeGameInstance<DynProvider>, at: BlockId) -> Result<Option<GameStatus>> {
        let phase = game.phase().call().block(at).await.map_err(self.call_err("phase"))?;
        if Phase::from_u8(phase) != Some(Phase::Resolved) {
            return Ok(None);
        }
        let solver_won = game.solverWon().call().block(at).await.map_err(self.call_err("solverWon"))?;
        let raw = game.outcome().call().block(at).await.map_err(self.call_err("outcome"))?;
        let outcome =
            Outcome::from_u8(raw).ok_or(Error::Unknown { game: self.game, what: "outcome", value: raw as u64 })?;
        let we_won = solver_won == (self.role == Role::Solver);
        Ok(Some(GameStatus::Resolved { solver_won, outcome, we_won }))
    }

    async fn side(&self, game: &DisputeGameInstance<DynProvider>, role: Role, at: BlockId) -> Result<SideState> {
        let s = game.sideOf(role.party()).call().block(at).await.map_err(self.call_err("sideOf"))?;
        Ok(SideState { a: s.a, remaining: s.remaining, moved: s.moved })
    }

    async fn read_state(&self, game: &DisputeGameInstance<DynProvider>, at: BlockId, now: u64) -> Result<GameState> {
        let raw = game.phase().call().block(at).await.map_err(self.call_err("phase"))?;
        let phase = Phase::from_u8(raw).ok_or(Error::Unknown { game: self.game, what: "phase", value: raw as u64 })?;
        Ok(GameState {
            phase,
            lo: game.lo().call().block(at).await.map_err(self.call_err("lo"))?,
            hi: game.hi().call().block(at).await.map_err(self.call_err("hi"))?,
            step: game.step().call().block(at).await.map_err(self.call_err("step"))?,
            op_index: game.opIndex().call().block(at).await.map_err(self.call_err("opIndex"))?,
            level: game.level().call().block(at).await.map_err(self.call_err("level"))?,
            chunk: game.chunk().call().block(at).await.map_err(self.call_err("chunk"))?,
            hi_known: game.hiKnown().call().block(at).await.map_err(self.call_err("hiKnown"))?,
            round_start: game.roundStart().call().block(at).await.map_err(self.call_err("roundStart"))?,
            at,
            now,
            me: self.side(game, self.role, at).await?,
            other: self.side(game, self.role.other(), at).await?,
        })
    }

    /// This party's move in the current round, if it has one.
    async fn next_move(
        &mut self,
        game: &DisputeGameInstance<DynProvider>,
        state: &GameState,
    ) -> Result<Option<(Move, TransactionRequest)>> {
        let lying_bisection = self.strategy == Strategy::LieInBisection;
        Ok(Some(match state.phase {
            Phase::Checkpoints => {
                let mid = state.lo + (state.hi - state.lo) / 2;
                let mut proof = self.store.prove_checkpoint(mid)?;
                if lying_bisection {
                    proof.root = forged(&proof.root);
                }
                let tx = game.revealCheckpoint(convert::checkpoint(&proof)).into_transaction_request();
                (Move::RevealCheckpoint { step: mid }, tx)
            }
            Phase::StepCommit => {
                let i = state.step;
                let k = self.store.program().ops.len() as u32;
                let step_root = self.store.step_root(i)?;
                let first = self.store.prove_op_root(i, 0)?;
                let last = self.store.prove_op_root(i, k)?;
                let end = if state.hi_known {
                    convert::empty_checkpoint()
                } else {
                    convert::checkpoint(&self.store.prove_checkpoint(self.store.steps())?)
                };
                let tx = game
                    .commitStep(convert::b256(&step_root), convert::op_root(&first), convert::op_root(&last), end)
                    .into_transaction_request();
                (Move::CommitStep { step: i }, tx)
            }
            Phase::Ops => {
                let mid = state.lo + (state.hi - state.lo) / 2;
                let mut proof = self.store.prove_op_root(state.step, mid as u32)?;
                if lying_bisection {
                    proof.root = forged(&proof.root);
                }
                let tx = game.revealOpRoot(convert::op_root(&proof)).into_transaction_request();
                (Move::RevealOpRoot { op: mid as u32 }, tx)
            }
            Phase::Slot => {
                let j = state.op_index;
                let opening = self.op_table()?.open(j)?;
                let out = opening.descriptor.out;
                let pre = self.store.prove_slot(self.pre_state(state), out)?;
                self.check_pre_state(game, state).await?;
                let mut data_root = self.written_tree(state)?.root();
                if self.strategy == Strategy::Equivocate {
                    data_root = forged(&data_root);
                }
                let path = opening.siblings.iter().map(convert::b256).collect();
                let tx = game
                    .revealSlot(
                        convert::descriptor(&opening.descriptor),
                        path,
                        convert::slot(&pre),
                        convert::b256(&data_root),
                    )
                    .into_transaction_request();
                (Move::RevealSlot { op: j, slot: out }, tx)
            }
            Phase::Descent => {
                if state.level == 0 {
                    return Err(self.inconsistent("the game is in the descent at the chunk level".into()));
                }
                let tree = self.written_tree(state)?;
                let level = state.level as usize;
                let mine = tree.node(level, state.chunk);
                if convert::b256(&mine) != state.me.a {
                    return Err(self.inconsistent(format!(
                        "our node {} at level {level}, index {} is {mine}, the game holds {}",
                        state.chunk, state.chunk, state.me.a
                    )));
                }
                let (left, right) = tree.children(level, state.chunk);
                let tx = game.revealChildren(convert::b256(&left), convert::b256(&right)).into_transaction_request();
                (Move::RevealChildren { level: state.level - 1 }, tx)
            }
            Phase::ChunkReveal => {
                let values = self.written_chunk(state)?;
                let tx = game.revealChunk(convert::chunk_bytes(&values)).into_transaction_request();
                (Move::RevealChunk { chunk: state.chunk }, tx)
            }
            Phase::Replay => return self.replay(game, state).await.map(Some),
            Phase::Resolved => return Ok(None),
        }))
    }

    /// The replay: the whole chunk for the element-wise operators, else one element where
    /// the two revealed chunks differ.
    async fn replay(
        &mut self,
        game: &DisputeGameInstance<DynProvider>,
        state: &GameState,
    ) -> Result<(Move, TransactionRequest)> {
        let op = self.op_table()?.descriptor(state.op_index)?.clone();
        let pre = self.pre_state(state);
        if replay::is_elementwise(op.kind) {
            let mut slots = Vec::with_capacity(op.inputs.len());
            let mut chunks = Vec::with_capacity(op.inputs.len());
            for &input in &op.inputs {
                slots.push(convert::slot(&self.store.prove_slot(pre, input)?));
                chunks.push(convert::chunk(&self.store.prove_chunk(pre, input, state.chunk)?));
            }
            let tx = game.replay(convert::descriptor(&op), slots, chunks).into_transaction_request();
            return Ok((Move::Replay { chunk: state.chunk }, tx));
        }
        let (solver_chunk, challenger_chunk) = self.revealed_chunks(state.chunk).await?;
        let index = (0..solver_chunk.len() / 4)
            .find(|&i| convert::element_at(&solver_chunk, i) != convert::element_at(&challenger_chunk, i))
            .ok_or_else(|| self.inconsistent(format!("the two revealed chunks {} are equal", state.chunk)))?;
        let element = state.chunk * CHUNK_ELEMENTS as u64 + index as u64;
        let memory = self.store.memory(pre)?;
        let read = |j: usize, pos: u64| -> std::result::Result<i32, String> {
            let slot = *op.inputs.get(j).ok_or_else(|| format!("no input {j}"))?;
            memory.slot(slot).get(pos as usize).copied().ok_or_else(|| format!("input {j} has no element {pos}"))
        };
        let positions = replay::input_positions(&op, state.step, element, read).map_err(|m| self.inconsistent(m))?;
        let mut inputs = Vec::with_capacity(op.inputs.len());
        for (&input, positions) in op.inputs.iter().zip(&positions) {
            let mut chunks = vec![];
            for c in replay::chunks_of(positions) {
                chunks.push(convert::chunk(&self.store.prove_chunk(pre, input, c)?));
            }
            inputs
                .push(OneStepReplay::InputOpening { slot: convert::slot(&self.store.prove_slot(pre, input)?), chunks });
        }
        let tx = game
            .replayElement(convert::descriptor(&op), U256::from(index), solver_chunk, challenger_chunk, inputs)
            .into_transaction_request();
        Ok((Move::ReplayElement { element }, tx))
    }

    /// Both parties' revealed chunk bytes (solver's, challenger's), from `ChunkRevealed`.
    async fn revealed_chunks(&self, chunk: u64) -> Result<(Bytes, Bytes)> {
        let filter =
            Filter::new().address(self.game).event_signature(DisputeGame::ChunkRevealed::SIGNATURE_HASH).from_block(0);
        let logs = self
            .client
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| Error::Chain(self.client.rpc_error("read ChunkRevealed", e)))?;
        let mut found: [Option<Bytes>; 2] = [None, None];
        for log in logs {
            let Ok(event) = log.log_decode::<DisputeGame::ChunkRevealed>() else { continue };
            let e = event.inner.data;
            if e.chunk == chunk && (e.party as usize) < 2 {
                found[e.party as usize] = Some(e.data);
            }
        }
        match found {
            [Some(s), Some(c)] => Ok((s, c)),
            _ => Err(self.inconsistent(format!("the game is in replay but not both chunks {chunk} were revealed"))),
        }
    }

    /// The op table of the store's program (built once: it depends only on the program).
    fn op_table(&mut self) -> Result<&OpTable> {
        if self.table.is_none() {
            self.table = Some(OpTable::new(self.store.program())?);
        }
        Ok(self.table.as_ref().expect("set above"))
    }

    /// The agreed pre-state of the disputed op, `M_{i,j}`.
    fn pre_state(&self, state: &GameState) -> Position {
        Position::Op { step: state.step, op: state.op_index }
    }

    /// Checks that the store's `M_{i,j}` is the game's agreed root: both parties reached
    /// it through the bisection, so a difference means the store is not the trace this
    /// party committed.
    async fn check_pre_state(&mut self, game: &DisputeGameInstance<DynProvider>, state: &GameState) -> Result<()> {
        let agreed = game.agreed().call().block(state.at).await.map_err(self.call_err("agreed"))?;
        let ours = *self.store.prove_state(self.pre_state(state))?.memory_root();
        if convert::b256(&ours) != agreed {
            return Err(self.inconsistent(format!(
                "the agreed pre-state M_{{{},{}}} is {agreed}, the store has {ours}",
                state.step, state.op_index
            )));
        }
        Ok(())
    }

    /// The written slot's values after the disputed op, in this party's trace.
    fn written_values(&mut self, state: &GameState) -> Result<Vec<i32>> {
        let out = self.op_table()?.descriptor(state.op_index)?.out;
        let post = Position::Op { step: state.step, op: state.op_index + 1 };
        Ok(self.store.memory(post)?.slot(out).to_vec())
    }

    /// The chunk tree of the written slot after the disputed op.
    fn written_tree(&mut self, state: &GameState) -> Result<ChunkTree> {
        Ok(ChunkTree::new(&self.written_values(state)?))
    }

    /// The disputed chunk of the written slot after the disputed op.
    fn written_chunk(&mut self, state: &GameState) -> Result<Vec<i32>> {
        let values = self.written_values(state)?;
        let start = state.chunk as usize * CHUNK_ELEMENTS;
        values
            .get(start..(start + CHUNK_ELEMENTS).min(values.len()))
            .map(<[i32]>::to_vec)
            .ok_or_else(|| self.inconsistent(format!("the written slot has no chunk {}", state.chunk)))
    }

    fn inconsistent(&self, message: String) -> Error {
        Error::Inconsistent { game: self.game, message }
    }

    /// Checks, once, that this client signs as the party and that the store is the trace
    /// the party committed to, for the program the job is bound to.
    async fn check_commitments(&mut self, game: &DisputeGameInstance<DynProvider>) -> Result<Commitments> {
        if let Some(c) = &self.commitments {
            return Ok(c.clone());
        }
        let party = match self.role {
            Role::Solver => game.SOLVER().call().await.map_err(self.call_err("SOLVER"))?,
            Role::Challenger => game.CHALLENGER().call().await.map_err(self.call_err("CHALLENGER"))?,
        };
        let sender = self.client.sender()?;
        if sender != party {
            return Err(Error::NotTheParty {
                game: self.game,
                role: self.role.name(),
                expected: party,
                actual: sender,
            });
        }
        let trace_root = match self.role {
            Role::Solver => game.SOLVER_TRACE_ROOT().call().await.map_err(self.call_err("SOLVER_TRACE_ROOT"))?,
            Role::Challenger => {
                game.CHALLENGER_TRACE_ROOT().call().await.map_err(self.call_err("CHALLENGER_TRACE_ROOT"))?
            }
        };
        let bound = game.BOUND().call().await.map_err(self.call_err("BOUND"))?;
        let mut checks: Vec<(&'static str, String, String)> = vec![
            ("trace root", trace_root.to_string(), convert::b256(&self.store.trace_root()).to_string()),
            (
                "steps",
                game.STEPS().call().await.map_err(self.call_err("STEPS"))?.to_string(),
                self.store.steps().to_string(),
            ),
        ];
        if self.role == Role::Solver {
            let out = game.SOLVER_OUTPUT_ROOT().call().await.map_err(self.call_err("SOLVER_OUTPUT_ROOT"))?;
            checks.push(("output root", out.to_string(), convert::b256(&self.store.output_root()).to_string()));
        }
        if bound {
            let slots = game.SLOTS().call().await.map_err(self.call_err("SLOTS"))?;
            let ops = game.OPS().call().await.map_err(self.call_err("OPS"))?;
            let h0 = game.INITIAL_MEMORY().call().await.map_err(self.call_err("INITIAL_MEMORY"))?;
            let tree = game.OP_TREE().call().await.map_err(self.call_err("OP_TREE"))?;
            let store_slots = self.store.program().slots.len().to_string();
            let store_h0 = convert::b256(&self.store.checkpoint_roots()[0]).to_string();
            let table = self.op_table()?;
            let (store_ops, store_tree) = (table.len().to_string(), convert::b256(&table.root()).to_string());
            checks.push(("slots", slots.to_string(), store_slots));
            checks.push(("ops per step", ops.to_string(), store_ops));
            checks.push(("initial memory", h0.to_string(), store_h0));
            checks.push(("op tree", tree.to_string(), store_tree));
        }
        if let Some((what, on_chain, in_store)) = checks.into_iter().find(|(_, a, b)| a != b) {
            return Err(Error::WrongTrace { game: self.game, what, on_chain, in_store });
        }
        let c = Commitments { bound };
        self.commitments = Some(c.clone());
        Ok(c)
    }

    /// Sends one move and reports it.
    async fn send(&self, phase: Phase, action: Move, tx: TransactionRequest) -> Result<GameStatus> {
        let what = format!("{} {action} in game {}", self.role, self.game);
        let receipt = self.client.send(&what, tx).await?;
        tracing::info!(game = %self.game, role = %self.role, %phase, %action, gas = receipt.gas_used, "moved");
        Ok(GameStatus::Moved { phase, action, tx_hash: receipt.transaction_hash, gas_used: receipt.gas_used })
    }
}

/// What [`GameDriver::check_commitments`] learnt (immutables of the game).
#[derive(Clone, Debug)]
struct Commitments {
    /// Whether the job has a program commitment.
    bound: bool,
}

/// A root that is not the one given (what the adversarial strategies reveal).
fn forged(root: &Hash32) -> Hash32 {
    let mut r = *root;
    r.0[31] ^= 1;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon runs drivers on a multi-threaded runtime: the driver and its poll future
    /// must be `Send`.
    #[test]
    fn drivers_and_polls_are_send() {
        fn send<T: Send>(_: &T) {}
        fn driver_is_send(d: &mut GameDriver) {
            send(d);
            send(&d.poll());
        }
        let _ = driver_is_send;
    }
}
