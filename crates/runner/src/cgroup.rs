//! Limits per run, through a cgroup per kernel where the machine lets
//! hookbook make cgroups (cgroup v2, or cgroup v1's `pids`, `memory` and
//! `cpu` hierarchies): `pids.max` for every run, and a runtime's `maxMemory`
//! and `maxCpu` (`memory.max`/`memory.limit_in_bytes`, `cpu.max`/
//! `cpu.cfs_quota_us`). A notebook that forks without end stops at the
//! limit, one past its memory is killed by the kernel (and the run says
//! so), and ending a run kills every process in its cgroup, also those
//! that left the kernel's process group. With `--run-cpu idle` the
//! server's `cpu` directory is an idle group, so that a kernel limited
//! there stays below every thread of the server.

use std::path::{Path, PathBuf};

use hookbook_core::domain::runtime::Limits;

/// The scheduler period a CPU quota is a share of (100 ms, the kernel's
/// default).
const CPU_PERIOD_US: u64 = 100_000;

/// The cgroup directories under which this server makes one per kernel.
#[derive(Debug, Clone)]
pub struct Cgroups {
    /// Where `pids.max` is set, unless runs have no process limit.
    pids: Option<Hierarchy>,
    memory: Option<Hierarchy>,
    cpu: Option<Hierarchy>,
    pids_max: u32,
    /// Whether the `cpu` directory of this server is an idle group
    /// (`cpu.idle`): the kernels of runtimes with `maxCpu`, whose groups
    /// are there, then stay below the server as their processes do
    /// (`SCHED_IDLE`), rather than competing with it as groups.
    cpu_idle: bool,
}

/// This server's directory in one hierarchy. On cgroup v2 every
/// controller shares one.
#[derive(Debug, Clone, PartialEq)]
struct Hierarchy {
    base: PathBuf,
    /// cgroup v2: the directory must hand its controllers down.
    v2: bool,
}

/// One kernel's cgroup: a directory in each hierarchy it is limited in.
#[derive(Debug)]
pub struct Group {
    dirs: Vec<PathBuf>,
    /// Where its memory events are counted, when its memory is limited.
    memory: Option<(PathBuf, bool)>,
}

/// The controllers a kernel's cgroup may use.
const CONTROLLERS: [&str; 3] = ["pids", "memory", "cpu"];

/// The mounted hierarchies hookbook may use.
struct Roots {
    /// The v2 hierarchy and which of the controllers it has.
    unified: Option<(PathBuf, Vec<String>)>,
    /// The v1 hierarchy of each controller that has one.
    v1: Vec<(&'static str, PathBuf)>,
}

/// The v2 hierarchy (when mounted with at least one of the controllers),
/// and the v1 hierarchy of each controller that has one.
fn roots() -> Roots {
    let v2 = PathBuf::from("/sys/fs/cgroup");
    let unified = std::fs::read_to_string(v2.join("cgroup.controllers"))
        .ok()
        .map(|c| {
            c.split_whitespace()
                .filter(|c| CONTROLLERS.contains(c))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .map(|c| (v2.clone(), c));
    let mut v1 = Vec::new();
    for (controller, dirs, probe) in [
        ("pids", &["pids"][..], "tasks"),
        ("memory", &["memory"][..], "memory.limit_in_bytes"),
        (
            "cpu",
            &["cpu", "cpu,cpuacct", "cpuacct,cpu"][..],
            "cpu.cfs_quota_us",
        ),
    ] {
        if let Some(dir) = dirs
            .iter()
            .map(|d| v2.join(d))
            .find(|d| d.join(probe).exists())
        {
            v1.push((controller, dir));
        }
    }
    Roots { unified, v1 }
}

impl Cgroups {
    /// Makes `hookbook-<tag>` in each writable hierarchy, after sweeping
    /// what servers that died left there; `pids_max` 0 sets no process
    /// limit; `idle`: the kernels get only the CPU the server leaves (an
    /// idle group, where the kernel has it). Why not, when no controller
    /// can be used.
    pub fn prepare(tag: &str, pids_max: u32, idle: bool) -> Result<Self, String> {
        let name = format!("hookbook-{tag}");
        let mut found = Self {
            pids: None,
            memory: None,
            cpu: None,
            pids_max,
            cpu_idle: false,
        };
        let mut reasons = Vec::new();
        let Roots { unified, v1 } = roots();
        if let Some((root, controllers)) = unified {
            let base = root.join(&name);
            sweep(&root, &base);
            match make_v2_base(&root, &base, &controllers) {
                Ok(handed) => {
                    let h = Hierarchy { base, v2: true };
                    for c in handed {
                        *found.slot(&c) = Some(h.clone());
                    }
                }
                Err(e) => reasons.push(format!("{}: {e}", base.display())),
            }
        }
        for (controller, root) in v1 {
            if found.slot(controller).is_some() {
                continue;
            }
            let base = root.join(&name);
            sweep(&root, &base);
            match std::fs::create_dir_all(&base) {
                Ok(()) => *found.slot(controller) = Some(Hierarchy { base, v2: false }),
                Err(e) => reasons.push(format!("{}: {e}", base.display())),
            }
        }
        if pids_max == 0 {
            found.pids = None;
        }
        if let Some(h) = found.cpu.as_ref().filter(|_| idle) {
            match std::fs::write(h.base.join("cpu.idle"), "1") {
                Ok(()) => found.cpu_idle = true,
                Err(e) => tracing::info!(
                    "kernels run under SCHED_IDLE, but {} cannot be an idle group ({e}): \
                     the kernels of runtimes with maxCpu compete with the server",
                    h.base.display()
                ),
            }
        }
        if found.pids.is_none() && found.memory.is_none() && found.cpu.is_none() {
            if reasons.is_empty() {
                reasons.push(
                    "no cgroup hierarchy with the pids, memory or cpu controller is mounted".into(),
                );
            }
            return Err(reasons.join("; "));
        }
        Ok(found)
    }

    fn slot(&mut self, controller: &str) -> &mut Option<Hierarchy> {
        match controller {
            "pids" => &mut self.pids,
            "memory" => &mut self.memory,
            _ => &mut self.cpu,
        }
    }

    /// What this node's cgroups can limit, for the log.
    pub fn describe(&self) -> String {
        let mut can = Vec::new();
        if self.pids.is_some() {
            can.push(format!("processes ({})", self.pids_max));
        }
        if self.memory.is_some() {
            can.push("memory".to_string());
        }
        if self.cpu.is_some() {
            can.push("CPU".to_string());
        }
        can.join(", ")
    }

    /// Every distinct directory of this server.
    fn bases(&self) -> Vec<&Hierarchy> {
        let mut bases: Vec<&Hierarchy> = Vec::new();
        for h in [&self.pids, &self.memory, &self.cpu].into_iter().flatten() {
            if !bases.contains(&h) {
                bases.push(h);
            }
        }
        bases
    }

    /// Removes this server's cgroup directories at stop, once no run is
    /// left: a kernel group still there is emptied (its processes killed)
    /// and removed first; tried for up to five seconds.
    pub async fn remove(&self) {
        for h in self.bases() {
            remove_base(&h.base).await;
        }
    }

    /// Makes a new cgroup `name` for a kernel about to start: at most
    /// `pids_max` processes and threads, and `limits`. An error when a
    /// limit asked for cannot be set here. Tried twice: another server's
    /// sweep may remove a cgroup in the moment before it holds a process.
    pub fn make(&self, name: &str, limits: &Limits) -> std::io::Result<Group> {
        self.try_make(name, limits)
            .or_else(|_| self.try_make(name, limits))
    }

    fn try_make(&self, name: &str, limits: &Limits) -> std::io::Result<Group> {
        let cannot = |what: &str| {
            std::io::Error::other(format!(
                "this node cannot limit a run's {what}: no cgroup {what} controller it may use"
            ))
        };
        let memory = match limits.max_memory {
            Some(bytes) => Some((self.memory.as_ref().ok_or_else(|| cannot("memory"))?, bytes)),
            None => None,
        };
        let cpu = match limits.max_cpu {
            Some(cores) => Some((self.cpu.as_ref().ok_or_else(|| cannot("cpu"))?, cores)),
            None => None,
        };
        let mut group = Group {
            dirs: Vec::new(),
            memory: None,
        };
        if let Some(h) = &self.pids {
            let dir = group.dir_in(h, name)?;
            std::fs::write(dir.join("pids.max"), self.pids_max.to_string())?;
        }
        if let Some((h, bytes)) = memory {
            let dir = group.dir_in(h, name)?;
            if h.v2 {
                std::fs::write(dir.join("memory.max"), bytes.to_string())?;
                // Past its memory a run is stopped, not swapped.
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
            } else {
                std::fs::write(dir.join("memory.limit_in_bytes"), bytes.to_string())?;
                let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), bytes.to_string());
            }
            group.memory = Some((dir, h.v2));
        }
        if let Some((h, cores)) = cpu {
            let dir = group.dir_in(h, name)?;
            if self.cpu_idle {
                // Again: a sweep may have made the directory anew.
                std::fs::write(h.base.join("cpu.idle"), "1")?;
            }
            let quota = ((cores * CPU_PERIOD_US as f64) as u64).max(1_000);
            if h.v2 {
                std::fs::write(dir.join("cpu.max"), format!("{quota} {CPU_PERIOD_US}"))?;
            } else {
                std::fs::write(dir.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
                std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
            }
        }
        Ok(group)
    }
}

/// Makes this server's v2 directory `base` under `root` and hands the
/// controllers down to it and from it; the controllers handed.
fn make_v2_base(root: &Path, base: &Path, controllers: &[String]) -> std::io::Result<Vec<String>> {
    for c in controllers {
        // Children of the root get a controller only when the root hands
        // it down (it may already).
        let _ = std::fs::write(root.join("cgroup.subtree_control"), format!("+{c}"));
    }
    std::fs::create_dir_all(base)?;
    let mut handed = Vec::new();
    for c in controllers {
        if std::fs::write(base.join("cgroup.subtree_control"), format!("+{c}")).is_ok() {
            handed.push(c.clone());
        }
    }
    if handed.is_empty() {
        return Err(std::io::Error::other("no controller could be handed down"));
    }
    Ok(handed)
}

/// Removes one of this server's directories (see [`Cgroups::remove`]).
async fn remove_base(base: &Path) {
    for _ in 0..250 {
        // Kernels still ending (a shutdown in flight, or a kernel that
        // died with the fork server) may hold their groups: whatever is
        // left in them is killed, and the groups go first.
        if let Ok(groups) = std::fs::read_dir(base) {
            for group in groups.flatten().filter(|e| e.path().is_dir()) {
                kill_all(&group.path());
                let _ = tokio::fs::remove_dir(group.path()).await;
            }
        }
        if tokio::fs::remove_dir(base).await.is_ok() || !base.exists() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tracing::warn!("the cgroup {} could not be removed", base.display());
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
    /// The group's directory in `h`, made (with `h`'s own when another
    /// server's sweep removed it).
    fn dir_in(&mut self, h: &Hierarchy, name: &str) -> std::io::Result<PathBuf> {
        let dir = h.base.join(name);
        if self.dirs.contains(&dir) {
            return Ok(dir);
        }
        if !h.base.exists() {
            std::fs::create_dir_all(&h.base)?;
            if h.v2 {
                for c in CONTROLLERS {
                    let _ = std::fs::write(h.base.join("cgroup.subtree_control"), format!("+{c}"));
                }
            }
        }
        std::fs::create_dir_all(&dir)?;
        self.dirs.push(dir.clone());
        Ok(dir)
    }

    /// The files a process writes its pid to, to join.
    pub fn procs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Moves process `pid` into the group.
    pub fn add(&self, pid: i32) -> std::io::Result<()> {
        for procs in self.procs() {
            std::fs::write(procs, pid.to_string())?;
        }
        Ok(())
    }

    /// Whether the kernel killed a process of the group for going past its
    /// memory limit.
    pub fn out_of_memory(&self) -> bool {
        let Some((dir, v2)) = &self.memory else {
            return false;
        };
        let file = if *v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        std::fs::read_to_string(dir.join(file)).is_ok_and(|text| {
            text.lines().any(|line| {
                let mut words = line.split_whitespace();
                words.next() == Some("oom_kill")
                    && words
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0)
                        > 0
            })
        })
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
                tracing::warn!("the cgroup {:?} could not be removed", self.dirs);
            }
        });
    }

    /// Kills and tries to remove the group `times` times, `pause_ms` apart.
    async fn try_remove(&self, times: u32, pause_ms: u64) -> bool {
        for _ in 0..times {
            let mut gone = true;
            for dir in &self.dirs {
                kill_all(dir);
                if tokio::fs::remove_dir(dir).await.is_err() && dir.exists() {
                    gone = false;
                }
            }
            if gone {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        }
        false
    }
}
