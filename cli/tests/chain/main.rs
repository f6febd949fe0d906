//! The chain commands as a user runs them: real `gavel` processes against a real anvil
//! started by the test (the npm-pinned one in `node_modules/.bin/`), cross-checked with
//! `cast`.

mod chain_cmd;
mod dispute;
mod events;
mod identity;
mod job;
mod keys;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `<repo>/node_modules/.bin/<tool>`, or a panic that says how to get it.
fn tool(name: &str) -> PathBuf {
    let p = repo().join("node_modules/.bin").join(name);
    assert!(p.is_file(), "{} not found: run scripts/bootstrap (it installs the pinned Foundry tools)", p.display());
    p
}

/// anvil's dev keys (public knowledge: the standard test mnemonic) and their addresses.
const DEV_KEYS: [(&str, &str); 4] = [
    (
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    ),
    (
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    ),
    (
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    ),
    (
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    ),
];

/// A gavel home folder and, optionally, an anvil of its own on a free port.
struct Env {
    home: tempfile::TempDir,
    anvil: Option<Child>,
    url: String,
}

impl Env {
    /// A home folder with no chain (commands default to an unreachable endpoint).
    fn bare() -> Self {
        Self { home: tempfile::tempdir().unwrap(), anvil: None, url: "http://127.0.0.1:1".into() }
    }

    /// A home folder and a fresh anvil.
    fn with_chain() -> Self {
        let mut env = Self::bare();
        let mut child = Command::new(tool("anvil"))
            .args(["--host", "127.0.0.1", "--port", "0", "--accounts", "4", "--balance", "1000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines.next().expect("anvil prints where it listens").unwrap();
            if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                break addr.rsplit(':').next().unwrap().to_owned();
            }
        };
        // Keep draining anvil's output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        env.url = format!("http://127.0.0.1:{port}");
        env.anvil = Some(child);
        env
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn deployments(&self) -> PathBuf {
        self.home().join("deployments")
    }

    /// A `gavel` command with this home, endpoint and deployments folder, and no key.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gavel"));
        c.args(args)
            .env("GAVEL_HOME", self.home())
            .env("GAVEL_RPC_URL", &self.url)
            .env("GAVEL_DEPLOYMENTS_DIR", self.deployments())
            .env("GAVEL_RPC_RETRIES", "1")
            .env_remove("GAVEL_PRIVATE_KEY")
            .env_remove("GAVEL_KEYSTORE_PASSWORD")
            .env_remove("GAVEL_KEY")
            .env_remove("GAVEL_CONFIG")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs with a dev key in GAVEL_PRIVATE_KEY.
    fn run_as(&self, dev: usize, args: &[&str]) -> Output {
        self.cmd(args).env("GAVEL_PRIVATE_KEY", DEV_KEYS[dev].0).output().unwrap()
    }

    /// Runs with `--json`, asserts success and parses stdout.
    fn json_as(&self, dev: Option<usize>, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = match dev {
            Some(d) => self.run_as(d, &full),
            None => self.run(&full),
        };
        assert!(out.status.success(), "gavel {args:?} failed ({}): {}", out.status, stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Deploys the contracts with dev key 0.
    fn deploy(&self) -> serde_json::Value {
        self.json_as(Some(0), &["chain", "deploy"])
    }

    /// A deployed contract's address, from the deployments file.
    fn address(&self, name: &str) -> String {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.deployments().join("31337.json")).unwrap()).unwrap();
        file["contracts"][name]["address"].as_str().unwrap().to_owned()
    }

    /// Moves the chain's clock forward and mines a block.
    fn warp(&self, secs: u64) {
        self.cast(&["rpc", "evm_increaseTime", &secs.to_string()]);
        self.cast(&["rpc", "evm_mine"]);
    }

    /// Registers a device for dev account `dev` with `stake`; returns its id.
    fn register(&self, dev: usize, name: &str, stake: &str) -> u64 {
        let d = self.json_as(Some(dev), &["identity", "register", "--name", name, "--stake", stake]);
        d["device"].as_u64().unwrap()
    }

    /// Runs and expects failure with `code`; returns stderr.
    fn fails_as(&self, dev: usize, code_wanted: i32, args: &[&str]) -> String {
        let out = self.run_as(dev, args);
        assert_eq!(code(&out), code_wanted, "gavel {args:?}: {}", stderr(&out));
        stderr(&out)
    }

    /// `cast <args> --rpc-url <url>`, trimmed stdout.
    fn cast(&self, args: &[&str]) -> String {
        let out = Command::new(tool("cast")).args(args).args(["--rpc-url", &self.url]).output().unwrap();
        assert!(out.status.success(), "cast {args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Env {
    /// `cast <args>` for commands that take no endpoint.
    fn cast_offline(&self, args: &[&str]) -> String {
        let out = Command::new(tool("cast")).args(args).output().unwrap();
        assert!(out.status.success(), "cast {args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(mut c) = self.anvil.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
