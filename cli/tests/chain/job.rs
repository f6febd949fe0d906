//! `gavel job`: post, list, show, claim, submit, cancel, result, finalize, withdraw.

use std::path::{Path, PathBuf};

use super::{DEV_KEYS, Env, repo};

/// The digits example with the data set's path made absolute.
pub(crate) fn spec(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap();
    let data = repo().join("data/digits.csv.gz");
    let text = text.replace("\"../data/digits.csv.gz\"", &format!("{:?}", data.display().to_string()));
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) const TRACE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
pub(crate) const OUTPUT: &str = "0x2222222222222222222222222222222222222222222222222222222222222222";

#[test]
fn a_job_goes_from_post_to_finalize_and_pays_the_solver() {
    let env = Env::with_chain();
    env.deploy();
    let market = env.address("JobMarket");
    let spec = spec(env.home());
    let posted =
        env.json_as(Some(0), &["job", "post", spec.to_str().unwrap(), "--reward", "2eth", "--collateral", "0.5eth"]);
    assert_eq!(posted["job"], 1);
    assert_eq!(posted["state"], "open");
    assert_eq!(posted["steps"], 4000);
    // The spec hash is keccak256 of the file; the input hash is the data set's.
    let spec_hash = env.cast_offline(&["keccak", &format!("0x{}", hex(&std::fs::read(&spec).unwrap()))]);
    assert_eq!(posted["spec_hash"], spec_hash);
    assert_eq!(posted["input_hash"], "0x762941069406b4182b250d8df0b06bf4c9feb5f2bac0ca40e805684cf5a4e223");
    assert_eq!(env.cast(&["call", &market, "jobCount()(uint64)"]), "1");
    assert_eq!(env.cast(&["balance", &market]), "2000000000000000000");
    let device = env.register(1, "solver", "1eth");
    let claimed = env.json_as(Some(1), &["job", "claim", "1", "--device", &device.to_string()]);
    assert_eq!(claimed["state"], "claimed");
    assert_eq!(claimed["solver"], DEV_KEYS[1].1);
    let registry = env.address("DeviceRegistry");
    assert_eq!(env.cast(&["call", &registry, "freeStake(uint64)(uint256)", "1"]), "500000000000000000 [5e17]");
    // The listing and the text view.
    let list = env.json_as(None, &["job", "list", "--state", "claimed"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let open = env.json_as(None, &["job", "list", "--state", "open"]);
    assert!(open.as_array().unwrap().is_empty());
    let text = env.run(&["job", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("claimed"));
    // The solver submits from its run's summary.json.
    let summary = env.home().join("summary.json");
    std::fs::write(
        &summary,
        format!("{{\"steps\": 4000, \"trace_root\": \"{TRACE}\", \"output_root\": \"{OUTPUT}\"}}"),
    )
    .unwrap();
    let submitted = env.json_as(Some(1), &["job", "submit", "1", "--summary", summary.to_str().unwrap()]);
    assert_eq!(submitted["state"], "submitted");
    assert_eq!(submitted["trace_root"], TRACE);
    // The submitter checks it against its own run: same roots pass, others exit 5.
    let r = env.json_as(None, &["job", "result", "1", "--summary", summary.to_str().unwrap()]);
    assert_eq!(r["verified"], true);
    assert_eq!(r["output_root"], OUTPUT);
    let other = env.home().join("other.json");
    std::fs::write(&other, format!("{{\"trace_root\": \"{TRACE}\", \"output_root\": \"{TRACE}\"}}")).unwrap();
    let err = env.fails_as(0, 5, &["job", "result", "1", "--summary", other.to_str().unwrap()]);
    assert!(err.contains("differs from your run") && err.contains("challenge it before"), "{err}");
    // Too early to finalize; then the window closes.
    let err = env.fails_as(0, 4, &["job", "finalize", "1"]);
    assert!(err.contains("ChallengeWindowOpen: job = 1"), "{err}");
    env.warp(3601);
    let fin = env.json_as(Some(2), &["job", "finalize", "1"]);
    assert_eq!(fin["state"], "finalized");
    assert_eq!(env.cast(&["call", &market, "creditOf(address)(uint256)", DEV_KEYS[1].1]), "2000000000000000000 [2e18]");
    let before: u128 = env.cast(&["balance", DEV_KEYS[1].1]).parse().unwrap();
    let w = env.json_as(Some(1), &["job", "withdraw"]);
    assert_eq!(w["withdrawn_wei"], "2000000000000000000");
    let after: u128 = env.cast(&["balance", DEV_KEYS[1].1]).parse().unwrap();
    assert!(after > before + 1_990_000_000_000_000_000, "{before} -> {after}");
    let rep = env.json_as(None, &["identity", "show", &device.to_string()]);
    assert_eq!(rep["jobs_completed"], 1);
    assert_eq!(rep["locked_wei"], "0");
}

#[test]
fn jobs_in_the_wrong_state_and_bad_posts_fail_with_reasons() {
    let env = Env::with_chain();
    env.deploy();
    let spec = spec(env.home());
    let spec = spec.to_str().unwrap();
    // Below the market's minimum collateral.
    let err = env.fails_as(0, 4, &["job", "post", spec, "--reward", "1eth", "--collateral", "1wei"]);
    assert!(err.contains("CollateralTooLow: collateral = 1, minimum = 100000000000000000"), "{err}");
    // A spec that does not parse never reaches the chain.
    let bad = env.home().join("bad.toml");
    std::fs::write(&bad, "[job]\nname = 1\n").unwrap();
    env.fails_as(0, 2, &["job", "post", bad.to_str().unwrap(), "--reward", "1eth", "--collateral", "1eth"]);
    env.json_as(Some(0), &["job", "post", spec, "--reward", "1eth", "--collateral", "0.2eth"]);
    // Claiming with a device the caller does not own.
    let theirs = env.register(2, "theirs", "1eth");
    let err = env.fails_as(1, 4, &["job", "claim", "1", "--device", &theirs.to_string()]);
    assert!(err.contains("DeviceNotOwnedByCaller"), "{err}");
    let mine = env.register(1, "mine", "1eth");
    env.json_as(Some(1), &["job", "claim", "1", "--device", &mine.to_string()]);
    // Cancelling a claimed job: the state names come from the contract's enum.
    let err = env.fails_as(0, 4, &["job", "cancel", "1"]);
    assert!(err.contains("UnexpectedJobState: job = 1, state = Claimed, expected = Open"), "{err}");
    // Only the solver submits; the steps must match.
    let err = env.fails_as(2, 4, &["job", "submit", "1", "--trace-root", TRACE, "--output-root", OUTPUT]);
    assert!(err.contains("NotSolver"), "{err}");
    let summary = env.home().join("s.json");
    std::fs::write(&summary, format!("{{\"steps\": 7, \"trace_root\": \"{TRACE}\", \"output_root\": \"{OUTPUT}\"}}"))
        .unwrap();
    let err = env.fails_as(1, 4, &["job", "submit", "1", "--summary", summary.to_str().unwrap()]);
    assert!(err.contains("StepCountMismatch: job = 1, expected = 4000, actual = 7"), "{err}");
    let err = env.fails_as(0, 2, &["job", "result", "1"]);
    assert!(err.contains("no result yet"), "{err}");
    // A second job, cancelled by its submitter and refunded.
    env.json_as(Some(0), &["job", "post", spec, "--reward", "1eth", "--collateral", "0.2eth"]);
    let err = env.fails_as(1, 4, &["job", "cancel", "2"]);
    assert!(err.contains("NotSubmitter"), "{err}");
    let c = env.json_as(Some(0), &["job", "cancel", "2"]);
    assert_eq!(c["state"], "cancelled");
    let err = env.fails_as(0, 4, &["job", "show", "9"]);
    assert!(err.contains("JobNotFound: job = 9"), "{err}");
    let err = env.fails_as(0, 2, &["job", "list", "--state", "weird"]);
    assert!(err.contains("unknown state"), "{err}");
}

#[test]
fn posting_binds_the_program_commitment_the_prover_computes() {
    let env = Env::with_chain();
    env.deploy();
    let factory = env.address("DisputeGameFactory");
    let spec = spec(env.home());
    let spec = spec.to_str().unwrap();
    // The commitment without a chain.
    let local = env.json_as(None, &["trace", "program", spec]);
    let c = &local["commitment"];
    let root = local["program_root"].as_str().unwrap().to_owned();
    assert_eq!(c["slots"], 24);
    assert_eq!(c["ops"], 37);
    assert_eq!(local["ops"].as_array().unwrap().len(), 37);
    // cast agrees on the root's formula: keccak256(0x07 ‖ h_0 ‖ slots ‖ ops ‖ op tree).
    let (h0, op_tree) = (c["initial_memory"].as_str().unwrap(), c["op_tree"].as_str().unwrap());
    let packed = env.cast_offline(&[
        "abi-encode",
        "--packed",
        "f(uint8,bytes32,uint32,uint32,bytes32)",
        "7",
        h0,
        "24",
        "37",
        op_tree,
    ]);
    assert_eq!(env.cast_offline(&["keccak", &packed]), root);

    // Posting registers it.
    let posted = env.json_as(Some(0), &["job", "post", spec, "--reward", "1eth", "--collateral", "0.5eth"]);
    assert_eq!(posted["job"], 1);
    assert_eq!(posted["program_bound"], true);
    assert_eq!(posted["program_root"], root.as_str());
    assert_eq!(&posted["program"], c);
    // On chain: the stored commitment and the factory's root are the Rust ones.
    let on_chain = env.cast(&["call", &factory, "programOf(uint64)((bytes32,uint32,uint32,bytes32))", "1"]);
    assert_eq!(on_chain, format!("({h0}, 24, 37, {op_tree})"));
    assert_eq!(env.cast(&["call", &factory, "programRootOf(uint64)(bytes32)", "1"]), root);
    // show reports it; binding again with the same spec is a no-op.
    let shown = env.json_as(None, &["job", "show", "1"]);
    assert_eq!(shown["program_root"], root.as_str());
    assert_eq!(shown["program_bound"], true);
    let text = String::from_utf8_lossy(&env.run(&["job", "show", "1"]).stdout).into_owned();
    assert!(text.contains(&format!("program root {root}")), "{text}");
    let again = env.json_as(Some(0), &["job", "bind", "1", spec]);
    assert_eq!(again["program_root"], root.as_str());
    // Another spec is not the job's.
    let other = env.home().join("other.toml");
    std::fs::write(&other, std::fs::read_to_string(spec).unwrap().replace("steps = 4000", "steps = 3999")).unwrap();
    let err = env.fails_as(0, 5, &["job", "bind", "1", other.to_str().unwrap()]);
    assert!(err.contains("not the job's spec"), "{err}");
    // A point a dispute tool would open: op 7's path, checked in the prover.
    let opening = env.json_as(None, &["trace", "program", spec, "--op", "7"]);
    assert_eq!(opening["index"], 7);
    assert_eq!(opening["count"], 37);
    assert_eq!(opening["descriptor"]["kind"], 13);
    assert_eq!(opening["siblings"].as_array().unwrap().len(), 6);
}

#[test]
fn a_failed_registration_says_the_job_is_posted_and_bind_retries_it() {
    let env = Env::with_chain();
    env.deploy();
    let spec = spec(env.home());
    let spec = spec.to_str().unwrap();
    // Point the deployments file's factory at another contract: the post goes through,
    // the registration reverts.
    let file = env.deployments().join("31337.json");
    let good = std::fs::read_to_string(&file).unwrap();
    let factory = env.address("DisputeGameFactory");
    let registry = env.address("DeviceRegistry");
    std::fs::write(&file, good.replace(&factory, &registry)).unwrap();
    let err = env.fails_as(0, 4, &["job", "post", spec, "--reward", "1eth", "--collateral", "0.5eth"]);
    assert!(
        err.contains("job 1 was posted, but registering its program failed")
            && err.contains(&format!("gavel job bind 1 {spec}")),
        "{err}"
    );
    std::fs::write(&file, good).unwrap();
    assert_eq!(env.cast(&["call", &env.address("JobMarket"), "jobCount()(uint64)"]), "1");
    let shown = env.json_as(None, &["job", "show", "1"]);
    assert_eq!(shown["state"], "open");
    assert_eq!(shown["program_bound"], false);
    assert!(shown["program_root"].is_null());
    let text = String::from_utf8_lossy(&env.run(&["job", "show", "1"]).stdout).into_owned();
    assert!(text.contains("program not bound") && text.contains("gavel job bind 1 SPEC"), "{text}");
    // Only the submitter may bind it.
    let err = env.fails_as(1, 4, &["job", "bind", "1", spec]);
    assert!(err.contains("NotSubmitter"), "{err}");
    let bound = env.json_as(Some(0), &["job", "bind", "1", spec]);
    assert_eq!(bound["program_bound"], true);
    let local = env.json_as(None, &["trace", "program", spec]);
    assert_eq!(bound["program_root"], local["program_root"]);
    assert_eq!(
        env.cast(&["call", &factory, "programRootOf(uint64)(bytes32)", "1"]),
        local["program_root"].as_str().unwrap()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
