//! A child process that dies with its test: on drop (a panic included) it
//! and the process groups of its own children (a server's kernels) are
//! killed and reaped, so no server or kernel outlives the test that
//! started it.

use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, ExitStatus, Output};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

pub struct Process(Option<Child>, Option<std::path::PathBuf>);

/// The data dir a `hookbook serve` command names, by flag or variable.
fn data_dir_of(command: &Command) -> Option<std::path::PathBuf> {
    let args: Vec<&std::ffi::OsStr> = command.get_args().collect();
    if !args.iter().any(|a| *a == "serve") {
        return None;
    }
    let flag = args
        .windows(2)
        .find(|w| w[0] == "--data-dir")
        .map(|w| std::path::PathBuf::from(w[1]));
    flag.or_else(|| {
        command
            .get_envs()
            .find(|(k, _)| *k == "HOOKBOOK_DATA_DIR")
            .and_then(|(_, v)| v.map(std::path::PathBuf::from))
    })
}

impl Process {
    /// Spawns `command`; panics, naming it, when it cannot start. A
    /// hookbook server's kernels directory goes when the process is
    /// dropped.
    pub fn spawn(command: &mut Command) -> Self {
        let kernels = data_dir_of(command).and_then(|d| hookbook::startup::kernels_dir(&d).ok());
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Self(Some(child), kernels)
    }

    /// SIGKILL, as a crash would: only the process itself, not its
    /// children (a server's kernels must notice on their own). Reaped.
    pub fn kill(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, the graceful stop.
    pub fn terminate(&self) {
        let _ = kill(Pid::from_raw(self.id() as i32), Signal::SIGTERM);
    }

    /// Waits for the process to end and gathers its piped output.
    pub fn wait_with_output(mut self) -> Output {
        self.0
            .take()
            .expect("a process")
            .wait_with_output()
            .expect("the process's output")
    }

    pub fn wait(&mut self) -> ExitStatus {
        self.0.as_mut().expect("a process").wait().expect("waited")
    }
}

impl Deref for Process {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("a process")
    }
}

impl DerefMut for Process {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("a process")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        // The descendants first: once their parent is gone they are harder
        // to find. Each kernel (forked by the fork server, or started cold)
        // leads a process group of its own.
        for pid in descendants_of(child.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
        if let Some(kernels) = &self.1 {
            let _ = std::fs::remove_dir_all(kernels);
        }
    }
}

/// The processes whose parent is `parent`, read from `/proc`.
pub fn children_of(parent: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

/// The children of `parent`, their children, and so on.
pub fn descendants_of(parent: u32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut pending = vec![parent];
    while let Some(p) = pending.pop() {
        for child in children_of(p) {
            found.push(child);
            pending.push(child as u32);
        }
    }
    found
}

/// Whether `pid` is a descendant of `ancestor`.
pub fn descends_from(pid: i32, ancestor: u32) -> bool {
    let mut at = pid;
    for _ in 0..64 {
        match parent_of(at) {
            Some(p) if p == ancestor => return true,
            Some(p) if p > 1 => at = p as i32,
            _ => return false,
        }
    }
    false
}

/// The parent of `pid`, from `/proc/<pid>/stat` (the field after the
/// command name, which may itself hold spaces and parentheses).
pub fn parent_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The processes, seen from here, one of whose arguments is `argument`
/// (a run's processes have pids of their own namespace inside the run).
pub fn with_argument(argument: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == argument.as_bytes()))
        })
        .collect()
}

/// Waits (up to `seconds`) until no process has `argument` among its
/// arguments; false when one still has.
pub async fn gone(argument: &str, seconds: u64) -> bool {
    let within = std::time::Duration::from_secs(seconds);
    super::wait::within(within, || with_argument(argument).is_empty()).await
}

/// `hookbook ARGS` run to its end with `stdin`, outside any site the
/// environment names; (exit code, stdout, stderr).
pub fn hookbook(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookbook"))
        .args(args)
        .env_remove("HOOKBOOK_DATA_DIR")
        .env_remove("HOOKBOOK_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hookbook starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
