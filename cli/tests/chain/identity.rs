//! `gavel identity`: register, show, stake, unstake, withdraw, leaderboard.

use super::{DEV_KEYS, Env, code, stderr};

const ETH: u128 = 1_000_000_000_000_000_000;

#[test]
fn a_device_lives_through_register_stake_unstake_and_withdraw() {
    let env = Env::with_chain();
    env.deploy();
    let registry = env.address("DeviceRegistry");
    let d = env.json_as(
        Some(1),
        &["identity", "register", "--name", "rig-1", "--backend", "cpu", "--hardware", "epyc", "--stake", "1eth"],
    );
    assert_eq!(d["device"], 1);
    assert_eq!(d["owner"], DEV_KEYS[1].1);
    assert_eq!(d["bonded_wei"], ETH.to_string());
    // cast reads the same state.
    assert_eq!(env.cast(&["call", &registry, "ownerOf(uint64)(address)", "1"]), DEV_KEYS[1].1);
    assert_eq!(env.cast(&["call", &registry, "deviceCount()(uint64)"]), "1");
    let d = env.json_as(Some(1), &["identity", "stake", "1", "0.5eth"]);
    assert_eq!(d["bonded_wei"], (ETH * 3 / 2).to_string());
    let stake = env.cast(&["call", &registry, "stakeOf(uint64)((uint128,uint128,uint128,uint64))", "1"]);
    assert!(stake.starts_with("(1500000000000000000 [1.5e18], 0, 0, 0)"), "{stake}");
    let d = env.json_as(Some(1), &["identity", "unstake", "1", "0.5eth"]);
    assert_eq!(d["unbonding_wei"], (ETH / 2).to_string());
    assert!(d["unbonding_ready_at"].as_u64().unwrap() > 0);
    // Too early: the revert comes back decoded, with its parameters.
    let err = env.fails_as(1, 4, &["identity", "withdraw", "1"]);
    assert!(
        err.contains("withdrawStake reverted") && err.contains("UnbondingNotReady: device = 1, readyAt = "),
        "{err}"
    );
    env.warp(7 * 24 * 3600 + 1);
    let before: u128 = env.cast(&["balance", DEV_KEYS[1].1]).parse().unwrap();
    let w = env.json_as(Some(1), &["identity", "withdraw", "1"]);
    assert_eq!(w["withdrawn_wei"], (ETH / 2).to_string());
    let after: u128 = env.cast(&["balance", DEV_KEYS[1].1]).parse().unwrap();
    assert!(after > before + ETH / 2 - ETH / 100, "the stake came back (less gas): {before} -> {after}");
    // Show: by id, and the key's own devices; text mode too.
    let shown = env.json_as(None, &["identity", "show", "1"]);
    assert_eq!(shown["name"], "rig-1");
    assert_eq!(shown["hardware"], "epyc");
    let mine = env.json_as(Some(1), &["identity", "show"]);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let none = env.json_as(Some(2), &["identity", "show"]);
    assert!(none.as_array().unwrap().is_empty());
    let text = env.run(&["identity", "show", "1"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("device 1 \"rig-1\""));
    let err = env.fails_as(0, 2, &["identity", "show", "9"]);
    assert!(err.contains("no device 9"), "{err}");
}

#[test]
fn stake_rules_are_enforced_with_plain_messages() {
    let env = Env::with_chain();
    env.deploy();
    let err = env.fails_as(1, 4, &["identity", "register", "--name", "cheap", "--stake", "0.5eth"]);
    assert!(err.contains("register reverted"), "{err}");
    assert!(err.contains("StakeBelowMinimum: amount = 500000000000000000, minimum = 1000000000000000000"), "{err}");
    let id = env.register(1, "rig", "1eth");
    // Unbonding below the minimum, or more than is free.
    let err = env.fails_as(1, 4, &["identity", "unstake", &id.to_string(), "0.5eth"]);
    assert!(err.contains("RemainingStakeBelowMinimum") || err.contains("InsufficientFreeStake"), "{err}");
    // Someone else's device.
    let err = env.fails_as(2, 4, &["identity", "unstake", &id.to_string(), "1wei"]);
    assert!(err.contains("NotDeviceOwner"), "{err}");
    // No ether for the stake.
    let poor = "0x0000000000000000000000000000000000000000000000000000000000000042";
    let out = env
        .cmd(&["identity", "register", "--name", "poor", "--stake", "1eth"])
        .env("GAVEL_PRIVATE_KEY", poor)
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("too little ether"), "{}", stderr(&out));
    // Bad amounts are usage errors.
    let err = env.fails_as(1, 2, &["identity", "stake", "1", "lots"]);
    assert!(err.contains("not an amount"), "{err}");
}

#[test]
fn the_leaderboard_ranks_devices() {
    let env = Env::with_chain();
    // A chain with no deployments says how to deploy.
    let err = env.fails_as(0, 2, &["identity", "leaderboard"]);
    assert!(err.contains("gavel chain"), "{err}");
    env.deploy();
    let empty = env.run(&["identity", "leaderboard"]);
    assert!(String::from_utf8_lossy(&empty.stdout).contains("no devices"), "{}", stderr(&empty));
    env.register(1, "alpha", "1eth");
    env.register(2, "beta", "2eth");
    let board = env.json_as(None, &["identity", "leaderboard"]);
    let names: Vec<&str> = board.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "beta"], "ties go to the older device");
    let text = env.run(&["identity", "leaderboard", "--limit", "1"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("RANK") && text.contains("alpha") && !text.contains("beta"), "{text}");
}
