//! A run's own network: each sandboxed kernel unshares a network namespace
//! of its own, and `pasta` (from passt) connects it to the host's network
//! as a program on the host would reach out, translating its packets into
//! the host's own sockets. So a run reaches ArcGIS and the internet, and
//! this server's port (forwarded to its loopback), but not the host's
//! loopback services (a database that trusts local connections), other
//! runs' abstract Unix sockets, or the host's `/proc/net`. `pasta` exits
//! when the namespace goes, with the kernel.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `pasta` may take to set a namespace up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A run's IPv4 address in its own namespace, and its gateway.
const RUN_ADDRESS: &str = "198.18.0.2";
const RUN_GATEWAY: &str = "198.18.0.1";

/// Where `pasta` is looked for.
const PLACES: [&str; 3] = ["/usr/bin/pasta", "/usr/sbin/pasta", "/usr/local/bin/pasta"];

/// How runs' namespaces are connected.
#[derive(Debug, Clone)]
pub struct Pasta {
    program: PathBuf,
    /// This server's port, reachable on a run's own loopback.
    port: u16,
}

impl Pasta {
    /// `pasta`, if it is installed and runs; forwarding `port`.
    pub fn find(port: u16) -> Option<Self> {
        let program = PLACES.iter().map(Path::new).find(|p| p.is_file())?;
        let runs = std::process::Command::new(program)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        runs.then(|| Self {
            program: program.to_path_buf(),
            port,
        })
    }

    /// Connects the network namespace of the process `pid` (a kernel's
    /// keeper, which made it) to the host's network.
    pub async fn connect(&self, pid: i32) -> Result<(), String> {
        let port = self.port.to_string();
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(["--config-net", "--quiet", "--no-map-gw"])
            // An address of its own (from the benchmarking range, which
            // no real network uses), not the host's: so the host's own
            // address is reached through pasta, as from any other machine.
            .args([
                "--address",
                RUN_ADDRESS,
                "--netmask",
                "30",
                "--gateway",
                RUN_GATEWAY,
            ])
            // Nothing comes in; out of the namespace only this server's
            // port is forwarded to the host's loopback.
            .args(["-t", "none", "-u", "none", "-U", "none", "-T", &port])
            .args(["--log-file", "/dev/null"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if nix::unistd::geteuid().is_root() {
            // It drops to `nobody` otherwise, which cannot enter the
            // namespaces a root server's kernels make; it confines itself
            // (its own namespaces and seccomp filter) once it has.
            command.args(["--runas", "0"]);
        }
        command.arg(pid.to_string());
        let output = tokio::time::timeout(CONNECT_TIMEOUT, command.output())
            .await
            .map_err(|_| format!("pasta did not connect the run's network in {CONNECT_TIMEOUT:?}"))?
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let said: String = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| !l.contains("syslog"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(format!("pasta could not connect the run's network: {said}"))
    }
}
