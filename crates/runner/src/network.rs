//! A run's own network: each sandboxed kernel unshares a network namespace
//! of its own, and `pasta` (from passt) connects it to the host's network
//! as a program on the host would reach out, translating its packets into
//! the host's own sockets. So a run reaches ArcGIS and the internet, and
//! this server's port (forwarded to its loopback), but not the host's
//! loopback services (a database that trusts local connections), other
//! runs' abstract Unix sockets, or the host's `/proc/net`. The kernel's
//! keeper starts `pasta` (`sandbox.py`): it lives in the keeper's process
//! group and dies with the keeper, so it never outlives its run.

use std::path::{Path, PathBuf};

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

    /// pasta's command line for a run's namespace, less the keeper's pid
    /// that ends it (`sandbox.py` runs it: in the foreground, in the
    /// keeper's process group, dying with the keeper).
    pub fn command(&self) -> Vec<String> {
        let mut argv: Vec<String> = [
            self.program.to_string_lossy().as_ref(),
            "--foreground",
            "--config-net",
            "--quiet",
            "--no-map-gw",
            // An address of its own (from the benchmarking range, which no
            // real network uses), not the host's: so the host's own address
            // is reached through pasta, as from any other machine.
            "--address",
            RUN_ADDRESS,
            "--netmask",
            "30",
            "--gateway",
            RUN_GATEWAY,
            // Nothing comes in; out of the namespace only this server's
            // port is forwarded to the host's loopback.
            "-t",
            "none",
            "-u",
            "none",
            "-U",
            "none",
            "--log-file",
            "/dev/null",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.extend(["-T".to_string(), self.port.to_string()]);
        if nix::unistd::geteuid().is_root() {
            // It drops to `nobody` otherwise, which cannot enter the
            // namespaces a root server's kernels make; it confines itself
            // (its own namespaces and seccomp filter) once it has.
            argv.extend(["--runas".to_string(), "0".to_string()]);
        }
        argv
    }
}
