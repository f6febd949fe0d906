//! The `gavel` binary as a user runs it: real processes, real files, real devices.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn gavel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel")).args(args).output().expect("gavel starts")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A short copy of the digits example, with the dataset path made absolute.
fn short_spec(dir: &Path, steps: u64, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap();
    let data = repo().join("data/digits.csv.gz");
    let text = text
        .replace("steps = 4000", &format!("steps = {steps}"))
        .replace("checkpoint_interval = 500", "checkpoint_interval = 20")
        .replace("\"../data/digits.csv.gz\"", &format!("{:?}", data.display().to_string()))
        .replace("[job]\n", &format!("[job]\n{extra}"));
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_json(spec: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json", "run", spec.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = gavel(&args);
    assert!(o.status.success(), "gavel run failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("--json prints one JSON document")
}

fn gpu_required() -> bool {
    std::env::var("GAVEL_REQUIRE_VULKAN").is_ok_and(|v| v == "1")
}

#[test]
fn run_on_cpu_writes_checkpoints_model_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let spec = short_spec(dir.path(), 50, "");
    let out = dir.path().join("out");
    let s = run_json(&spec, &out, &["--backend", "cpu", "--compare-f32"]);
    assert_eq!(s["steps"], 50);
    assert_eq!(s["test_total"], 359);
    assert!(s["test_accuracy"].as_f64().unwrap() > 0.5, "50 steps already learn something: {s}");
    assert!(s["f32_test_accuracy"].as_f64().is_some());
    let ckpts: Vec<String> = s["checkpoints"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(ckpts.len(), 3, "after steps 20, 40 and 50: {ckpts:?}");
    for c in &ckpts {
        assert!(Path::new(c).is_file(), "{c} missing");
    }
    assert!(out.join("model.ckpt").is_file());
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["final_memory_digest"], s["final_memory_digest"]);
}

#[test]
fn gpu_runs_match_the_cpu_digest_on_both_i64_paths() {
    let dir = tempfile::tempdir().unwrap();
    let spec = short_spec(dir.path(), 40, "");
    let cpu = run_json(&spec, &dir.path().join("cpu"), &["--backend", "cpu"]);
    for int64 in ["native", "emulated"] {
        let o = gavel(&[
            "--json",
            "run",
            spec.to_str().unwrap(),
            "--backend",
            "gpu",
            "--int64",
            int64,
            "--out",
            dir.path().join(int64).to_str().unwrap(),
        ]);
        if !o.status.success() {
            let err = stderr(&o);
            assert!(!gpu_required() && err.contains("no GPU"), "gpu run ({int64}) failed: {err}");
            eprintln!("note: no GPU, {int64} comparison skipped");
            continue;
        }
        let gpu: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(gpu["final_memory_digest"], cpu["final_memory_digest"], "{int64} differs from cpu");
        assert_eq!(gpu["test_correct"], cpu["test_correct"]);
        let same = |name: &str| {
            std::fs::read(dir.path().join("cpu").join(name)).unwrap()
                == std::fs::read(dir.path().join(int64).join(name)).unwrap()
        };
        assert!(same("step-00000020.ckpt") && same("model.ckpt"), "{int64}: checkpoint files differ");
    }
}

#[test]
fn bad_spec_fails_with_usage_exit_code_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let spec = short_spec(dir.path(), 10, "colour = \"blue\"\n");
    let o = gavel(&["run", spec.to_str().unwrap(), "--backend", "cpu", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown field `colour`"), "{}", stderr(&o));
    assert!(!dir.path().join("model.ckpt").exists(), "nothing may run on a bad spec");

    let o = gavel(&["run", "/nonexistent/job.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read the file"), "{}", stderr(&o));
}

#[test]
fn wrong_dataset_hash_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = short_spec(dir.path(), 10, "");
    let text = std::fs::read_to_string(&spec).unwrap().replace("0x76294106", "0x76294107");
    std::fs::write(&spec, text).unwrap();
    let o = gavel(&["run", spec.to_str().unwrap(), "--backend", "cpu", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("dataset.hash"), "{}", stderr(&o));
}

#[test]
fn gpu_backend_without_a_vulkan_device_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let spec = short_spec(dir.path(), 10, "");
    // Point the Vulkan loader at no driver and keep wgpu on Vulkan: no adapter at all.
    let o = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["run", spec.to_str().unwrap(), "--backend", "gpu", "--out", dir.path().to_str().unwrap()])
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no GPU adapter") && err.contains("--backend cpu"), "{err}");

    // `auto` falls back to the CPU and says so.
    let o = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["run", spec.to_str().unwrap(), "--backend", "auto", "--out", dir.path().to_str().unwrap()])
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("running on the CPU reference"), "{}", stderr(&o));
}

#[test]
fn dataset_hash_is_the_one_the_example_pins() {
    let o = gavel(&["dataset", "hash", "--format", "digits-csv", repo().join("data/digits.csv.gz").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let hash = String::from_utf8(o.stdout).unwrap();
    let example = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap();
    assert!(example.contains(hash.trim()), "example does not pin {hash}");
}
