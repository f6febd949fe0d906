//! What jobs a solver takes and what results a watchtower re-executes.

use alloy::primitives::{Address, U256, keccak256};
use serde::{Deserialize, Serialize};

/// A solver's rules for claiming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolverPolicy {
    /// Largest job (program steps) to claim.
    pub max_steps: u64,
    /// Least reward per step, in wei.
    pub min_reward_per_step: U256,
    /// Most collateral locked at once over all claimed jobs, in wei (also bounded by the
    /// device's free stake).
    pub collateral_budget: U256,
    /// Most jobs claimed and not yet submitted at once.
    pub max_concurrent: u32,
}

impl Default for SolverPolicy {
    fn default() -> Self {
        Self { max_steps: 1_000_000, min_reward_per_step: U256::ZERO, collateral_budget: U256::MAX, max_concurrent: 1 }
    }
}

impl SolverPolicy {
    /// Why a job with these terms is declined, or `None` to take it. `locked` is the
    /// collateral already held by this node's jobs; `free` the device's free stake.
    pub fn decline(&self, steps: u64, reward: U256, collateral: U256, locked: U256, free: U256) -> Option<String> {
        if steps > self.max_steps {
            return Some(format!("{steps} steps is over the policy's max_steps {}", self.max_steps));
        }
        let per_step = reward / U256::from(steps.max(1));
        if per_step < self.min_reward_per_step {
            return Some(format!(
                "reward {reward} wei is {per_step} wei per step, under the policy's {}",
                self.min_reward_per_step
            ));
        }
        if locked.saturating_add(collateral) > self.collateral_budget {
            return Some(format!(
                "collateral {collateral} wei with {locked} wei already locked is over the budget of {} wei",
                self.collateral_budget
            ));
        }
        if collateral > free {
            return Some(format!("collateral {collateral} wei is more than the device's free stake {free} wei"));
        }
        None
    }
}

/// A watchtower's rules for re-executing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchPolicy {
    /// Share of submitted results to re-execute, `0.0..=1.0` (1: all).
    pub sample: f64,
    /// Largest job (program steps) to re-execute.
    pub max_steps: u64,
}

impl Default for WatchPolicy {
    fn default() -> Self {
        Self { sample: 1.0, max_steps: 1_000_000 }
    }
}

impl WatchPolicy {
    /// Whether this watchtower (`me`) re-executes job `job`. The draw is a hash of the
    /// job and the watchtower's address: fixed across restarts, different between
    /// watchtowers, and unpredictable to a solver before it submits.
    pub fn sampled(&self, job: u64, me: Address) -> bool {
        if self.sample >= 1.0 {
            return true;
        }
        if self.sample <= 0.0 {
            return false;
        }
        let mut seed = [0u8; 28];
        seed[..8].copy_from_slice(&job.to_be_bytes());
        seed[8..].copy_from_slice(me.as_slice());
        let h = keccak256(seed);
        let draw = u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) as f64 / u64::MAX as f64;
        draw < self.sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_solver_policy_names_why_it_declines() {
        let p = SolverPolicy {
            max_steps: 100,
            min_reward_per_step: U256::from(10),
            collateral_budget: U256::from(1000),
            max_concurrent: 1,
        };
        let ok = p.decline(100, U256::from(1000), U256::from(500), U256::ZERO, U256::from(600));
        assert_eq!(ok, None);
        assert!(p.decline(101, U256::from(5000), U256::ONE, U256::ZERO, U256::MAX).unwrap().contains("max_steps"));
        assert!(p.decline(100, U256::from(999), U256::ONE, U256::ZERO, U256::MAX).unwrap().contains("per step"));
        let over = p.decline(10, U256::from(1000), U256::from(600), U256::from(500), U256::MAX).unwrap();
        assert!(over.contains("budget"), "{over}");
        assert!(
            p.decline(10, U256::from(1000), U256::from(600), U256::ZERO, U256::from(599)).unwrap().contains("free")
        );
    }

    #[test]
    fn sampling_is_a_fixed_fraction() {
        let me = Address::repeat_byte(7);
        let p = WatchPolicy { sample: 0.25, ..WatchPolicy::default() };
        let taken = (0..4000).filter(|&j| p.sampled(j, me)).count();
        assert!((800..1200).contains(&taken), "{taken}");
        assert_eq!(p.sampled(17, me), p.sampled(17, me));
        assert!(WatchPolicy::default().sampled(1, me));
        assert!(!WatchPolicy { sample: 0.0, ..WatchPolicy::default() }.sampled(1, me));
    }
}
