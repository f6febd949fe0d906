//! Each adversary against honest counterparts, end to end: the honest side wins, the
//! loser is slashed, and every balance is what `docs/contracts.md` ("Amounts and shares")
//! says.

use super::*;

const C: u128 = 200_000_000_000_000_000; // collateral and bond, 0.2 ETH
const REWARD: u128 = 1_000_000_000_000_000_000;

pub(crate) struct Played {
    pub(crate) env: Env,
    pub(crate) solver: Daemon,
    pub(crate) watcher: Daemon,
    pub(crate) solver_device: u64,
    pub(crate) watcher_device: u64,
    /// The watchtower's account balance before its daemon started, wei (where measured).
    pub(crate) watcher_balance: Option<u128>,
}

/// Posts a 20-step job, runs a solver and a watchtower (either may cheat) until the
/// dispute the watchtower opens has ended. `stalls`: a party waits out its clock, so the
/// chain's clock is moved forward while the game runs.
fn play(solver_adversary: Option<&str>, watcher_adversary: Option<&str>, stalls: bool) -> Played {
    let env = Env::new();
    let spec = env.spec(20);
    let serve = env.serve(&spec);
    let solver_port = free_port();
    let solver_device = env.register(SOLVER, "rig", &format!("http://127.0.0.1:{solver_port}"));
    let watcher_device = env.register(WATCHER, "tower", "");
    env.json_as(SUBMITTER, &["job", "post", spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.2eth"]);
    let mut sargs = vec!["--source", serve.url().leak() as &str];
    if let Some(a) = solver_adversary {
        sargs.extend_from_slice(&["--adversary", a]);
    }
    let solver = env.solver(solver_port, &env.home().join("solver"), &sargs);
    let mut wargs = vec![];
    if let Some(a) = watcher_adversary {
        wargs.extend_from_slice(&["--adversary", a]);
    }
    let watcher_balance = Some(balance(&env, WATCHER));
    let watcher = env.watcher(free_port(), &env.home().join("watcher"), &wargs);
    wait_state(&env, 1, "submitted", &[&solver]);
    wait_for("the dispute", Duration::from_secs(180), &[&solver, &watcher], || {
        let list = env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]);
        (!list.as_array().unwrap().is_empty()).then_some(())
    });
    finish(&env, stalls, &[&solver, &watcher]);
    Played { env, solver, watcher, solver_device, watcher_device, watcher_balance }
}

pub(crate) fn balance(env: &Env, dev: usize) -> u128 {
    env.cast(&["balance", DEV_KEYS[dev].1]).parse().unwrap()
}

/// Waits for game 1 to end; with `stalls`, moves the chain's clock a minute at a time
/// (the honest side answers within a poll, the staller's clock runs out).
pub(crate) fn finish(env: &Env, stalls: bool, daemons: &[&Daemon]) {
    let start = Instant::now();
    loop {
        let game = env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]);
        if game[0]["state"] != "open" {
            return;
        }
        if start.elapsed() > Duration::from_secs(240) {
            let logs: Vec<String> = daemons.iter().map(|d| d.log_text()).collect();
            panic!("game 1 still open: {game}\n{}", logs.join("\n-----\n"));
        }
        if stalls {
            env.warp(60);
            std::thread::sleep(Duration::from_millis(1500));
        } else {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// The solver lied and lost: rejected, slashed, and the watchtower paid its bond back
/// plus half the collateral.
pub(crate) fn assert_solver_lost(p: &Played) {
    let env = &p.env;
    wait_state(env, 1, "rejected", &[&p.solver, &p.watcher]);
    let bond_back_and_share = (C + C / 2).to_string();
    wait_for("the watchtower's withdrawal", Duration::from_secs(180), &[&p.solver, &p.watcher], || {
        node_status(&p.watcher).filter(|s| s["withdrawn_wei"] == bond_back_and_share.as_str())
    });
    assert_eq!(env.market_credit(WATCHER), "0");
    assert_eq!(env.registry_credit(WATCHER), "0");
    // The submitter: the reward back and the other half of the collateral.
    assert_eq!(env.market_credit(SUBMITTER), REWARD.to_string());
    assert_eq!(env.registry_credit(SUBMITTER), (C - C / 2).to_string());
    assert_eq!(env.stake(p.solver_device), ((REWARD - C).to_string(), "0".into()));
    assert_eq!(env.reputation(p.solver_device), (0, 0, 1, C.to_string()));
    assert_eq!(env.reputation(p.watcher_device), (0, 1, 0, "0".into()));
    let status = node_status(&p.watcher).unwrap();
    assert_eq!(status["games_won"], 1);
    assert_eq!(status["bonds_wei"], C.to_string());
    let solver_status = node_status(&p.solver).unwrap();
    assert_eq!(solver_status["games_lost"], 1);
}

/// The watchtower lied and lost: the result stands and is finalized; the solver gets the
/// reward and half the bond, the submitter the other half.
fn assert_watcher_lost(p: &Played) {
    let env = &p.env;
    let game = env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]);
    assert_eq!(game[0]["state"], "solver won", "{game}");
    env.warp(3601);
    wait_state(env, 1, "finalized", &[&p.solver, &p.watcher]);
    let paid = (REWARD + C / 2).to_string();
    wait_for("the solver's withdrawal", Duration::from_secs(180), &[&p.solver, &p.watcher], || {
        node_status(&p.solver).filter(|s| s["withdrawn_wei"] == paid.as_str())
    });
    assert_eq!(env.market_credit(SUBMITTER), (C - C / 2).to_string());
    assert_eq!(env.stake(p.solver_device), (REWARD.to_string(), "0".into()));
    assert_eq!(env.reputation(p.solver_device), (1, 1, 0, "0".into()));
    assert_eq!(env.reputation(p.watcher_device), (0, 0, 1, "0".into()));
    assert_eq!(node_status(&p.watcher).unwrap()["games_lost"], 1);
    assert_eq!(env.cast(&["balance", &env.address("JobMarket")]), (C - C / 2).to_string());
}

#[test]
fn a_solver_with_a_wrong_op_is_disputed_and_slashed() {
    let p = play(Some("wrong-op"), None, false);
    assert_solver_lost(&p);
    drop(p.watcher);
    let report =
        p.env.json_as(WATCHER, &["watch", "--report", "--data", p.env.home().join("watcher").to_str().unwrap()]);
    assert_eq!(report["disputes_won"], 1);
    // Net of gas (the challenge, the moves, the withdrawal): what the account gained.
    let gas: u128 = report["gas_wei"].as_str().unwrap().parse().unwrap();
    assert!(gas > 0, "{report}");
    assert_eq!(report["net_wei"], (C as i128 / 2 - gas as i128).to_string());
    let gained = balance(&p.env, WATCHER) as i128 - p.watcher_balance.unwrap() as i128;
    assert_eq!(report["net_wei"], gained.to_string());
    // The submitter takes both credits in one command: the reward back from the market,
    // its share of the slashed collateral from the registry.
    let w = p.env.json_as(SUBMITTER, &["job", "withdraw"]);
    assert_eq!(w["market_wei"], REWARD.to_string());
    assert_eq!(w["registry_wei"], (C - C / 2).to_string());
    assert_eq!(w["withdrawn_wei"], (REWARD + C - C / 2).to_string());
    assert_eq!((p.env.market_credit(SUBMITTER), p.env.registry_credit(SUBMITTER)), ("0".into(), "0".into()));
    let again = p.env.run_as(SUBMITTER, &["job", "withdraw"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no credit to withdraw"), "{again:?}");
}

#[test]
fn a_solver_with_a_wrong_final_output_is_disputed_and_slashed() {
    assert_solver_lost(&play(Some("wrong-output"), None, false));
}

#[test]
fn a_solver_with_an_honest_trace_and_a_wrong_output_root_is_disputed_and_slashed() {
    let p = play(Some("wrong-output-root"), None, true);
    assert_solver_lost(&p);
    // The watchtower challenged with the solver's own trace root; the solver could not
    // open h_N as its output root and lost on time.
    let show = p.env.json_as(SUBMITTER, &["dispute", "show", "1"]);
    assert_eq!((show["outcome"].as_str(), show["solver_won"].as_bool()), (Some("timeout"), Some(false)), "{show}");
    let game = show["address"].as_str().unwrap();
    let root = |f: &str| p.env.cast(&["call", game, &format!("{f}()(bytes32)")]);
    assert_eq!(root("CHALLENGER_TRACE_ROOT"), root("SOLVER_TRACE_ROOT"));
    let job = p.env.json_as(SUBMITTER, &["job", "show", "1"]);
    assert_eq!(job["trace_root"].as_str(), Some(root("SOLVER_TRACE_ROOT").as_str()), "{job}");
    assert_eq!(job["output_root"].as_str(), Some(root("SOLVER_OUTPUT_ROOT").as_str()), "{job}");
}

#[test]
fn a_solver_that_lies_in_the_bisection_loses_on_time() {
    assert_solver_lost(&play(Some("lie-in-bisection"), None, true));
}

#[test]
fn an_equivocating_solver_loses_on_time() {
    assert_solver_lost(&play(Some("equivocate"), None, true));
}

#[test]
fn a_stalling_solver_loses_on_time() {
    assert_solver_lost(&play(Some("stall"), None, true));
}

#[test]
fn a_watchtower_that_disputes_an_honest_result_loses_its_bond() {
    assert_watcher_lost(&play(None, Some("dispute-honest"), false));
}

#[test]
fn a_stalling_watchtower_loses_its_bond() {
    assert_watcher_lost(&play(None, Some("watch-stall"), true));
}
