//! Crashes and outages: a daemon killed with SIGKILL mid-dispute and restarted finishes
//! its game; an RPC outage longer than a poll interval loses nothing.

use std::{
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use super::{games::*, *};

#[test]
fn both_daemons_killed_mid_dispute_resume_and_the_game_completes() {
    let env = Env::new();
    let spec = env.spec(20);
    let serve = env.serve(&spec);
    let solver_port = free_port();
    let solver_device = env.register(SOLVER, "rig", &format!("http://127.0.0.1:{solver_port}"));
    let watcher_device = env.register(WATCHER, "tower", "");
    env.json_as(SUBMITTER, &["job", "post", spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.2eth"]);
    let source = serve.url();
    let solver_args = ["--source", source.as_str(), "--adversary", "wrong-op"];
    let solver_dir = env.home().join("solver");
    let mut solver = env.solver(solver_port, &solver_dir, &solver_args);
    wait_state(&env, 1, "submitted", &[&solver]);
    // The solver dies before the challenge: the game cannot move past its first round.
    solver.kill9();
    let watcher_port = free_port();
    let watcher_dir = env.home().join("watcher");
    // The solver's endpoint is down with it: the watchtower reads the submitter's server.
    let watcher_args = ["--source", source.as_str()];
    let mut watcher = env.watcher(watcher_port, &watcher_dir, &watcher_args);
    wait_for("the dispute", Duration::from_secs(180), &[&watcher], || {
        let list = env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]);
        (!list.as_array().unwrap().is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    watcher.kill9();
    assert_eq!(env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"])[0]["state"], "open");
    // The solver comes back, plays a little, and is killed again mid-game.
    let mut solver = env.solver(solver_port, &solver_dir, &solver_args);
    std::thread::sleep(Duration::from_millis(1500));
    solver.kill9();
    let solver = env.solver(solver_port, &solver_dir, &solver_args);
    let watcher = env.watcher(watcher_port, &watcher_dir, &watcher_args);
    finish(&env, false, &[&solver, &watcher]);
    let p = Played { env, solver, watcher, solver_device, watcher_device, watcher_balance: None };
    assert_solver_lost(&p);
    assert!(p.watcher.log_text().matches("watchtower started").count() >= 2);
}

/// A loopback TCP proxy that can drop every connection and refuse new ones for a while.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = target.trim_start_matches("http://").to_owned();
        let down = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (d, o) = (down.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else { continue };
                o.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { port, down, open }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection and refuses new ones until [`Proxy::up`].
    fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[test]
fn an_rpc_outage_longer_than_a_poll_interval_loses_nothing_for_either_daemon() {
    let env = Env::new();
    let proxy = Proxy::start(&env.url);
    *env.daemon_rpc.borrow_mut() = Some(proxy.url());
    let spec = env.spec(20);
    let serve = env.serve(&spec);
    let port = free_port();
    let device = env.register(SOLVER, "rig", &format!("http://127.0.0.1:{port}"));
    let solver = env.solver(port, &env.home().join("solver"), &["--source", &serve.url()]);
    let watcher = env.watcher(free_port(), &env.home().join("watcher"), &["--source", &serve.url()]);
    let daemons = [&solver, &watcher];
    for d in daemons {
        wait_for("the daemons' first tick", Duration::from_secs(60), &daemons, || {
            node_status(d).filter(|s| s["head_block"].as_u64() > Some(0))
        });
    }
    // The chain goes away for 3 s (30 poll intervals); the job is posted meanwhile.
    proxy.down();
    env.json_as(SUBMITTER, &["job", "post", spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.2eth"]);
    for d in daemons {
        wait_for("the daemons to notice the outage", Duration::from_secs(30), &daemons, || {
            node_status(d).filter(|s| !s["last_error"].is_null())
        });
    }
    std::thread::sleep(Duration::from_secs(3));
    proxy.up();
    wait_state(&env, 1, "submitted", &daemons);
    // The watchtower re-executes the result it could not see during the outage.
    let (trace_root, _) = env.honest_roots(&spec);
    wait_agreed(&watcher, &trace_root, &daemons);
    assert_metric(&daemons, "gavel_tick_errors_total");
    env.warp(3601);
    wait_state(&env, 1, "finalized", &daemons);
    wait_for("the solver's withdrawal", Duration::from_secs(180), &daemons, || {
        node_status(&solver).filter(|s| s["withdrawn_wei"] == "1000000000000000000")
    });
    assert_paid_and_healthy(&env, device, &daemons);
}

#[test]
fn a_reorg_that_drops_a_submitted_result_is_followed_by_both_daemons() {
    let env = Env::new();
    let dropped_spec = env.spec(20);
    let serve = env.serve(&dropped_spec);
    // The job the chain will hold after the reorg: another spec, so other roots.
    let spec = env.home().join("job-12.toml");
    let text = std::fs::read_to_string(&dropped_spec).unwrap().replace("steps = 20", "steps = 12");
    std::fs::write(&spec, text).unwrap();
    let content = env.home().join("submitter-content");
    env.json_as(
        SUBMITTER,
        &["serve", "--content", content.to_str().unwrap(), "--add", spec.to_str().unwrap(), "--no-serve"],
    );
    let solver_port = free_port();
    let device = env.register(SOLVER, "rig", &format!("http://127.0.0.1:{solver_port}"));
    env.register(WATCHER, "tower", "");
    let snapshot = env.cast(&["rpc", "evm_snapshot"]).trim_matches('"').to_owned();
    let source = serve.url();
    let solver = env.solver(solver_port, &env.home().join("solver"), &reorg_args(&source, None));
    let watcher = env.watcher(free_port(), &env.home().join("watcher"), &reorg_args(&source, None));
    let daemons = [&solver, &watcher];
    env.json_as(
        SUBMITTER,
        &["job", "post", dropped_spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.2eth"],
    );
    wait_state(&env, 1, "submitted", &daemons);
    let (dropped_trace, _) = env.honest_roots(&dropped_spec);
    wait_agreed(&watcher, &dropped_trace, &daemons);
    // The reorg: the chain goes back to before the post, then grows a branch on which job 1
    // is the 12-step spec, with another reward.
    env.cast(&["rpc", "evm_revert", &snapshot]);
    env.cast(&["rpc", "anvil_mine", "3"]);
    env.json_as(SUBMITTER, &["job", "post", spec.to_str().unwrap(), "--reward", "2eth", "--collateral", "0.2eth"]);
    let (trace_root, output_root) = env.honest_roots(&spec);
    wait_for("the result on the new branch", Duration::from_secs(180), &daemons, || {
        let j = env.job(1);
        (j["state"] == "submitted" && j["trace_root"] == trace_root.as_str()).then_some(())
    });
    assert_eq!(env.job(1)["output_root"], output_root.as_str());
    wait_agreed(&watcher, &trace_root, &daemons);
    assert_metric(&daemons, "gavel_reorgs_total 1");
    env.warp(3601);
    wait_state(&env, 1, "finalized", &daemons);
    // Paid once, the new branch's reward: the dropped branch's result never counted.
    let paid = "2000000000000000000";
    wait_for("the solver's withdrawal", Duration::from_secs(180), &daemons, || {
        node_status(&solver).filter(|s| s["withdrawn_wei"] == paid)
    });
    assert!(env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]).as_array().unwrap().is_empty());
    assert_paid_and_healthy(&env, device, &daemons);
}

#[test]
fn a_reorg_that_drops_a_challenge_mid_game_is_challenged_again_and_the_cheater_still_loses() {
    challenge_dropped_by_a_reorg(false);
}

#[test]
fn a_reorg_that_drops_a_whole_game_and_its_payouts_is_played_again_and_counted_once() {
    challenge_dropped_by_a_reorg(true);
}

/// A cheating solver is challenged; a reorg then drops the challenge, mid-game or after
/// the ruling and the winner's withdrawal. The watchtower challenges again, the cheater
/// still loses, and every amount is what one game pays.
fn challenge_dropped_by_a_reorg(after_the_end: bool) {
    let env = Env::new();
    let spec = env.spec(20);
    let serve = env.serve(&spec);
    let solver_port = free_port();
    let solver_device = env.register(SOLVER, "rig", &format!("http://127.0.0.1:{solver_port}"));
    let watcher_device = env.register(WATCHER, "tower", "");
    env.json_as(SUBMITTER, &["job", "post", spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.2eth"]);
    let source = serve.url();
    let solver = env.solver(solver_port, &env.home().join("solver"), &reorg_args(&source, Some("wrong-op")));
    wait_state(&env, 1, "submitted", &[&solver]);
    let snapshot = env.cast(&["rpc", "evm_snapshot"]).trim_matches('"').to_owned();
    let watcher = env.watcher(free_port(), &env.home().join("watcher"), &reorg_args(&source, None));
    let daemons = [&solver, &watcher];
    if after_the_end {
        wait_state(&env, 1, "rejected", &daemons);
        wait_for("the watchtower's first withdrawal", Duration::from_secs(180), &daemons, || {
            node_status(&watcher).filter(|s| s["withdrawn_wei"] != "0")
        });
    } else {
        wait_for("the first game's first moves", Duration::from_secs(180), &daemons, || {
            let list = env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]);
            let moves = || env.json_as(SUBMITTER, &["dispute", "show", "1"])["moves"].as_array().map(Vec::len);
            (!list.as_array()?.is_empty() && moves()? >= 2).then_some(())
        });
    }
    // The reorg takes the challenge with it (and with `after_the_end`, the ruling, the
    // slash and the withdrawal); the result stays, open to challenges.
    env.cast(&["rpc", "evm_revert", &snapshot]);
    env.cast(&["rpc", "anvil_mine", "2"]);
    wait_for("the second challenge", Duration::from_secs(180), &daemons, || {
        let list = env.json_as(SUBMITTER, &["dispute", "list", "--job", "1"]);
        (!list.as_array().unwrap().is_empty()).then_some(())
    });
    super::games::finish(&env, false, &daemons);
    let log = watcher.log_text();
    assert!(log.contains("the challenge was dropped by a reorg"), "{log}");
    if after_the_end {
        assert!(log.contains("a reorg dropped this withdrawal"), "{log}");
    }
    let played = super::games::Played { env, solver, watcher, solver_device, watcher_device, watcher_balance: None };
    // One bond posted and paid back plus one share, however often the node saw it happen.
    super::games::assert_solver_lost(&played);
}

/// The daemons' flags in the reorg tests. A transaction in anvil's pool when it reverts
/// is gone for good (a real chain puts a reorganised-away transaction back in its pool),
/// so its receipt is waited for 10 s, not the default 120.
fn reorg_args<'a>(source: &'a str, adversary: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec!["--source", source, "--receipt-timeout", "10"];
    if let Some(a) = adversary {
        args.extend(["--adversary", a]);
    }
    args
}

/// The device completed one job with no dispute (its stake whole and free), and no daemon
/// is failing.
fn assert_paid_and_healthy(env: &Env, device: u64, daemons: &[&Daemon]) {
    assert_eq!(env.stake(device), ("1000000000000000000".into(), "0".into()));
    assert_eq!(env.reputation(device), (1, 0, 0, "0".into()));
    for d in daemons {
        assert_eq!(node_status(d).unwrap()["last_error"], serde_json::Value::Null, "{}", d.log_text());
    }
}

/// Waits until the watchtower agreed with job 1's result, having re-executed it to
/// `trace_root`.
fn wait_agreed(watcher: &Daemon, trace_root: &str, daemons: &[&Daemon]) {
    wait_for("the watchtower's verdict", Duration::from_secs(180), daemons, || {
        node_job(watcher, 1).filter(|j| j["stage"] == "agreed" && j["trace_root"] == trace_root)
    });
}

/// Every daemon's metrics contain `line`.
fn assert_metric(daemons: &[&Daemon], line: &str) {
    for d in daemons {
        let (_, metrics) = d.get("/metrics").unwrap();
        assert!(metrics.contains(line), "{metrics}");
    }
}
