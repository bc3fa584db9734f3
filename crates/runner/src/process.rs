//! A kernel's process: started cold by hookbook (a child it reaps), or
//! forked by the fork server (a process of the fork server's, which reaps
//! it; hookbook watches its pid).

use std::time::Duration;

use nix::sys::signal::{kill, Signal};

/// Whether process `pid` exists and has not ended: a zombie (ended, not
/// yet reaped, as a kernel whose fork server died may be until init
/// reaps it) counts as ended.
pub fn is_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Returns once process `pid` has ended, looking every `poll` (it may not
/// be a child, so there is nothing to wait on).
pub async fn ended(pid: i32, poll: Duration) {
    while is_running(pid) {
        tokio::time::sleep(poll).await;
    }
}
use nix::unistd::Pid;

pub enum KernelProcess {
    Spawned(tokio::process::Child),
    Forked(i32),
}

impl KernelProcess {
    pub fn pid(&self) -> i32 {
        match self {
            KernelProcess::Spawned(child) => child.id().map_or(0, |p| p as i32),
            KernelProcess::Forked(pid) => *pid,
        }
    }

    /// How it ended, once it has.
    pub fn exited(&mut self) -> Option<String> {
        match self {
            KernelProcess::Spawned(child) => match child.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) => None,
                Err(e) => Some(e.to_string()),
            },
            KernelProcess::Forked(pid) => (!is_running(*pid)).then(|| "it is gone".into()),
        }
    }

    /// Waits until it has ended.
    pub async fn wait(&mut self) {
        match self {
            KernelProcess::Spawned(child) => {
                let _ = child.wait().await;
            }
            KernelProcess::Forked(pid) => ended(*pid, Duration::from_millis(10)).await,
        }
    }

    /// Kills it and waits until it has ended.
    pub async fn kill(&mut self) {
        match self {
            KernelProcess::Spawned(child) => {
                let _ = child.kill().await;
            }
            KernelProcess::Forked(pid) => {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                let _ = tokio::time::timeout(Duration::from_secs(5), self.wait()).await;
            }
        }
    }
}
