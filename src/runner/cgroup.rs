//! A process limit per run: each kernel in a cgroup of its own with
//! `pids.max`, where the machine lets hookbook make cgroups (cgroup v1's
//! `pids` hierarchy, or cgroup v2 with the `pids` controller). A notebook
//! that forks without end stops at the limit instead of exhausting the
//! machine, and ending a run kills every process in its cgroup, also those
//! that left the kernel's process group.

use std::path::{Path, PathBuf};

/// The cgroup directory under which this server makes one per kernel.
#[derive(Debug, Clone)]
pub struct Cgroups {
    base: PathBuf,
    pids_max: u32,
    /// cgroup v2: the directory must hand the controller down.
    v2: bool,
}

/// One kernel's cgroup.
#[derive(Debug)]
pub struct Group {
    dir: PathBuf,
}

/// The writable `pids` hierarchies to try, in order.
fn hierarchies() -> Vec<PathBuf> {
    let v2 = PathBuf::from("/sys/fs/cgroup");
    let mut found = Vec::new();
    if std::fs::read_to_string(v2.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "pids"))
    {
        found.push(v2.clone());
    }
    if v2.join("pids/tasks").exists() {
        found.push(v2.join("pids"));
    }
    found
}

impl Cgroups {
    /// Makes `hookbook-<tag>` in the first writable `pids` hierarchy, after
    /// sweeping what servers that died left there; why not, when none is.
    pub fn prepare(tag: &str, pids_max: u32) -> Result<Self, String> {
        let mut reasons = Vec::new();
        for root in hierarchies() {
            let base = root.join(format!("hookbook-{tag}"));
            let v2 = !root.ends_with("pids");
            if v2 {
                // Children of the root get `pids.max` only when the root
                // hands the controller down.
                let _ = std::fs::write(root.join("cgroup.subtree_control"), "+pids");
            }
            sweep(&root, &base);
            match std::fs::create_dir_all(&base) {
                Ok(()) => {
                    if v2 {
                        if let Err(e) = std::fs::write(base.join("cgroup.subtree_control"), "+pids")
                        {
                            reasons.push(format!("{}: {e}", base.display()));
                            continue;
                        }
                    }
                    return Ok(Self { base, pids_max, v2 });
                }
                Err(e) => reasons.push(format!("{}: {e}", base.display())),
            }
        }
        if reasons.is_empty() {
            reasons.push("no cgroup hierarchy with the pids controller is mounted".into());
        }
        Err(reasons.join("; "))
    }

    /// Removes this server's cgroup directory at stop, once no run is left:
    /// a kernel group still there is emptied (its processes killed) and
    /// removed first; tried for up to five seconds.
    pub async fn remove(&self) {
        for _ in 0..250 {
            // Kernels still ending (a shutdown in flight, or a kernel that
            // died with the fork server) may hold their groups: whatever is
            // left in them is killed, and the groups go first.
            if let Ok(groups) = std::fs::read_dir(&self.base) {
                for group in groups.flatten().filter(|e| e.path().is_dir()) {
                    kill_all(&group.path());
                    let _ = tokio::fs::remove_dir(group.path()).await;
                }
            }
            if tokio::fs::remove_dir(&self.base).await.is_ok() || !self.base.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::warn!("the cgroup {} could not be removed", self.base.display());
    }

    /// Makes a new cgroup `name` limited to `pids_max` processes and
    /// threads, for a kernel about to start. Tried twice: another server's
    /// sweep may remove a cgroup in the moment before it holds a process.
    pub fn make(&self, name: &str) -> std::io::Result<Group> {
        self.try_make(name).or_else(|_| self.try_make(name))
    }

    fn try_make(&self, name: &str) -> std::io::Result<Group> {
        if !self.base.exists() {
            // Swept by another server starting: made again.
            std::fs::create_dir_all(&self.base)?;
            if self.v2 {
                std::fs::write(self.base.join("cgroup.subtree_control"), "+pids")?;
            }
        }
        let dir = self.base.join(name);
        std::fs::create_dir_all(&dir)?;
        let group = Group { dir };
        std::fs::write(group.dir.join("pids.max"), self.pids_max.to_string())?;
        Ok(group)
    }
}

/// Removes the cgroups that servers which died left under `root`: kernel
/// cgroups whose processes are all gone, then `hookbook-*` directories left
/// empty. A live server's empty directory may go too; `join` makes it again.
/// Under `mine` (the directory of this data dir's kernels, left by an
/// earlier server of the same data dir) every process is killed first.
fn sweep(root: &Path, mine: &Path) {
    let Ok(servers) = std::fs::read_dir(root) else {
        return;
    };
    for server in servers.flatten() {
        let path = server.path();
        let ours = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("hookbook-"));
        if !ours || !path.is_dir() {
            continue;
        }
        if let Ok(kernels) = std::fs::read_dir(&path) {
            for kernel in kernels.flatten() {
                if path == mine && kernel.path().is_dir() {
                    kill_all(&kernel.path());
                    wait_empty(&kernel.path());
                }
                let empty = std::fs::read_to_string(kernel.path().join("cgroup.procs"))
                    .is_ok_and(|p| p.trim().is_empty());
                if kernel.path().is_dir() && empty {
                    let _ = std::fs::remove_dir(kernel.path());
                }
            }
        }
        let _ = std::fs::remove_dir(&path);
    }
}

/// Waits (up to a second) until the cgroup at `dir` holds no process.
fn wait_empty(dir: &Path) {
    for _ in 0..50 {
        let empty =
            std::fs::read_to_string(dir.join("cgroup.procs")).map_or(true, |p| p.trim().is_empty());
        if empty {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Sends SIGKILL to every process in the cgroup at `dir`.
fn kill_all(dir: &Path) {
    let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
        return;
    };
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

impl Group {
    /// The file a process writes its pid to, to join.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Moves process `pid` into the group.
    pub fn add(&self, pid: i32) -> std::io::Result<()> {
        std::fs::write(self.procs(), pid.to_string())
    }

    /// Kills every process left in the cgroup and removes it (a cgroup can
    /// be removed once its processes are gone). On a loaded machine killed
    /// processes can take seconds to be gone: after one second of trying,
    /// a background task goes on trying for two minutes, so that the run
    /// is not held up and the group does not stay behind.
    pub async fn end(self) {
        if self.try_remove(50, 20).await {
            return;
        }
        tokio::spawn(async move {
            if !self.try_remove(240, 500).await {
                tracing::warn!("the cgroup {} could not be removed", self.dir.display());
            }
        });
    }

    /// Kills and tries to remove the group `times` times, `pause_ms` apart.
    async fn try_remove(&self, times: u32, pause_ms: u64) -> bool {
        for _ in 0..times {
            kill_all(&self.dir);
            if tokio::fs::remove_dir(&self.dir).await.is_ok() || !self.dir.exists() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        }
        false
    }
}
