//! The node daemons as operators run them: real `gavel solve`, `gavel watch` and `gavel
//! serve` processes against a real anvil and the real contracts, with the outcome checked
//! on chain to the wei.

mod games;
mod honest;
mod resilience;

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn tool(name: &str) -> PathBuf {
    let p = repo().join("node_modules/.bin").join(name);
    assert!(p.is_file(), "{} not found: run scripts/bootstrap", p.display());
    p
}

/// anvil's dev keys (the standard test mnemonic): 0 deploys and submits, 1 solves, 2 watches.
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

const SUBMITTER: usize = 0;
const SOLVER: usize = 1;
const WATCHER: usize = 2;

/// A free port on loopback (bound, then released for the daemon to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running daemon, killed when dropped; its stderr goes to a log file.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    port: u16,
}

impl Daemon {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET path` on the daemon's server: (status, body).
    fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, no chance to clean up.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// A gavel home, an anvil of its own and the contracts deployed.
struct Env {
    home: tempfile::TempDir,
    anvil: Option<Child>,
    url: String,
    /// The endpoint daemons use, when not the chain's own (a proxy).
    daemon_rpc: std::cell::RefCell<Option<String>>,
}

impl Env {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(tool("anvil"))
            .args(["--host", "127.0.0.1", "--port", "0", "--accounts", "4", "--balance", "1000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines.next().expect("anvil prints where it listens").unwrap();
            if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                break addr.rsplit(':').next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let env = Self {
            home,
            anvil: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            daemon_rpc: std::cell::RefCell::new(None),
        };
        // Game clocks of 10 minutes: a stalling party is timed out by moving the clock.
        env.json_as(SUBMITTER, &["chain", "deploy", "--game-clock", "600"]);
        env
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gavel"));
        c.args(args)
            .env("GAVEL_HOME", self.home())
            .env("GAVEL_RPC_URL", &self.url)
            .env("GAVEL_DEPLOYMENTS_DIR", self.home().join("deployments"))
            .env("GAVEL_POLL_INTERVAL_MS", "100")
            .env("GAVEL_RPC_RETRIES", "2")
            .env_remove("GAVEL_KEY")
            .env_remove("GAVEL_CONFIG")
            .env_remove("GAVEL_KEYSTORE_PASSWORD")
            .env_remove("GAVEL_PRIVATE_KEY")
            .stdin(Stdio::null());
        c
    }

    fn run_as(&self, dev: usize, args: &[&str]) -> Output {
        self.cmd(args).env("GAVEL_PRIVATE_KEY", DEV_KEYS[dev].0).output().unwrap()
    }

    fn json_as(&self, dev: usize, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run_as(dev, &full);
        assert!(out.status.success(), "gavel {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn address(&self, name: &str) -> String {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.home().join("deployments/31337.json")).unwrap()).unwrap();
        file["contracts"][name]["address"].as_str().unwrap().to_owned()
    }

    fn cast(&self, args: &[&str]) -> String {
        let out = Command::new(tool("cast")).args(args).args(["--rpc-url", &self.url]).output().unwrap();
        assert!(out.status.success(), "cast {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // `123 [1.23e2]` -> `123`
        s.split(" [").next().unwrap().to_owned()
    }

    fn warp(&self, secs: u64) {
        self.cast(&["rpc", "evm_increaseTime", &secs.to_string()]);
        self.cast(&["rpc", "evm_mine"]);
    }

    /// The digits example, `steps` steps, data set path absolute; written to the home.
    fn spec(&self, steps: u64) -> PathBuf {
        let text = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap();
        let data = repo().join("data/digits.csv.gz");
        let text = text
            .replace("\"../data/digits.csv.gz\"", &format!("{:?}", data.display().to_string()))
            .replace("steps = 4000", &format!("steps = {steps}"))
            .replace("checkpoint_interval = 500\n", "");
        let path = self.home().join("job.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn register(&self, dev: usize, name: &str, endpoint: &str) -> u64 {
        let d = self.json_as(dev, &["identity", "register", "--name", name, "--stake", "1eth", "--endpoint", endpoint]);
        d["device"].as_u64().unwrap()
    }

    /// Starts `gavel <args>` as dev key `dev`, serving on `port`, logging to `<home>/<name>.log`.
    fn daemon(&self, dev: usize, name: &str, port: u16, args: &[&str]) -> Daemon {
        let log = self.home().join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut cmd = self.cmd(args);
        if let Some(rpc) = self.daemon_rpc.borrow().as_ref() {
            cmd.env("GAVEL_RPC_URL", rpc);
        }
        let child = cmd
            .env("GAVEL_PRIVATE_KEY", DEV_KEYS[dev].0)
            .env("GAVEL_LOG", "info,gavel_node=debug")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child: Some(child), log, port }
    }

    /// `gavel solve` for dev key 1.
    fn solver(&self, port: u16, data: &Path, extra: &[&str]) -> Daemon {
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["solve", "--data", data.to_str().unwrap(), "--listen", &listen, "--backend", "cpu"];
        args.extend_from_slice(&["--trace-every", "4"]);
        args.extend_from_slice(extra);
        self.daemon(SOLVER, "solver", port, &args)
    }

    /// `gavel watch` for dev key 2.
    fn watcher(&self, port: u16, data: &Path, extra: &[&str]) -> Daemon {
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["watch", "--data", data.to_str().unwrap(), "--listen", &listen, "--backend", "cpu"];
        args.extend_from_slice(&["--trace-every", "4"]);
        args.extend_from_slice(extra);
        self.daemon(WATCHER, "watcher", port, &args)
    }

    /// `gavel serve` of the submitter's content folder, with the spec added.
    fn serve(&self, spec: &Path) -> Daemon {
        let port = free_port();
        let content = self.home().join("submitter-content");
        let listen = format!("127.0.0.1:{port}");
        let args =
            ["serve", "--content", content.to_str().unwrap(), "--add", spec.to_str().unwrap(), "--listen", &listen];
        let d = self.daemon(SUBMITTER, "serve", port, &args);
        wait_for("the content server", Duration::from_secs(60), &[&d], || d.get("/v1/status").map(|_| ()));
        d
    }

    /// Job `id`'s on-chain record as `gavel job show` prints it.
    fn job(&self, id: u64) -> serde_json::Value {
        self.json_as(SUBMITTER, &["job", "show", &id.to_string()])
    }

    fn market_credit(&self, who: usize) -> String {
        self.cast(&["call", &self.address("JobMarket"), "creditOf(address)(uint256)", DEV_KEYS[who].1])
    }

    fn registry_credit(&self, who: usize) -> String {
        self.cast(&["call", &self.address("DeviceRegistry"), "creditOf(address)(uint256)", DEV_KEYS[who].1])
    }

    /// `(bonded, locked)` stake of a device, in wei.
    fn stake(&self, device: u64) -> (String, String) {
        let d = self.json_as(SUBMITTER, &["identity", "show", &device.to_string()]);
        (d["bonded_wei"].as_str().unwrap().to_owned(), d["locked_wei"].as_str().unwrap().to_owned())
    }

    /// `(jobsCompleted, disputesWon, disputesLost, amountSlashed)` of a device.
    fn reputation(&self, device: u64) -> (u64, u64, u64, String) {
        let d = self.json_as(SUBMITTER, &["identity", "show", &device.to_string()]);
        (
            d["jobs_completed"].as_u64().unwrap(),
            d["disputes_won"].as_u64().unwrap(),
            d["disputes_lost"].as_u64().unwrap(),
            d["slashed_wei"].as_str().unwrap().to_owned(),
        )
    }

    /// The roots an honest run of the spec commits to.
    fn honest_roots(&self, spec: &Path) -> (String, String) {
        let dir = self.home().join("reference").join(spec.file_stem().unwrap());
        let s = self.json_as(
            SUBMITTER,
            &[
                "run",
                spec.to_str().unwrap(),
                "--backend",
                "cpu",
                "--trace",
                dir.join("trace").to_str().unwrap(),
                "--out",
                dir.to_str().unwrap(),
            ],
        );
        (s["trace_root"].as_str().unwrap().to_owned(), s["output_root"].as_str().unwrap().to_owned())
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

/// Polls `f` until it gives a value, or panics after `limit` naming `what` and showing
/// the daemons' logs.
fn wait_for<T>(what: &str, limit: Duration, daemons: &[&Daemon], mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            let logs: Vec<String> = daemons.iter().map(|d| d.log_text()).collect();
            panic!("timed out after {limit:?} waiting for {what}; logs:\n{}", logs.join("\n-----\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until job `id` is in `state`, showing the daemons' logs on a timeout.
fn wait_state(env: &Env, id: u64, state: &str, daemons: &[&Daemon]) {
    let start = Instant::now();
    loop {
        let j = env.job(id);
        if j["state"] == state {
            return;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let logs: Vec<String> = daemons.iter().map(|d| d.log_text()).collect();
            panic!("job {id} stayed {} (wanted {state}); logs:\n{}", j["state"], logs.join("\n-----\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The daemon's summary of job `id` (`GET /v1/jobs/<id>`), once it has one.
fn node_job(d: &Daemon, id: u64) -> Option<serde_json::Value> {
    let (code, body) = d.get(&format!("/v1/jobs/{id}"))?;
    (code == 200).then(|| serde_json::from_str(&body).ok()).flatten()
}

fn node_status(d: &Daemon) -> Option<serde_json::Value> {
    let (code, body) = d.get("/v1/status")?;
    (code == 200).then(|| serde_json::from_str(&body).ok()).flatten()
}
