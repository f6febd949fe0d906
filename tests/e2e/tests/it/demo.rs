//! The demo's story, end to end: the same command `scripts/demo` runs, on a shorter job.

use super::*;

const ETH: i128 = 1_000_000_000_000_000_000;
const REWARD: i128 = ETH;
const C: i128 = 4 * ETH / 10;

#[test]
fn the_demo_pays_the_honest_solver_and_slashes_the_cheater() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = digits_spec(tmp.path(), 40);
    let dir = tmp.path().join("demo");
    // The honest solver runs on the GPU backend: lavapipe in CI, where a missing Vulkan
    // device is a failure (GAVEL_REQUIRE_VULKAN=1); elsewhere the CPU stands in.
    let backend = if std::env::var("GAVEL_REQUIRE_VULKAN").as_deref() == Ok("1") { "gpu" } else { "auto" };
    let (out, r) = gavel_json(&[
        "devnet",
        "demo",
        "--spec",
        spec.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        "--backend",
        backend,
        "--timeout",
        "8m",
    ]);
    assert!(out.status.success(), "{}", shown(&out));
    let story = String::from_utf8_lossy(&out.stderr);
    assert_eq!(r["ok"], true, "{}", shown(&out));
    assert!(r["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{}", shown(&out));

    // The honest job: bob's result, and walter's own CPU run of it, are the same trace.
    assert_eq!(r["honest"]["state"], "finalized");
    assert_eq!(r["honest"]["solver"], "bob");
    assert_eq!(r["honest"]["trace_root"], r["honest"]["watchtower_trace_root"]);
    assert!(story.contains("bit-identity"), "{story}");
    // The cheated job: rejected after a game bisected to the tampered SGD update of step 20.
    assert_eq!(r["cheated"]["state"], "rejected");
    assert_eq!(r["cheated"]["solver"], "mallory");
    assert_ne!(r["cheated"]["trace_root"], r["honest"]["trace_root"]);
    assert_eq!(r["cheated"]["watchtower_trace_root"], r["honest"]["trace_root"]);
    assert_eq!(r["game"]["winner"], "walter");
    assert_eq!(r["game"]["outcome"], "replayed");
    assert_eq!(r["game"]["step"], 20);
    assert_eq!(r["game"]["op_name"], "sgd");
    assert!(r["game"]["moves"].as_u64().unwrap() >= 10, "{}", r["game"]);
    assert!(story.contains("game over: walter wins (replayed)"), "{story}");
    assert!(story.contains("cast rpc evm_increaseTime"), "{story}");

    // Every party's money, to the wei (docs/contracts.md, "Amounts and shares").
    let party = |name: &str| r["parties"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone();
    let (alice, bob, mallory, walter) = (party("alice"), party("bob"), party("mallory"), party("walter"));
    assert_eq!(wei(&alice["paid_in_wei"]), 2 * REWARD);
    assert_eq!(wei(&alice["credited_wei"]), REWARD + (C - C / 2));
    assert_eq!(wei(&alice["net_wei"]), -REWARD + (C - C / 2));
    assert_eq!(wei(&bob["stake_before_wei"]), 2 * ETH);
    assert_eq!(wei(&bob["stake_after_wei"]), 2 * ETH);
    assert_eq!(wei(&bob["credited_wei"]), REWARD);
    assert_eq!(wei(&bob["net_wei"]), REWARD);
    assert_eq!(wei(&mallory["stake_before_wei"]), 2 * ETH);
    assert_eq!(wei(&mallory["stake_after_wei"]), 2 * ETH - C);
    assert_eq!(wei(&mallory["credited_wei"]), 0);
    assert_eq!(wei(&mallory["net_wei"]), -C);
    assert_eq!(wei(&walter["paid_in_wei"]), C);
    assert_eq!(wei(&walter["credited_wei"]), C + C / 2);
    assert_eq!(wei(&walter["net_wei"]), C / 2);
    assert_eq!(wei(&walter["stake_after_wei"]), ETH);
    // What the daemons withdrew reached their accounts (less gas).
    let delta = |p: &serde_json::Value| wei(&p["balance_after_wei"]) - wei(&p["balance_before_wei"]);
    let gas = ETH / 100;
    assert!((REWARD - gas..=REWARD).contains(&delta(&bob)), "{bob}");
    assert!((C / 2 - gas..=C / 2).contains(&delta(&walter)), "{walter}");

    assert_all_stopped(&dir);
}
