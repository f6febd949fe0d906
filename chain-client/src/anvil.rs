//! Finding and starting anvil, the local chain.
//!
//! The anvil binary is the npm-pinned one that `scripts/bootstrap` installs in
//! `node_modules/.bin/`; [`find_tool`] looks for it above the working directory and above
//! the running executable, or takes `GAVEL_ANVIL` / `GAVEL_CAST`.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// Finds `tool` (`anvil`, `cast`): `$GAVEL_<TOOL>`, else `node_modules/.bin/<tool>` in
/// `start` or a folder above it, else above the running executable.
pub fn find_tool(tool: &str, start: &Path) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(format!("GAVEL_{}", tool.to_uppercase())).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Anvil(format!("GAVEL_{} points at {}, which does not exist", tool.to_uppercase(), p.display())))
        };
    }
    let exe = std::env::current_exe().ok();
    let roots = start.ancestors().chain(exe.iter().flat_map(|e| e.ancestors()));
    for dir in roots {
        let candidate = dir.join("node_modules/.bin").join(tool);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(Error::Anvil(format!(
        "{tool} not found in node_modules/.bin above {}: run scripts/bootstrap in the gavel checkout \
         (it installs the pinned Foundry tools) or set GAVEL_{}",
        start.display(),
        tool.to_uppercase()
    )))
}

/// How to start anvil.
#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// The anvil binary.
    pub bin: PathBuf,
    /// The port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Number of funded dev accounts.
    pub accounts: u32,
    /// Ether per dev account.
    pub balance_eth: u64,
    /// Seconds per block, or `None` to mine on every transaction.
    pub block_time: Option<u64>,
    /// Where anvil's output goes (it is read back for the port).
    pub log: PathBuf,
    /// Start in a new process group, so the chain outlives the command that started it.
    pub detach: bool,
}

/// A running anvil.
#[derive(Debug)]
pub struct Anvil {
    /// The process.
    pub child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Anvil {
    /// The JSON-RPC endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts anvil on loopback and waits (up to `timeout`) until it listens.
    pub fn start(opts: &AnvilOptions, timeout: Duration) -> Result<Self> {
        if let Some(dir) = opts.log.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let log = std::fs::File::create(&opts.log).map_err(|e| Error::io(&opts.log, e))?;
        let log2 = log.try_clone().map_err(|e| Error::io(&opts.log, e))?;
        let mut cmd = Command::new(&opts.bin);
        cmd.args(["--host", "127.0.0.1", "--port", &opts.port.to_string()])
            .args(["--accounts", &opts.accounts.to_string(), "--balance", &opts.balance_eth.to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        if let Some(t) = opts.block_time {
            cmd.args(["--block-time", &t.to_string()]);
        }
        #[cfg(unix)]
        if opts.detach {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| Error::Anvil(format!("cannot start {}: {e}", opts.bin.display())))?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().map_err(|e| Error::Anvil(e.to_string()))? {
                let tail = std::fs::read_to_string(&opts.log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                return Err(Error::Anvil(format!(
                    "anvil exited ({status}) before listening (port {} in use? try --port): {}",
                    opts.port,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )));
            }
            if let Some(port) = listening_port(&opts.log) {
                return Ok(Self { child, port });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Anvil(format!(
                    "anvil did not listen within {timeout:?}; see {}",
                    opts.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The port from anvil's `Listening on 127.0.0.1:PORT` line, once it is printed.
fn listening_port(log: &Path) -> Option<u16> {
    let f = std::fs::File::open(log).ok()?;
    BufReader::new(f)
        .lines()
        .map_while(std::result::Result::ok)
        .find_map(|l| l.trim().strip_prefix("Listening on ").and_then(|a| a.rsplit(':').next()?.parse().ok()))
}

/// Whether a process with this id is alive (and not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// The command line of a process, if it is alive.
pub fn pid_cmdline(pid: u32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/cmdline")).ok().map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
}

/// Sends `signal` (`TERM`, `KILL`) to one process.
pub fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .map_err(|e| Error::Anvil(format!("kill: {e}")))?;
    if status.success() { Ok(()) } else { Err(Error::Anvil(format!("cannot signal process {pid}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("anvil.log");
        std::fs::write(&log, "banner\n\nListening on 127.0.0.1:40123\n").unwrap();
        assert_eq!(listening_port(&log), Some(40123));
        std::fs::write(&log, "banner\n").unwrap();
        assert_eq!(listening_port(&log), None);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(pid_cmdline(std::process::id()).is_some());
    }
}
