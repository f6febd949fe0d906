//! Adversaries for tests of the protocol: solvers and watchtowers that cheat in one way
//! each. Only reachable through an explicit flag (`--adversary`, hidden) that no default
//! configuration sets; each of them loses against an honest opponent.

use gavel_dispute::Strategy;
use gavel_executor::{Op, Program};
use gavel_prover::Tamper;

/// One way of cheating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Adversary {
    /// Solver: a wrong value at one operator of one step (mid-run), defended honestly
    /// from the wrong trace.
    WrongOp,
    /// Solver: a wrong value in the last step only, so only the final output is wrong.
    WrongOutput,
    /// Solver: a wrong trace, then a revealed root that is not the one it committed to.
    LieInBisection,
    /// Solver: a wrong trace, then inconsistent answers (a slot root other than its own
    /// post-state's).
    Equivocate,
    /// Solver: a wrong trace, then no move at all until its clock runs out.
    Stall,
    /// Watchtower: disputes an honest result with a wrong trace of its own.
    DisputeHonest,
    /// Watchtower: disputes an honest result, then never moves.
    WatchStall,
}

impl Adversary {
    /// All of them, with their flag names.
    pub const ALL: [(&'static str, Adversary); 7] = [
        ("wrong-op", Adversary::WrongOp),
        ("wrong-output", Adversary::WrongOutput),
        ("lie-in-bisection", Adversary::LieInBisection),
        ("equivocate", Adversary::Equivocate),
        ("stall", Adversary::Stall),
        ("dispute-honest", Adversary::DisputeHonest),
        ("watch-stall", Adversary::WatchStall),
    ];

    /// Parses a flag value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, a)| *a)
    }

    /// Its flag name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, a)| *a == self).map(|(n, _)| *n).expect("listed")
    }

    /// Whether a solver plays it (else a watchtower).
    pub fn is_solver(self) -> bool {
        !matches!(self, Adversary::DisputeHonest | Adversary::WatchStall)
    }

    /// How it plays the game.
    pub fn strategy(self) -> Strategy {
        match self {
            Adversary::LieInBisection => Strategy::LieInBisection,
            Adversary::Equivocate => Strategy::Equivocate,
            Adversary::Stall | Adversary::WatchStall => Strategy::Stall,
            Adversary::WrongOp | Adversary::WrongOutput | Adversary::DisputeHonest => Strategy::Honest,
        }
    }

    /// The fault in its trace: an SGD update of a weight (so the error persists to the
    /// output) in the middle step, or in the last step for [`Adversary::WrongOutput`].
    pub fn tamper(self, program: &Program) -> Tamper {
        let sgd: Vec<usize> =
            program.ops.iter().enumerate().filter(|(_, op)| matches!(op, Op::Sgd { .. })).map(|(i, _)| i).collect();
        let (step, op) = match self {
            Adversary::WrongOutput => (program.steps - 1, sgd.last().copied().unwrap_or(program.ops.len() - 1)),
            _ => (program.steps / 2, sgd.first().copied().unwrap_or(0)),
        };
        Tamper { step, op: op as u32, element: 0, delta: 1 }
    }
}
