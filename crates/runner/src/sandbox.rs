//! The sandbox each kernel starts in: user, mount, PID and IPC namespaces
//! (and a network namespace, of its own or none), made by the
//! kernel's own process from `sandbox.py` before it becomes a kernel,
//! whether forked or started cold. This side decides the host ids a run
//! gets, what no run may see, and checks at start that a sandbox can be
//! made here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::network::Pasta;

/// The Python half: `sandbox(spec, parent)`.
pub const PYTHON: &str = include_str!("sandbox.py");

/// What `python -c` runs: the program in `HOOKBOOK_PROGRAM`, so that the
/// command line stays short in `ps` and the program never lands in a file
/// a run could see.
pub const LAUNCH: &str = "import os; exec(os.environ.pop('HOOKBOOK_PROGRAM'))";

/// When the server is root, each kernel runs as one of 65,536 host user
/// and group ids from here up, used by no account.
const RUN_IDS: u32 = 2_000_000_000;
/// Where the run ids fall back to (`nobody`) when the server's own user
/// namespace does not map the range above.
const NOBODY: u32 = 65_534;

/// The network a run has.
#[derive(Debug, Clone)]
pub enum Network {
    /// The host's own namespace, as the server has it.
    Host,
    /// A namespace of its own, connected to the host's network by `pasta`.
    Own(Pasta),
    /// A namespace of its own with nothing in it but its loopback.
    None,
}

/// How the sandboxes of this node are made.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The network runs have.
    network: Network,
    /// What no run may see: the data dir and the kernels directory.
    hide: Vec<PathBuf>,
    /// Run ids when the server is root; `None`: the server's own.
    ids: Option<RunIds>,
}

#[derive(Debug, Clone)]
struct RunIds {
    base: u32,
    count: u32,
    next: Arc<AtomicU32>,
}

/// The host ids one kernel runs as (`None`: the server's own).
pub type Owner = Option<(u32, u32)>;

impl Sandbox {
    pub fn new(network: Network, hide: Vec<PathBuf>) -> Self {
        let ids = nix::unistd::geteuid().is_root().then(|| {
            let (base, count) = if maps_range(RUN_IDS, 1 << 16) {
                (RUN_IDS, 1 << 16)
            } else {
                (NOBODY, 1)
            };
            RunIds {
                base,
                count,
                next: Arc::new(AtomicU32::new(0)),
            }
        });
        Self { network, hide, ids }
    }

    /// What connects a run's own network to the host's, when runs have one.
    pub fn pasta(&self) -> Option<&Pasta> {
        match &self.network {
            Network::Own(pasta) => Some(pasta),
            _ => None,
        }
    }

    /// The host ids of the next kernel: a fresh one per kernel when the
    /// server is root.
    pub fn next_owner(&self) -> Owner {
        self.ids.as_ref().map(|ids| {
            let id = ids.base + ids.next.fetch_add(1, Ordering::Relaxed) % ids.count;
            (id, id)
        })
    }

    /// What `sandbox.py` is given for the kernel in `dir`.
    pub fn spec(&self, dir: &Path, owner: Owner, cgroups: Vec<PathBuf>) -> Value {
        json!({
            "dir": dir,
            "work": dir.join("work"),
            "uid": owner.map(|o| o.0),
            "gid": owner.map(|o| o.1),
            "network": matches!(self.network, Network::Host),
            "pasta": self.pasta().map(Pasta::command),
            "cgroups": cgroups,
            "hide": self.hide,
        })
    }

    /// Makes one sandbox with `python` in a directory under `kernels` and
    /// checks from inside that nothing hidden shows; why not, when it
    /// cannot.
    pub async fn probe(&self, python: &Path, kernels: &Path) -> Result<(), String> {
        let dir = kernels.join("probe");
        let owner = self.next_owner();
        let made = std::fs::create_dir_all(dir.join("work"))
            .and_then(|()| std::fs::create_dir_all(dir.join("tmp")))
            .and_then(|()| chown_all(&dir, owner, &RUN_WRITES));
        if let Err(e) = made {
            return Err(format!("cannot make {}: {e}", dir.display()));
        }
        let output = tokio::process::Command::new(python)
            .arg("-c")
            .arg(LAUNCH)
            .current_dir(&dir)
            .env_clear()
            .env("HOOKBOOK_PROGRAM", format!("{PYTHON}\n{PROBE}"))
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOOKBOOK_SERVER_PID", std::process::id().to_string())
            .env(
                "HOOKBOOK_SANDBOX",
                self.spec(&dir, owner, Vec::new()).to_string(),
            )
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .output()
            .await;
        let _ = std::fs::remove_dir_all(&dir);
        let output = output.map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if output.status.success() && output.stdout == b"walled\n" {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&output.stderr);
        let last = said.lines().rev().find(|l| !l.trim().is_empty());
        Err(last
            .unwrap_or("the sandbox test exited without a reason")
            .trim()
            .to_string())
    }
}

/// Inside a new sandbox: nothing hidden may show but the probe's own
/// directory.
const PROBE: &str = r#"
import json, os, sys
spec = json.loads(os.environ.pop('HOOKBOOK_SANDBOX'))
try:
    sandbox(spec, int(os.environ.pop('HOOKBOOK_SERVER_PID')))
except Exception as e:
    print(f'no sandbox can be made here: {e}', file=sys.stderr)
    os._exit(2)
# Shown on purpose: the run's own directory, and the interpreter (read-only)
# when it lives inside the data dir, as `hookbook kernel setup` makes it.
shown = [spec['dir'], sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
for hidden in spec['hide']:
    if os.path.exists(hidden):
        for name in os.listdir(hidden):
            entry = os.path.join(hidden, name)
            if not any(s == entry or s.startswith(entry + '/') for s in shown if s):
                print(f'a run could see {entry}', file=sys.stderr)
                os._exit(3)
if os.getuid() == 0 or os.getpid() != 1:
    print('the sandbox kept root or the PID namespace failed', file=sys.stderr)
    os._exit(4)
print('walled', flush=True)
os._exit(0)
"#;

/// Gives `dir`, its files and the subdirectories named to the kernel's
/// owner, when it has one.
/// The directories of a kernel's own directory that its run writes: its
/// working directory and what it sees as `/tmp`.
pub const RUN_WRITES: [&str; 2] = ["work", "tmp"];

pub fn chown_all(dir: &Path, owner: Owner, subdirs: &[&str]) -> std::io::Result<()> {
    let Some((uid, gid)) = owner else {
        return Ok(());
    };
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || subdirs.iter().any(|s| name == *s) {
            std::os::unix::fs::chown(entry.path(), Some(uid), Some(gid))?;
        }
    }
    Ok(())
}

/// Whether this process's user namespace maps the host-side ids
/// `[first, first + count)` (a root server in a container may have fewer).
fn maps_range(first: u32, count: u32) -> bool {
    let Ok(map) = std::fs::read_to_string("/proc/self/uid_map") else {
        return false;
    };
    map.lines().any(|line| {
        let n: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        n.len() == 3
            && n[0] <= u64::from(first)
            && u64::from(first) + u64::from(count) <= n[0] + n[2]
    })
}

/// The environment variable through which a kernel's Python (and the fork
/// server's) learns its CPU policy (`yield_cpu` in `sandbox.py`), and its
/// value for `idle`.
pub fn run_cpu_env(idle: bool) -> (&'static str, &'static str) {
    ("HOOKBOOK_RUN_CPU", if idle { "idle" } else { "normal" })
}

/// What bounds every kernel of a pool: its share of the CPU, its cgroup,
/// the limits set there (a runtime's), and its sandbox.
#[derive(Debug, Clone, Default)]
pub struct Walls {
    /// Whether kernels run under `SCHED_IDLE` (`--run-cpu idle`).
    pub idle: bool,
    pub cgroups: Option<super::cgroup::Cgroups>,
    pub limits: hookbook_core::domain::runtime::Limits,
    pub sandbox: Option<Sandbox>,
}
