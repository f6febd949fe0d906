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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
