//! A small devnet, end to end: the same command `scripts/devnet` runs.

use super::*;

#[test]
fn a_small_devnet_settles_every_job_and_catches_every_cheat() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let (out, r) = gavel_json(&[
        "devnet",
        "run",
        "--solvers",
        "3",
        "--watchers",
        "2",
        "--cheaters",
        "0.34",
        "--jobs",
        "6",
        "--steps",
        "12",
        "--poll-ms",
        "250",
        "--window",
        "30s",
        "--max-duration",
        "8m",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(r["ok"], true, "{}", shown(&out));
    assert_eq!(r["cheaters"], 1);
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 5);
    assert!(checks.iter().all(|c| c["ok"] == true), "{}", shown(&out));
    assert_eq!(r["figures"]["jobs_settled"], 6);

    let nodes = r["nodes"].as_array().unwrap();
    let solvers: Vec<&serde_json::Value> = nodes.iter().filter(|n| n["role"] == "solver").collect();
    let towers: Vec<&serde_json::Value> = nodes.iter().filter(|n| n["role"] == "watchtower").collect();
    assert_eq!((solvers.len(), towers.len()), (3, 2));
    let claimed: u64 = solvers.iter().map(|n| n["jobs_claimed"].as_u64().unwrap()).sum();
    assert_eq!(claimed, 6);
    let c: i128 = 100_000_000_000_000_000; // the default collateral, 0.1 ETH
    let reward = c;
    let mut rejected = 0;
    for n in &solvers {
        let (fin, rej) = (n["jobs_finalized"].as_u64().unwrap(), n["jobs_rejected"].as_u64().unwrap());
        if n["adversary"].is_null() {
            // An honest solver: every job paid, nothing slashed.
            assert_eq!(rej, 0, "{n}");
            assert_eq!(wei(&n["credited_wei"]), reward * fin as i128, "{n}");
            assert_eq!(wei(&n["slashed_wei"]), 0, "{n}");
        } else {
            // The cheater: every job rejected, the collateral of each slashed, nothing paid.
            assert_eq!(fin, 0, "{n}");
            assert_eq!(wei(&n["slashed_wei"]), c * rej as i128, "{n}");
            assert_eq!(wei(&n["credited_wei"]), 0, "{n}");
            rejected += rej;
        }
    }
    // Each rejected result was won by exactly one watchtower game; later games on it
    // were moot (their bonds returned), and no watchtower lost one.
    let won: u64 = towers.iter().map(|n| n["games_won"].as_u64().unwrap()).sum();
    let lost: u64 = towers.iter().map(|n| n["games_lost"].as_u64().unwrap()).sum();
    assert_eq!((won, lost), (rejected, 0));
    for n in &towers {
        let (w, m) = (n["games_won"].as_u64().unwrap() as i128, n["games_moot"].as_u64().unwrap() as i128);
        assert_eq!(wei(&n["credited_wei"]), w * (c + c / 2) + m * c, "{n}");
        assert_eq!(wei(&n["paid_in_wei"]), (w + m) * c, "{n}");
    }
    assert_all_stopped(&dir);
}
