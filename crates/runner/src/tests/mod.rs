//! The runner's decisions, tested without Python: the worker runs jobs of
//! a queue in memory (`memory`) on kernels whose runs the tests script
//! (`scripted`), on tokio's paused clock, so that a lease or a time limit
//! of minutes passes in no time. What they check: a claim (`claims`), the
//! leases (`leases`), a failed attempt retried or not and a run that
//! could not start (`attempts`), a cancel and the node's stop (`stops`).

mod attempts;
mod claims;
mod leases;
mod memory;
mod scripted;
mod stops;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::rights::Result;
use crate::rights::{Permission, RunRights};
use crate::runs::Runs;
use crate::worker::Worker;
use crate::{RunSettings, Runner};
use hookbook_core::domain::ids::{ItemId, JobId, NodeId, ReceiverId};
use hookbook_core::domain::job::Job;
use hookbook_core::domain::user::Username;
use hookbook_core::security::token::Token;
use hookbook_metrics::Metrics;

use memory::Memory;
use scripted::{Script, Scripted, PATIENCE};

/// How long a claim holds without renewal (renewed every 10 s; runs stop
/// 5 s before it ends when it could not be).
const LEASE: Duration = Duration::from_secs(30);
/// How long running notebooks may go on once the node is stopping.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// A notebook of one cell.
const NOTEBOOK: &str = r#"{"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1"}],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;

/// What the administration answers a run: whom it acts as (or why not),
/// and its tokens, counting those ended.
#[derive(Default)]
struct Rights {
    /// Why no run may act as its owner.
    refuse: Option<String>,
    ended: AtomicUsize,
}

#[async_trait]
impl RunRights for Rights {
    async fn run_user(&self, job: &Job) -> Result<Permission<Username>> {
        Ok(match &self.refuse {
            Some(why) => Err(why.clone()),
            None => Ok(job.username.clone()),
        })
    }

    async fn receiver_token(&self, _receiver: &ReceiverId) -> Result<Permission<Option<String>>> {
        Ok(Ok(None))
    }

    async fn issue_run_token(&self, _username: &Username, _lifetime: Duration) -> Result<Token> {
        Ok(Token::generate())
    }

    async fn end_run_token(&self, _token: &Token) -> Result<()> {
        self.ended.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A node's runner on a queue in memory and scripted kernels.
struct Bench {
    runner: Arc<Runner>,
    store: Arc<Memory>,
    kernels: Arc<Scripted>,
    rights: Arc<Rights>,
    /// A notebook item every job runs.
    item: ItemId,
}

impl Bench {
    fn new() -> Self {
        Self::with(Scripted::default(), Rights::default())
    }

    fn with(kernels: Scripted, rights: Rights) -> Self {
        let store = Arc::new(Memory::default());
        let rights = Arc::new(rights);
        let runner = Runner {
            queue: store.clone(),
            runs: Arc::new(Runs::default()),
            settings: RunSettings {
                default_timeout: Duration::from_secs(300),
                retention: Duration::from_secs(86_400),
                per_receiver: 0,
                stop_grace: STOP_GRACE,
                node: NodeId::generate(),
                lease: LEASE,
                max_disk_bytes: 0,
                max_output_bytes: 0,
                hookbook_url: "http://127.0.0.1:1/hookbook".into(),
                runtime_aliases: Vec::new(),
                portal_url: None,
                share_progress: false,
            },
            metrics: Arc::new(Metrics::new()),
            rights: rights.clone(),
            builder: None,
        };
        let item = store.add_item(NOTEBOOK.as_bytes());
        Self {
            runner: Arc::new(runner),
            store,
            kernels: Arc::new(kernels),
            rights,
            item,
        }
    }

    /// Queues a job of the bench's notebook whose attempts do `scripts`.
    fn submit(&self, scripts: &[Script]) -> JobId {
        self.submit_as(scripts, |_| {})
    }

    /// Queues a job as `change` makes it, whose attempts do `scripts`.
    fn submit_as(&self, scripts: &[Script], change: impl FnOnce(&mut Job)) -> JobId {
        let id = self.store.submit(&self.item, change);
        self.kernels.script(id, scripts);
        id
    }

    /// A worker running `at_once` jobs at a time.
    fn worker(&self, at_once: usize) -> Worker {
        Worker::new(self.runner.clone(), self.kernels.clone(), at_once)
    }

    /// A worker of `at_once` runs working in the background until the
    /// token is cancelled.
    fn start(&self, at_once: usize) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let shutdown = CancellationToken::new();
        let worker = tokio::spawn(self.worker(at_once).run(shutdown.clone()));
        (shutdown, worker)
    }

    /// Stops a worker [`Bench::start`] started and waits for its end.
    async fn stop(shutdown: CancellationToken, worker: tokio::task::JoinHandle<()>) {
        shutdown.cancel();
        let stopped = tokio::time::timeout(PATIENCE, worker).await;
        stopped
            .expect("the worker stops in time")
            .expect("the worker ends well");
    }

    fn tokens_ended(&self) -> usize {
        self.rights.ended.load(Ordering::SeqCst)
    }
}
