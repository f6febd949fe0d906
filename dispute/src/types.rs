//! The values a game reports: roles, phases, outcomes, moves, statuses and strategies.

use std::fmt;

use alloy::primitives::B256;

/// Which side of a game this party plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The device that submitted the result (its trace root is the market's).
    Solver,
    /// The watchtower that challenged it with its own trace root.
    Challenger,
}

impl Role {
    /// The party number the contract uses (`Party`: 0 solver, 1 challenger).
    pub fn party(self) -> u8 {
        match self {
            Role::Solver => 0,
            Role::Challenger => 1,
        }
    }

    /// The other side.
    pub fn other(self) -> Role {
        match self {
            Role::Solver => Role::Challenger,
            Role::Challenger => Role::Solver,
        }
    }

    /// `"solver"` or `"challenger"`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Solver => "solver",
            Role::Challenger => "challenger",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a game is (the contract's `Phase`, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Bisection over the checkpoints `h_0..h_N`.
    Checkpoints,
    /// Both commit the op-level roots of the disputed step.
    StepCommit,
    /// Bisection over the op-level roots `M_{i,0..K}`.
    Ops,
    /// Both reveal the chunk tree root of the slot the disputed op writes.
    Slot,
    /// Down the written slot's chunk tree to one chunk.
    Descent,
    /// Both publish the bytes of the disputed chunk (not for element-wise operators).
    ChunkReveal,
    /// The chunk, or one element of it, is recomputed on chain (anyone may send it).
    Replay,
    /// The game ended.
    Resolved,
}

impl Phase {
    /// The phase numbered `n` by the contract.
    pub fn from_u8(n: u8) -> Option<Self> {
        use Phase::*;
        [Checkpoints, StepCommit, Ops, Slot, Descent, ChunkReveal, Replay, Resolved].get(n as usize).copied()
    }

    /// A lower-case name (`"step commit"`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Checkpoints => "checkpoints",
            Phase::StepCommit => "step commit",
            Phase::Ops => "ops",
            Phase::Slot => "slot",
            Phase::Descent => "descent",
            Phase::ChunkReveal => "chunk reveal",
            Phase::Replay => "replay",
            Phase::Resolved => "resolved",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a game ended (the contract's `Outcome`, without `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The disputed chunk or element was recomputed on chain.
    Replayed,
    /// A party had a non-zero leaf in the padding of the output's chunk tree.
    Padding,
    /// Both committed the same `h_N`: nothing the solver committed is disputed.
    NoDisagreement,
    /// A party that owed a move ran out of time.
    Timeout,
    /// The job has no program commitment, so the result cannot stand.
    Unbound,
}

impl Outcome {
    /// The outcome numbered `n` by the contract (`None` for 0, "not ended").
    pub fn from_u8(n: u8) -> Option<Self> {
        use Outcome::*;
        [Replayed, Padding, NoDisagreement, Timeout, Unbound].get((n as usize).checked_sub(1)?).copied()
    }

    /// A lower-case name (`"no disagreement"`).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Replayed => "replayed",
            Outcome::Padding => "padding",
            Outcome::NoDisagreement => "no disagreement",
            Outcome::Timeout => "timeout",
            Outcome::Unbound => "unbound",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The transaction a [`crate::GameDriver::poll`] sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Move {
    /// `revealCheckpoint(h_mid)`.
    RevealCheckpoint {
        /// The checkpoint revealed.
        step: u64,
    },
    /// `commitStep(stepRoot, M_{i,0}, M_{i,K}, h_N)`.
    CommitStep {
        /// The disputed step `i`.
        step: u64,
    },
    /// `revealOpRoot(M_{i,mid})`.
    RevealOpRoot {
        /// The op boundary revealed.
        op: u32,
    },
    /// `revealSlot(descriptor, op path, pre-state slot, data root)`.
    RevealSlot {
        /// The disputed op `j`.
        op: u32,
        /// The slot it writes.
        slot: u32,
    },
    /// `revealChildren(left, right)`.
    RevealChildren {
        /// The children's height (0: chunk leaves).
        level: u8,
    },
    /// `revealChunk(bytes)`.
    RevealChunk {
        /// The chunk index.
        chunk: u64,
    },
    /// `replay(descriptor, slots, chunks)`: the element-wise chunk replay.
    Replay {
        /// The chunk recomputed.
        chunk: u64,
    },
    /// `replayElement(descriptor, index, chunks, openings)`.
    ReplayElement {
        /// The flat output position recomputed.
        element: u64,
    },
    /// `timeout()` against a party that ran out of time.
    Timeout,
    /// `resolveUnbound()`: the job has no program commitment (the challenger wins).
    ResolveUnbound,
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Move::RevealCheckpoint { step } => write!(f, "revealCheckpoint(h_{step})"),
            Move::CommitStep { step } => write!(f, "commitStep(step {step})"),
            Move::RevealOpRoot { op } => write!(f, "revealOpRoot(M_{{i,{op}}})"),
            Move::RevealSlot { op, slot } => write!(f, "revealSlot(op {op}, slot {slot})"),
            Move::RevealChildren { level } => write!(f, "revealChildren(level {level})"),
            Move::RevealChunk { chunk } => write!(f, "revealChunk({chunk})"),
            Move::Replay { chunk } => write!(f, "replay(chunk {chunk})"),
            Move::ReplayElement { element } => write!(f, "replayElement(element {element})"),
            Move::Timeout => f.write_str("timeout()"),
            Move::ResolveUnbound => f.write_str("resolveUnbound()"),
        }
    }
}

/// What one [`crate::GameDriver::poll`] found or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GameStatus {
    /// Nothing to send now: this party moved this round (or cannot move) and the other
    /// side still has time.
    Waiting {
        /// The current phase.
        phase: Phase,
        /// Seconds left on this party's clock.
        clock_left_s: u64,
        /// Seconds left on the other party's clock (0: it ran out; a `timeout` follows
        /// on the next poll once a block past its deadline exists).
        other_clock_left_s: u64,
        /// Whether the other party owes a move in this round.
        other_owes: bool,
    },
    /// This poll sent one transaction, mined successfully.
    Moved {
        /// The phase the move was made in.
        phase: Phase,
        /// What was sent.
        action: Move,
        /// The transaction.
        tx_hash: B256,
        /// Its gas.
        gas_used: u64,
    },
    /// The game ended (nothing more will ever be sent).
    Resolved {
        /// Whether the solver's result stood.
        solver_won: bool,
        /// Why it ended.
        outcome: Outcome,
        /// Whether this party won.
        we_won: bool,
    },
}

/// How a party plays. Only [`Strategy::Honest`] is for real nodes; the others are
/// adversaries for tests, and each loses against an honest opponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Every move from the store, as the protocol asks.
    #[default]
    Honest,
    /// Never sends anything (loses on time).
    Stall,
    /// Plays honestly until the first bisection round (`Checkpoints`, or `Ops` when the
    /// trace has one step), then reveals a root that is not the one its trace root
    /// commits to, with its real path: the contract refuses it (`InvalidProof`) and the
    /// party, having no valid move that helps it, stays silent and loses on time.
    LieInBisection,
    /// Plays honestly until `Slot`, then reveals a data root for the written slot other
    /// than its own post-state's (equivocating between its step root and its slot):
    /// refused (`InvalidProof("post-state")`), then silent, loses on time.
    Equivocate,
}
