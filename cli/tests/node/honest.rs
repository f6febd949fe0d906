//! An honest solver and an honest watchtower: the job is claimed, run, submitted,
//! re-executed and agreed with, finalized after its window, and the reward withdrawn.

use super::*;

#[test]
fn an_honest_solver_is_paid_and_an_honest_watchtower_agrees() {
    let env = Env::new();
    let spec = env.spec(20);
    let serve = env.serve(&spec);
    let solver_port = free_port();
    let device = env.register(SOLVER, "rig-1", &format!("http://127.0.0.1:{solver_port}"));
    let posted =
        env.json_as(SUBMITTER, &["job", "post", spec.to_str().unwrap(), "--reward", "1eth", "--collateral", "0.2eth"]);
    assert_eq!(posted["job"], 1);
    let solver = env.solver(solver_port, &env.home().join("solver"), &["--source", &serve.url()]);
    // The watchtower has no source of its own: it fetches from the solver's registered endpoint.
    let watcher = env.watcher(free_port(), &env.home().join("watcher"), &[]);
    wait_state(&env, 1, "submitted", &[&solver]);
    let (trace_root, output_root) = env.honest_roots(&spec);
    let job = env.job(1);
    assert_eq!(job["trace_root"], trace_root.as_str());
    assert_eq!(job["output_root"], output_root.as_str());
    assert_eq!(job["device"], device);
    // The solver serves the job's inputs by hash and its summary of the job.
    let spec_hash = posted["spec_hash"].as_str().unwrap();
    let (code, body) = solver.get(&format!("/v1/content/{spec_hash}")).unwrap();
    assert_eq!(code, 200);
    assert_eq!(body.as_bytes(), std::fs::read(&spec).unwrap());
    let summary = node_job(&solver, 1).unwrap();
    assert_eq!(summary["stage"], "submitted");
    assert_eq!(summary["trace_root"], trace_root.as_str());
    let agreed = wait_for("the watchtower's verdict", Duration::from_secs(180), &[&solver, &watcher], || {
        node_job(&watcher, 1).filter(|j| j["stage"] == "agreed")
    });
    assert_eq!(agreed["trace_root"], trace_root.as_str());
    let (_, metrics) = solver.get("/metrics").unwrap();
    assert!(metrics.contains("gavel_jobs{stage=\"submitted\"} 1"), "{metrics}");
    assert!(metrics.contains("gavel_executed_steps_total 20"), "{metrics}");
    assert!(metrics.contains("# TYPE gavel_transactions_total counter"), "{metrics}");
    // Nothing is disputed; after the window the solver finalizes and withdraws.
    env.warp(3601);
    wait_state(&env, 1, "finalized", &[&solver]);
    let status = wait_for("the solver's withdrawal", Duration::from_secs(180), &[&solver, &watcher], || {
        node_status(&solver).filter(|s| s["withdrawn_wei"] == "1000000000000000000")
    });
    assert_eq!(status["games_open"], 0);
    assert_eq!(env.market_credit(SOLVER), "0");
    assert_eq!(env.cast(&["balance", &env.address("JobMarket")]), "0");
    assert_eq!(env.stake(device), ("1000000000000000000".into(), "0".into()));
    assert_eq!(env.reputation(device), (1, 0, 0, "0".into()));
    let watcher_view = node_job(&watcher, 1).unwrap();
    assert_eq!(watcher_view["game"], serde_json::Value::Null);
    drop(watcher);
    let report = env.json_as(WATCHER, &["watch", "--report", "--data", env.home().join("watcher").to_str().unwrap()]);
    assert_eq!(report["verified"], 1);
    assert_eq!(report["agreed"], 1);
    assert_eq!(report["challenged"], 0);
}
