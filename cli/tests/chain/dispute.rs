//! `gavel job challenge` and `gavel dispute list/show`.

use super::{
    DEV_KEYS, Env,
    job::{OUTPUT, TRACE, spec},
};

const OTHER: &str = "0x3333333333333333333333333333333333333333333333333333333333333333";

#[test]
fn a_challenge_opens_a_game_that_dispute_list_and_show_follow() {
    let env = Env::with_chain();
    env.deploy();
    let spec = spec(env.home());
    env.json_as(Some(0), &["job", "post", spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.5eth"]);
    let solver = env.register(1, "solver", "1eth");
    let watcher = env.register(2, "watcher", "1eth");
    // Not challengeable while open.
    let err = env.fails_as(2, 4, &["job", "challenge", "1", "--trace-root", OTHER]);
    assert!(err.contains("UnexpectedJobState: job = 1, state = Open, expected = Submitted"), "{err}");
    env.json_as(Some(1), &["job", "claim", "1", "--device", &solver.to_string()]);
    env.json_as(Some(1), &["job", "submit", "1", "--trace-root", TRACE, "--output-root", OUTPUT]);
    assert!(env.json_as(None, &["dispute", "list"]).as_array().unwrap().is_empty());
    let opened =
        env.json_as(Some(2), &["job", "challenge", "1", "--trace-root", OTHER, "--device", &watcher.to_string()]);
    assert_eq!(opened["game"], 1);
    assert_eq!(opened["bond_wei"], "500000000000000000");
    let list = env.json_as(None, &["dispute", "list", "--job", "1"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "open");
    assert_eq!(list[0]["challenger"], DEV_KEYS[2].1);
    assert_eq!(list[0]["address"], opened["game_address"]);
    let game = opened["game_address"].as_str().unwrap();
    // cast agrees on the game's parties and clock.
    assert_eq!(env.cast(&["call", game, "SOLVER()(address)"]), DEV_KEYS[1].1);
    let show = env.json_as(None, &["dispute", "show", "1"]);
    assert_eq!(show["phase"], "checkpoints");
    assert_eq!(show["solver"], DEV_KEYS[1].1);
    assert_eq!(show["clocks"][0]["party"], "solver");
    let cast_clock = env.cast(&["call", game, "clockLeft(uint8)(uint256)", "0"]);
    assert!(cast_clock.starts_with(show["clocks"][0]["seconds_left"].as_str().unwrap()), "{cast_clock} vs {show}");
    let text = env.run(&["dispute", "show", "1"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("game 1 on job 1 (open)") && text.contains("clocks"), "{text}");
    let err = env.fails_as(0, 2, &["dispute", "show", "7"]);
    assert!(err.contains("no dispute game 7"), "{err}");
    // The job cannot be finalized while the dispute is open.
    env.warp(3601);
    let err = env.fails_as(0, 4, &["job", "finalize", "1"]);
    assert!(err.contains("DisputesOpen: job = 1, open = 1"), "{err}");
}
