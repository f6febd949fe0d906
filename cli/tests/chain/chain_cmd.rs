//! `gavel chain up/down/status/deploy`.

use super::{DEV_KEYS, Env, code, stderr};

#[test]
fn up_status_down_on_a_local_chain() {
    let env = Env::bare();
    // `chain up` finds its own chain: no GAVEL_RPC_URL.
    let cmd = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env_remove("GAVEL_RPC_URL");
        c.output().unwrap()
    };
    // A key in the keystore gets funded.
    let import = env
        .cmd(&["--json", "key", "import", "dave", "--from-env"])
        .env("GAVEL_PRIVATE_KEY", super::DEV_KEYS[3].0)
        .env("GAVEL_KEYSTORE_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(import.status.success());
    let up = cmd(&["--json", "chain", "up", "--port", "0", "--balance", "77"]);
    assert!(up.status.success(), "{}", stderr(&up));
    let up: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    let url = up["url"].as_str().unwrap().to_owned();
    let pid = up["pid"].as_u64().unwrap();
    assert_eq!(up["chain_id"], 31337);
    assert!(up["funded"].as_array().unwrap().iter().any(|a| a == DEV_KEYS[3].1));
    let mut check = Env::bare();
    check.url = url.clone();
    assert_eq!(check.cast(&["balance", DEV_KEYS[3].1]), "77000000000000000000");
    // A second `up` is refused while the first runs.
    let again = cmd(&["chain", "up", "--port", "0"]);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("already running"));
    // Status finds the local chain by itself and checks the deployed code.
    let status = cmd(&["--json", "chain", "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["url"], url);
    assert_eq!(status["local_pid"], pid);
    let contracts = status["contracts"].as_array().unwrap();
    assert!(!contracts.is_empty());
    for c in contracts {
        assert_eq!(c["code"], "ok");
        assert!(check.cast(&["code", c["address"].as_str().unwrap()]).len() > 100, "cast sees code at {c}");
    }
    assert_eq!(check.cast(&["block-number"]), status["block"].to_string());
    let text = cmd(&["chain", "status"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("local chain"), "{}", String::from_utf8_lossy(&text.stdout));
    let down = cmd(&["--json", "chain", "down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    // Gone, or a zombie waiting for whichever process inherited it to reap it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.rsplit(')').next().unwrap().trim_start().starts_with('Z'), "{stat}");
    let gone = env.cmd(&["chain", "status", "--rpc-url", &url]).output().unwrap();
    assert_eq!(code(&gone), 4, "{}", stderr(&gone));
    let down_again = cmd(&["chain", "down"]);
    assert!(down_again.status.success());
}

#[test]
fn an_unreachable_rpc_is_a_chain_error_that_says_what_to_try() {
    let env = Env::bare();
    for args in [&["chain", "status"][..], &["--json", "chain", "status"][..]] {
        let out = env.run(args);
        assert_eq!(code(&out), 4, "{}", stderr(&out));
        assert!(stderr(&out).contains("cannot reach the RPC endpoint http://127.0.0.1:1"), "{}", stderr(&out));
        assert!(stderr(&out).contains("gavel chain up"), "{}", stderr(&out));
    }
    let bad = env.run(&["chain", "status", "--rpc-url", "ftp://x"]);
    assert_eq!(code(&bad), 2);
    let usage = env.run(&["chain", "frobnicate"]);
    assert_eq!(code(&usage), 2);
}

#[test]
fn deploy_writes_the_deployments_file_and_cast_sees_the_code() {
    let env = Env::with_chain();
    let before = env.run(&["--json", "chain", "status"]);
    assert!(before.status.success(), "{}", stderr(&before));
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert!(before["deployments"].is_null());
    let d = env.deploy();
    assert_eq!(d["deployer"], DEV_KEYS[0].1);
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.deployments().join("31337.json")).unwrap()).unwrap();
    for c in d["contracts"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let address = c["address"].as_str().unwrap();
        assert_eq!(file["contracts"][name]["address"].as_str().unwrap(), address.to_lowercase());
        let code = env.cast(&["code", address]);
        let hash = env.cast_offline(&["keccak", &code]);
        assert_eq!(file["contracts"][name]["codeHash"], hash, "{name}");
    }
    // Deploying again is refused without --force.
    let again = env.run_as(0, &["chain", "deploy"]);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"));
    // A deployments file that does not match the chain is a verification failure.
    let path = env.deployments().join("31337.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let first = d["contracts"][0]["address"].as_str().unwrap().to_lowercase();
    std::fs::write(&path, text.replace(&first, "0x000000000000000000000000000000000000dead")).unwrap();
    let stale = env.run(&["chain", "status"]);
    assert_eq!(code(&stale), 5, "{}", stderr(&stale));
    assert!(stderr(&stale).contains("no code there") && stderr(&stale).contains("redeploy"), "{}", stderr(&stale));
}

#[test]
fn deploying_from_an_account_without_ether_fails_with_the_balance() {
    let env = Env::with_chain();
    let poor = "0x0000000000000000000000000000000000000000000000000000000000000042";
    let out = env.cmd(&["chain", "deploy"]).env("GAVEL_PRIVATE_KEY", poor).output().unwrap();
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("too little ether") && stderr(&out).contains("balance 0 wei"), "{}", stderr(&out));
}

#[test]
fn flags_override_the_environment_which_overrides_the_config_file() {
    let env = Env::with_chain();
    let cfg = env.home().join("gavel.toml");
    std::fs::write(&cfg, format!("rpc_url = \"{}\"\nconfirmations = 1\n", env.url)).unwrap();
    let status = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = env.cmd(&["--json", "chain", "status"]);
        c.env_remove("GAVEL_RPC_URL").args(args);
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let cfg = cfg.to_str().unwrap();
    // The file alone.
    let out = status(&[("GAVEL_CONFIG", cfg)], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The environment beats the file.
    let out = status(&[("GAVEL_CONFIG", cfg), ("GAVEL_RPC_URL", "http://127.0.0.1:1")], &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    // A flag beats both.
    let out = status(&[("GAVEL_CONFIG", cfg), ("GAVEL_RPC_URL", "http://127.0.0.1:1")], &["--rpc-url", &env.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    // --config names the file too; a pinned chain id must match the endpoint's.
    let out = status(&[], &["--config", cfg, "--chain-id", "5"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("serves chain 31337, but chain 5 was configured"), "{}", stderr(&out));
    // Unknown fields in the file are usage errors that name the file.
    std::fs::write(env.home().join("bad.toml"), "rpc = 1\n").unwrap();
    let bad = env.home().join("bad.toml");
    let out = status(&[], &["--config", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.toml"), "{}", stderr(&out));
}
