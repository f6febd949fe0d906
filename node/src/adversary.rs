//! Adversaries for tests of the protocol: solvers and watchtowers that cheat in one way
//! each. Only reachable through an explicit flag (`--adversary`, hidden) that no default
//! configuration sets; each of them loses against an honest opponent.

use alloy::primitives::B256;
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
    /// Solver: an honest trace, but a wrong output root submitted with it (so its trace
    /// root is the watchtower's). Its own driver refuses to defend a store whose `h_N` is
    /// not the committed output root, so it never moves and loses on time; the game would
    /// refuse its last step anyway (`StepCommit` binds the output root to the trace).
    WrongOutputRoot,
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
    pub const ALL: [(&'static str, Adversary); 8] = [
        ("wrong-op", Adversary::WrongOp),
        ("wrong-output", Adversary::WrongOutput),
        ("wrong-output-root", Adversary::WrongOutputRoot),
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
            Adversary::WrongOp | Adversary::WrongOutput | Adversary::WrongOutputRoot | Adversary::DisputeHonest => {
                Strategy::Honest
            }
        }
    }

    /// The fault in its trace, if its trace is wrong: an SGD update of a weight (so the
    /// error persists to the output) in the middle step, or in the last step for
    /// [`Adversary::WrongOutput`]; none for [`Adversary::WrongOutputRoot`].
    pub fn tamper(self, program: &Program) -> Option<Tamper> {
        let sgd: Vec<usize> =
            program.ops.iter().enumerate().filter(|(_, op)| matches!(op, Op::Sgd { .. })).map(|(i, _)| i).collect();
        let (step, op) = match self {
            Adversary::WrongOutputRoot => return None,
            Adversary::WrongOutput => (program.steps - 1, sgd.last().copied().unwrap_or(program.ops.len() - 1)),
            _ => (program.steps / 2, sgd.first().copied().unwrap_or(0)),
        };
        Some(Tamper { step, op: op as u32, element: 0, delta: 1 })
    }

    /// The output root it submits for a run whose output root is `output_root`: another
    /// one for [`Adversary::WrongOutputRoot`], else the run's.
    pub fn submitted_output_root(self, output_root: B256) -> B256 {
        match self {
            Adversary::WrongOutputRoot => {
                let mut r = output_root;
                r.0[31] ^= 1;
                r
            }
            _ => output_root,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_wrong_output_root_keeps_an_honest_trace() {
        for (name, a) in Adversary::ALL {
            assert_eq!(Adversary::parse(name), Some(a));
            assert_eq!(a.name(), name);
        }
        let root = B256::repeat_byte(7);
        let a = Adversary::WrongOutputRoot;
        assert!(a.is_solver());
        assert_eq!(a.strategy(), Strategy::Honest);
        assert_ne!(a.submitted_output_root(root), root);
        assert_eq!(Adversary::WrongOutput.submitted_output_root(root), root);
    }
}
