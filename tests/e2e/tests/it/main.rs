//! `gavel devnet demo` and `gavel devnet run` as a user runs them, each on its own anvil,
//! with every balance checked to the wei and no process left behind.

mod demo;
mod devnet;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The repository root.
fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `gavel` binary: `GAVEL_BIN`, else the one next to this test's build
/// (`target/<profile>/gavel`).
fn gavel_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GAVEL_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test's path");
    // target/<profile>/deps/it-<hash>
    let bin = exe.parent().and_then(Path::parent).expect("target/<profile>").join("gavel");
    assert!(
        bin.is_file(),
        "{} not found: build it first (`cargo build --release -p gavel`, or run the whole workspace's tests)",
        bin.display()
    );
    bin
}

/// `gavel --json ARGS` from the repository root, with no `GAVEL_*` settings of the caller.
fn gavel_json(args: &[&str]) -> (Output, serde_json::Value) {
    let mut c = Command::new(gavel_bin());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("GAVEL_") && k != "GAVEL_ANVIL" && k != "GAVEL_CAST" {
            c.env_remove(k);
        }
    }
    let out = c.arg("--json").args(args).current_dir(repo()).stdin(Stdio::null()).output().expect("gavel runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

/// The digits example with `steps` steps and an absolute data set path, in `dir`.
fn digits_spec(dir: &Path, steps: u64) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap();
    let data = std::fs::canonicalize(repo().join("data/digits.csv.gz")).unwrap();
    let text = text
        .replace("\"../data/digits.csv.gz\"", &format!("{:?}", data.display().to_string()))
        .replace("steps = 4000", &format!("steps = {steps}"));
    let path = dir.join("digits-small.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Asserts that no process the run started is alive (its `pids.stopped` list).
fn assert_all_stopped(dir: &Path) {
    let pids = std::fs::read_to_string(dir.join("pids.stopped")).expect("the run lists the processes it started");
    let listed: Vec<u32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert!(listed.len() >= 3, "{listed:?}");
    for pid in listed {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z"));
        let ours = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
            String::from_utf8_lossy(&c).contains("gavel") || String::from_utf8_lossy(&c).contains("anvil")
        });
        assert!(!(alive && ours), "process {pid} is still running");
    }
    assert!(!dir.join("pids").exists());
}

/// The run's stderr (its story) and stdout, for a failure message.
fn shown(out: &Output) -> String {
    format!(
        "exit {}\n--- stderr\n{}\n--- stdout\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// A wei amount printed as a decimal string.
fn wei(v: &serde_json::Value) -> i128 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a wei amount: {v}"))
}
