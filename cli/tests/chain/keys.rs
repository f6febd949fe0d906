//! `gavel key` and how keys are handled: wrong passwords, missing keys, no leaks.

use super::{DEV_KEYS, Env, code, stderr};

#[test]
fn new_import_list_and_sign_with_a_keystore_key() {
    let env = Env::with_chain();
    env.deploy();
    let new = env.cmd(&["--json", "key", "new", "alice"]).env("GAVEL_KEYSTORE_PASSWORD", "pw-a").output().unwrap();
    assert!(new.status.success(), "{}", stderr(&new));
    let alice: serde_json::Value = serde_json::from_slice(&new.stdout).unwrap();
    let import = env
        .cmd(&["--json", "key", "import", "bob", "--from-env"])
        .env("GAVEL_PRIVATE_KEY", DEV_KEYS[1].0)
        .env("GAVEL_KEYSTORE_PASSWORD", "pw-b")
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    let bob: serde_json::Value = serde_json::from_slice(&import.stdout).unwrap();
    assert_eq!(bob["address"], DEV_KEYS[1].1);
    let list = env.json_as(None, &["key", "list"]);
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(list[0]["address"], alice["address"]);
    // Sign with bob's keystore: a redeploy goes through and cast sees bob's nonce move.
    let out = env
        .cmd(&["--json", "chain", "deploy", "--force", "--key", "bob"])
        .env("GAVEL_KEYSTORE_PASSWORD", "pw-b")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["deployer"], DEV_KEYS[1].1);
    assert_ne!(env.cast(&["nonce", DEV_KEYS[1].1]), "0");
    // A key piped on standard input.
    let mut child = env
        .cmd(&["--json", "key", "import", "carol", "--stdin"])
        .env("GAVEL_KEYSTORE_PASSWORD", "pw-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{}", &DEV_KEYS[2].0[2..]).unwrap();
    }
    let carol = child.wait_with_output().unwrap();
    assert!(carol.status.success(), "{}", stderr(&carol));
    let carol: serde_json::Value = serde_json::from_slice(&carol.stdout).unwrap();
    assert_eq!(carol["address"], DEV_KEYS[2].1);
    // Importing over an existing name is refused.
    let again = env
        .cmd(&["key", "import", "bob", "--from-env"])
        .env("GAVEL_PRIVATE_KEY", DEV_KEYS[2].0)
        .env("GAVEL_KEYSTORE_PASSWORD", "x")
        .output()
        .unwrap();
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("already exists"));
}

#[test]
fn a_wrong_password_or_a_missing_key_is_a_usage_error() {
    let env = Env::with_chain();
    let import = env
        .cmd(&["key", "import", "bob", "--from-env"])
        .env("GAVEL_PRIVATE_KEY", DEV_KEYS[1].0)
        .env("GAVEL_KEYSTORE_PASSWORD", "right")
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    let wrong = env.cmd(&["chain", "deploy", "--key", "bob"]).env("GAVEL_KEYSTORE_PASSWORD", "wrong").output().unwrap();
    assert_eq!(code(&wrong), 2, "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("wrong password for key \"bob\""), "{}", stderr(&wrong));
    let missing = env.cmd(&["chain", "deploy", "--key", "carol"]).env("GAVEL_KEYSTORE_PASSWORD", "x").output().unwrap();
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("no key named \"carol\"") && stderr(&missing).contains("gavel key list"));
    let none = env.run(&["chain", "deploy"]);
    assert_eq!(code(&none), 2);
    assert!(stderr(&none).contains("GAVEL_PRIVATE_KEY"), "{}", stderr(&none));
    // No terminal and no GAVEL_KEYSTORE_PASSWORD: say how to pass it.
    let no_tty = env.cmd(&["chain", "deploy", "--key", "bob"]).output().unwrap();
    assert_eq!(code(&no_tty), 2, "{}", stderr(&no_tty));
    assert!(stderr(&no_tty).contains("GAVEL_KEYSTORE_PASSWORD"), "{}", stderr(&no_tty));
}

#[test]
fn a_config_file_with_a_key_is_rejected() {
    let env = Env::bare();
    let cfg = env.home().join("config.toml");
    std::fs::write(&cfg, format!("private_key = \"{}\"\n", DEV_KEYS[0].0)).unwrap();
    let out = env.run(&["chain", "status"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not allowed in a config file"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&DEV_KEYS[0].0[2..]));
}

/// The key in any case, with or without `0x`, never appears in anything gavel prints or logs.
#[test]
fn the_private_key_never_appears_in_output_or_logs() {
    let env = Env::with_chain();
    let key = DEV_KEYS[2].0;
    let needles = [key[2..].to_lowercase(), key[2..].to_uppercase(), key[2..34].to_lowercase()];
    let check = |what: &str, out: &std::process::Output| {
        for text in [String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)] {
            for n in &needles {
                assert!(!text.contains(n.as_str()), "{what} leaked the key: {text}");
            }
        }
    };
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("deploy", vec!["chain", "deploy"]),
        ("deploy --json", vec!["--json", "chain", "deploy", "--force"]),
        ("status", vec!["chain", "status"]),
        ("import", vec!["key", "import", "carol", "--from-env"]),
        ("list", vec!["key", "list"]),
    ];
    for (what, args) in runs {
        let out = env
            .cmd(&args)
            .env("GAVEL_PRIVATE_KEY", key)
            .env("GAVEL_KEYSTORE_PASSWORD", "pw")
            .env("GAVEL_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        check(what, &out);
    }
    // A malformed key is reported by its source, not its value.
    let bad = format!("{}zz", &key[..60]);
    let out = env
        .cmd(&["chain", "deploy", "--force"])
        .env("GAVEL_PRIVATE_KEY", &bad)
        .env("GAVEL_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("GAVEL_PRIVATE_KEY") && !stderr(&out).contains(&bad[2..40]), "{}", stderr(&out));
    // The keystore holds it encrypted only.
    let file = std::fs::read_to_string(env.home().join("keystore/carol")).unwrap();
    for n in &needles {
        assert!(!file.contains(n.as_str()));
    }
}
