//! What the run code asks of kernels: one for a run, from its
//! environment's pool ([`Executor`], which [`Pools`] is), and the prepared
//! notebook run on it to an end ([`RunKernel`], which a pool's kernel with
//! its hold on the pool is). The runner's tests put scripted kernels here.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::execute::{run_notebook, RunBounds, RunEnd};
use super::kernel::{Kernel, KernelError};
use super::outputs::OutputBudget;
use super::pools::{Hold, Pools, RuntimeEnv};

/// Where a run's kernel comes from.
///
/// The cut is at "run this prepared notebook to an end", not at Jupyter's
/// messages: what ends the wait on a cell (the deadline, a cancel, a dead
/// process) and papermill's notebook stay in `execute`, unchanged, and
/// are tested there and by the black-box suites with real kernels; what
/// the end means for the job (retried, failed, put back, cancelled) is
/// decided above this cut, which is what a stand-in exercises. A stand-in
/// answers [`RunKernel::run_notebook`] with the end its test scripted,
/// keeping to the bounds it is given (the deadline, the cancel).
#[async_trait]
pub trait Executor: Send + Sync {
    /// A kernel for one run in `env` (none: the default environment).
    async fn checkout(&self, env: Option<&RuntimeEnv>) -> Result<Box<dyn RunKernel>, KernelError>;

    /// The memory limit of a run in `env`.
    fn memory_limit(&self, env: Option<&RuntimeEnv>) -> Option<u64>;
}

/// A kernel one run holds, until [`RunKernel::kill`].
#[async_trait]
pub trait RunKernel: Send + Sync {
    /// Its process id, for the run's log lines.
    fn pid(&self) -> i32;

    /// Everything its run can write on disk, which the disk budget
    /// watches.
    fn own_dir(&self) -> &Path;

    /// Writes a file of the run's where only the run reads it; its path.
    async fn provide_file(&self, name: &str, contents: &[u8]) -> std::io::Result<PathBuf>;

    /// Hands the run's environment and output budget to the kernel.
    async fn provide_env(
        &mut self,
        values: &Map<String, Value>,
        budget: &OutputBudget,
    ) -> std::io::Result<()>;

    /// Runs the notebook within `bounds`: the executed notebook and how
    /// the run ended.
    async fn run_notebook(
        &mut self,
        notebook: Value,
        parameters: &Map<String, Value>,
        bounds: RunBounds<'_>,
    ) -> (Value, RunEnd);

    /// Whether a process of the run was killed for its memory.
    fn out_of_memory(&self) -> bool;

    /// Kills the kernel and lets go of what it held (its pool).
    async fn kill(self: Box<Self>);
}

#[async_trait]
impl Executor for Pools {
    async fn checkout(&self, env: Option<&RuntimeEnv>) -> Result<Box<dyn RunKernel>, KernelError> {
        let (kernel, hold) = Pools::checkout(self, env).await?;
        Ok(Box::new(Held { kernel, hold }))
    }

    fn memory_limit(&self, env: Option<&RuntimeEnv>) -> Option<u64> {
        Pools::memory_limit(self, env)
    }
}

/// A pool's kernel and the run's hold on its pool (which keeps the
/// kernel's fork server and environment until the kernel is gone).
struct Held {
    kernel: Kernel,
    hold: Hold,
}

#[async_trait]
impl RunKernel for Held {
    fn pid(&self) -> i32 {
        self.kernel.pid()
    }

    fn own_dir(&self) -> &Path {
        self.kernel.own_dir()
    }

    async fn provide_file(&self, name: &str, contents: &[u8]) -> std::io::Result<PathBuf> {
        self.kernel.provide_file(name, contents).await
    }

    async fn provide_env(
        &mut self,
        values: &Map<String, Value>,
        budget: &OutputBudget,
    ) -> std::io::Result<()> {
        self.kernel.provide_env(values, budget).await
    }

    async fn run_notebook(
        &mut self,
        notebook: Value,
        parameters: &Map<String, Value>,
        bounds: RunBounds<'_>,
    ) -> (Value, RunEnd) {
        run_notebook(&mut self.kernel, notebook, parameters, bounds).await
    }

    fn out_of_memory(&self) -> bool {
        self.kernel.out_of_memory()
    }

    async fn kill(self: Box<Self>) {
        let Held { mut kernel, hold } = *self;
        kernel.kill().await;
        drop(hold);
    }
}
