//! `gavel run --trace` and `gavel trace ...` as a user runs them.

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

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "gavel failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

/// The digits example cut to `steps` steps, with the data set path made absolute.
fn spec(dir: &Path, steps: u64) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap();
    let data = repo().join("data/digits.csv.gz");
    let text = text
        .replace("steps = 4000", &format!("steps = {steps}"))
        .replace("\"../data/digits.csv.gz\"", &format!("{:?}", data.display().to_string()));
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_traced(spec: &Path, dir: &Path, name: &str, backend: &[&str]) -> Option<serde_json::Value> {
    let (out, trace) = (dir.join(format!("{name}-out")), dir.join(name));
    let mut args = vec!["--json", "run", spec.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(&["--trace", trace.to_str().unwrap(), "--trace-every", "4"]);
    args.extend_from_slice(backend);
    let o = gavel(&args);
    if !o.status.success() && o.status.code() == Some(3) {
        return None; // no GPU
    }
    Some(json(&o))
}

#[test]
fn run_with_trace_then_prove_and_verify_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), 10);
    let s = run_traced(&spec, dir.path(), "cpu", &["--backend", "cpu"]).unwrap();
    let (trace_root, output_root) = (s["trace_root"].as_str().unwrap(), s["output_root"].as_str().unwrap());
    assert_eq!(trace_root.len(), 66);
    let store = dir.path().join("cpu");
    let store = store.to_str().unwrap();

    let info = json(&gavel(&["--json", "trace", "info", store, "--check"]));
    assert_eq!(info["trace_root"], trace_root);
    assert_eq!(info["output_root"], output_root);
    assert_eq!((info["steps"].as_u64(), info["every"].as_u64()), (Some(10), Some(4)));

    // An element of the first layer's weights after step 7, against the trace root.
    let proof = dir.path().join("e.json");
    let p = proof.to_str().unwrap();
    json(&gavel(&[
        "--json", "trace", "prove", store, "element", "--step", "7", "--slot", "w0", "--index", "5", "--out", p,
    ]));
    let v = json(&gavel(&["--json", "trace", "verify", p, "--root", trace_root]));
    assert_eq!(v["valid"], true);
    // The same element inside step 7, after 3 operators, against that step's root.
    let ops = json(&gavel(&["--json", "trace", "prove", store, "ops", "--step", "7"]));
    let step_root = ops["step_root"].as_str().unwrap();
    let o = gavel(&["trace", "prove", store, "element", "--step", "7", "--op", "3", "--slot", "3", "--index", "5"]);
    assert!(o.status.success());
    std::fs::write(&proof, &o.stdout).unwrap();
    assert_eq!(json(&gavel(&["--json", "trace", "verify", p, "--root", step_root]))["valid"], true);

    // A tampered value, or the wrong root, is rejected with exit code 1.
    let text = String::from_utf8(o.stdout).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut bad = file.clone();
    bad["proof"]["value"] = serde_json::json!(file["proof"]["value"].as_i64().unwrap() + 1);
    std::fs::write(&proof, bad.to_string()).unwrap();
    let o = gavel(&["trace", "verify", p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("INVALID"));
    std::fs::write(&proof, &text).unwrap();
    assert_eq!(gavel(&["trace", "verify", p, "--root", trace_root]).status.code(), Some(1));

    // Other proof kinds, checked against the anchor written in the file.
    for what in [
        vec!["checkpoint", "--step", "10"],
        vec!["op-root", "--step", "2", "--op", "21"],
        vec!["slot", "--step", "0", "--slot", "schedule"],
        vec!["chunk", "--step", "4", "--op", "1", "--slot", "x_train", "--chunk", "179"],
    ] {
        let mut args = vec!["trace", "prove", store];
        args.extend(what.iter().copied());
        args.extend(["--out", p]);
        assert!(gavel(&args).status.success(), "{what:?}");
        assert_eq!(json(&gavel(&["--json", "trace", "verify", p]))["valid"], true, "{what:?}");
    }

    // A second run into the same folder is refused; a damaged store is reported.
    let o = gavel(&[
        "run",
        spec.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        dir.path().join("x").to_str().unwrap(),
        "--trace",
        store,
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already holds a trace store"));
    let log = Path::new(store).join("roots.bin");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&log, bytes).unwrap();
    let o = gavel(&["trace", "info", store]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum mismatch"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn gpu_and_cpu_runs_print_the_same_roots() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), 6);
    let cpu = run_traced(&spec, dir.path(), "cpu", &["--backend", "cpu"]).unwrap();
    let required = std::env::var("GAVEL_REQUIRE_VULKAN").is_ok_and(|v| v == "1");
    let Some(gpu) = run_traced(&spec, dir.path(), "gpu", &["--backend", "gpu"]) else {
        assert!(!required, "GAVEL_REQUIRE_VULKAN=1 but no GPU");
        eprintln!("note: no GPU adapter, CPU-vs-GPU roots not compared");
        return;
    };
    assert_eq!(gpu["trace_root"], cpu["trace_root"]);
    assert_eq!(gpu["output_root"], cpu["output_root"]);
}
