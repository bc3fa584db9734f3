//! Kernels whose runs the tests script, per job: each attempt of a job
//! takes the next of its scripts (none left: it completes). Every kernel
//! handed out is logged (its job, how its run ended, when it was killed)
//! in a channel tests wait on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::execute::{RunBounds, RunEnd};
use crate::executor::{Executor, RunKernel};
use crate::kernel::KernelError;
use crate::outputs::OutputBudget;
use crate::pools::RuntimeEnv;
use hookbook_core::domain::ids::JobId;

/// How long, on the paused clock, a test waits for what it expects
/// before it fails (rather than wait for ever on a runner that is wrong).
pub const PATIENCE: Duration = Duration::from_secs(3600);

/// What a run on a scripted kernel does.
#[derive(Debug, Clone, Copy)]
pub enum Script {
    /// Runs for this long, then completes (unless stopped before).
    Takes(Duration),
    /// Cell `n` raises `ValueError`.
    RaisesIn(usize),
    /// Runs until its time limit or until it is stopped.
    Hangs,
    /// Its process dies.
    Dies,
}

/// A kernel handed out, as the tests see it afterwards.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Its run's job (from the run's `HOOKBOOK_JOB_ID`).
    pub job: Option<JobId>,
    pub end: Option<RunEnd>,
    /// When it was killed (tokio's clock).
    pub killed: Option<Instant>,
}

/// Each job's scripts left, the next last.
type Scripts = Arc<Mutex<HashMap<JobId, Vec<Script>>>>;

#[derive(Default)]
pub struct Scripted {
    scripts: Scripts,
    /// Every checkout fails: no kernel can be started.
    broken: bool,
    seen: Arc<watch::Sender<Vec<Seen>>>,
}

impl Scripted {
    /// Kernels none of which can start.
    pub fn broken() -> Self {
        Self {
            broken: true,
            ..Self::default()
        }
    }

    /// What `job`'s attempts do, in order.
    pub fn script(&self, job: JobId, scripts: &[Script]) {
        let mut all = self.scripts.lock().unwrap_or_else(|p| p.into_inner());
        all.insert(job, scripts.iter().rev().copied().collect());
    }

    /// Every kernel handed out so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.borrow().clone()
    }

    /// Waits until what was seen of the kernels satisfies `done`; fails
    /// saying `what` it waited for after [`PATIENCE`].
    pub async fn until(&self, what: &str, done: impl Fn(&[Seen]) -> bool) {
        let mut seen = self.seen.subscribe();
        let waited = tokio::time::timeout(PATIENCE, seen.wait_for(|s| done(s))).await;
        if waited.map(drop).is_err() {
            panic!("{what}: not within {PATIENCE:?}; seen {:?}", self.seen());
        }
    }

    /// Waits until `n` runs have begun on their kernels.
    pub async fn running(&self, n: usize) {
        let what = format!("{n} runs begun");
        self.until(&what, |s| s.iter().filter(|k| k.job.is_some()).count() >= n)
            .await
    }

    /// Waits until `n` kernels were killed.
    pub async fn killed(&self, n: usize) {
        let what = format!("{n} kernels killed");
        self.until(&what, |s| {
            s.iter().filter(|k| k.killed.is_some()).count() >= n
        })
        .await
    }
}

#[async_trait]
impl Executor for Scripted {
    async fn checkout(&self, _env: Option<&RuntimeEnv>) -> Result<Box<dyn RunKernel>, KernelError> {
        if self.broken {
            return Err(KernelError::StartTimeout(Duration::from_secs(30)));
        }
        let mut index = 0;
        self.seen.send_modify(|s| {
            index = s.len();
            s.push(Seen::default());
        });
        Ok(Box::new(Fake {
            scripts: self.scripts.clone(),
            seen: self.seen.clone(),
            index,
        }))
    }

    fn memory_limit(&self, _env: Option<&RuntimeEnv>) -> Option<u64> {
        None
    }
}

/// One scripted kernel: the `index`th handed out.
struct Fake {
    scripts: Scripts,
    seen: Arc<watch::Sender<Vec<Seen>>>,
    index: usize,
}

impl Fake {
    fn log(&self, change: impl FnOnce(&mut Seen)) {
        self.seen.send_modify(|s| change(&mut s[self.index]));
    }

    /// The next script of this kernel's job.
    fn script(&self) -> Option<Script> {
        let job = self.seen.borrow()[self.index].job?;
        let mut all = self.scripts.lock().unwrap_or_else(|p| p.into_inner());
        all.get_mut(&job).and_then(Vec::pop)
    }
}

/// Waits for `work` within the run's bounds, as `execute` waits on a
/// kernel: its time limit, then a cancel, end it first.
async fn bounded(bounds: &RunBounds<'_>, work: impl std::future::Future<Output = ()>) -> RunEnd {
    tokio::select! {
        () = work => RunEnd::Completed,
        () = tokio::time::sleep_until(Instant::from_std(bounds.deadline)) => RunEnd::TimedOut,
        () = bounds.cancel.cancelled() => RunEnd::Cancelled,
    }
}

#[async_trait]
impl RunKernel for Fake {
    fn pid(&self) -> i32 {
        0
    }

    fn own_dir(&self) -> &Path {
        Path::new("/nonexistent")
    }

    async fn provide_file(&self, name: &str, _contents: &[u8]) -> std::io::Result<PathBuf> {
        Ok(self.own_dir().join(name))
    }

    async fn provide_env(
        &mut self,
        values: &Map<String, Value>,
        _budget: &OutputBudget,
    ) -> std::io::Result<()> {
        let job = values.get("HOOKBOOK_JOB_ID").and_then(Value::as_str);
        let job = job.and_then(|j| JobId::parse(j).ok());
        self.log(|s| s.job = job);
        Ok(())
    }

    async fn run_notebook(
        &mut self,
        notebook: Value,
        _parameters: &Map<String, Value>,
        bounds: RunBounds<'_>,
    ) -> (Value, RunEnd) {
        let end = match self.script().unwrap_or(Script::Takes(Duration::ZERO)) {
            Script::Takes(time) => bounded(&bounds, tokio::time::sleep(time)).await,
            Script::RaisesIn(n) => RunEnd::Failed(format!("ValueError: cell {n} raised")),
            Script::Hangs => bounded(&bounds, std::future::pending()).await,
            Script::Dies => RunEnd::KernelLost("the kernel's process ended".into()),
        };
        self.log(|s| s.end = Some(end.clone()));
        (notebook, end)
    }

    fn out_of_memory(&self) -> bool {
        false
    }

    async fn kill(self: Box<Self>) {
        self.log(|s| s.killed = Some(Instant::now()));
    }
}
