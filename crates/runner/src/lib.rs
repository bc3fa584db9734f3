//! Notebook runs: a Jupyter client over ZeroMQ (`kernel`), a pool of warm
//! single-use kernels (`pool`), papermill-compatible injection and
//! execution (`inject`, `literal`, `execute`, `outputs`), the runs of this
//! node (`runs`, and `live`: what they are doing now, for pages), and
//! the worker that takes jobs from the store and runs
//! them (`worker`, `job`). What a run needs from the administration (whom
//! it acts as, its token) it asks through [`rights::RunRights`]; of the
//! store, through [`queue::Queue`]; of kernels, through
//! [`executor::Executor`].

pub mod build;
pub mod cgroup;
mod choice;
mod disk;
mod error;
pub mod execute;
pub mod executor;
pub mod forkserver;
mod home;
pub mod inject;
mod job;
pub mod kernel;
pub mod literal;
pub mod live;
pub mod network;
pub mod outputs;
pub mod pool;
pub mod pools;
mod process;
pub mod queue;
mod record;
pub mod rights;
pub mod runs;
pub mod sandbox;
pub mod setup;
pub mod validate;
pub mod worker;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use hookbook_core::domain::ids::NodeId;
use hookbook_metrics::Metrics;

/// How runs are bounded, fixed at start.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The time limit of a run that does not set its own.
    pub default_timeout: Duration,
    /// How long finished jobs are kept.
    pub retention: Duration,
    /// Runs of one receiver at once on the database; 0 is no limit.
    pub per_receiver: u32,
    /// How long running notebooks may go on after SIGTERM.
    pub stop_grace: Duration,
    /// This process, as the job queue knows it.
    pub node: NodeId,
    /// How long a claim holds without renewal; renewed every third of it.
    pub lease: Duration,
    /// Bytes a run may write to its working directory; 0 is no limit.
    pub max_disk_bytes: u64,
    /// Bytes of outputs a run keeps (text and data); past them, outputs
    /// are dropped as they come. 0 is no limit.
    pub max_output_bytes: u64,
    /// What a run finds in `HOOKBOOK_URL`: this server's public URL and
    /// context path.
    pub hookbook_url: String,
    /// Runtime names notebooks ask for, run in another runtime.
    pub runtime_aliases: Vec<hookbook_core::domain::runtime::RuntimeAlias>,
    /// The site's portal when it is not hookbook itself: a receiver's api
    /// token is for it, and goes only into the run's `NB_AUTH_FILE`.
    pub portal_url: Option<String>,
    /// The site has several nodes: a run keeps its progress in the store
    /// too, for pages open on other nodes.
    pub share_progress: bool,
}

/// What the runs of this node work with, built once by `startup`.
pub struct Runner {
    /// The store, as far as runs use it.
    pub queue: Arc<dyn queue::Queue>,
    pub runs: Arc<runs::Runs>,
    pub settings: RunSettings,
    pub metrics: Arc<Metrics>,
    pub rights: Arc<dyn rights::RunRights>,
    /// Where this node's runtimes are built, when it runs notebooks.
    pub builder: Option<build::Builder>,
}
