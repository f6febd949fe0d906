//! `gavel chain events`: killed with SIGKILL and restarted, the export has every event
//! exactly once.

use std::{collections::BTreeSet, process::Stdio, time::Duration};

use super::{DEV_KEYS, Env, stderr, tool};

#[test]
fn an_export_killed_and_restarted_has_every_event_once() {
    let env = Env::with_chain();
    env.deploy();
    let registry = env.address("DeviceRegistry");
    env.register(1, "rig", "1eth");
    // 30 more events, one block each.
    for _ in 0..30 {
        let out = std::process::Command::new(tool("cast"))
            .args(["send", "--private-key", DEV_KEYS[1].0, "--rpc-url", &env.url, &registry, "addStake(uint64)", "1"])
            .args(["--value", "1000"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let file = env.home().join("events.jsonl");
    let file_arg = file.to_str().unwrap().to_owned();
    let args = ["chain", "events", "--out", &file_arg, "--max-range", "1"];
    // Kill it mid-export a few times, at different points.
    for delay_ms in [30u64, 80, 150, 250] {
        let mut child = env.cmd(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let done = env.json_as(None, &args);
    let first = done["next_block"].as_u64().unwrap();
    // Following: a new event shows up while it runs; then it is killed as well.
    let lines_now = std::fs::read_to_string(&file).unwrap().lines().count();
    let mut follower = env.cmd(&[&args[..], &["--follow"]].concat()).stdout(Stdio::null()).spawn().unwrap();
    env.json_as(Some(1), &["identity", "stake", "1", "1eth"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&file).unwrap().lines().count() == lines_now {
        assert!(std::time::Instant::now() < deadline, "the follower never wrote the new event");
        std::thread::sleep(Duration::from_millis(50));
    }
    follower.kill().unwrap();
    follower.wait().unwrap();
    // More events after that, then resume once more.
    env.json_as(Some(1), &["identity", "stake", "1", "1eth"]);
    env.json_as(None, &args);

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let keys: Vec<(u64, u64)> =
        lines.iter().map(|e| (e["block"].as_u64().unwrap(), e["log_index"].as_u64().unwrap())).collect();
    let unique: BTreeSet<_> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "no event twice");
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "in chain order");
    // cast sees the same events of our contracts.
    let mut expected = BTreeSet::new();
    let deployments: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.deployments().join("31337.json")).unwrap()).unwrap();
    for (_, c) in deployments["contracts"].as_object().unwrap() {
        let out = env.cast(&["logs", "--json", "--from-block", "0", "--address", c["address"].as_str().unwrap()]);
        for log in serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap() {
            let n = |k: &str| u64::from_str_radix(log[k].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
            expected.insert((n("blockNumber"), n("logIndex")));
        }
    }
    assert_eq!(unique, expected, "no event missing");
    let stake_added = lines.iter().filter(|e| e["event"] == "StakeAdded").count();
    assert_eq!(stake_added, 32);
    assert!(lines.iter().any(|e| e["event"] == "DeviceRegistered" && e["args"]["device"] == "1"));
    assert!(first > 30);
}
