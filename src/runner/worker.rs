//! The worker: takes `SUBMITTED` jobs from the store (an atomic claim, so
//! no job runs twice), runs each on a kernel from the pool, and keeps the
//! leases of its runs while they run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::job::run_job;
use super::pools::Pools;
use super::Runner;
use crate::domain::ids::JobId;
use crate::domain::time::Millis;
use crate::store::{JobRecord, Lease, StoreResult};
use crate::telemetry::chain;

/// How often the queue is looked at when nothing wakes the worker.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// The lease a claim made now takes.
fn lease(runner: &Runner) -> Lease {
    let millis = i64::try_from(runner.settings.lease.as_millis()).unwrap_or(i64::MAX);
    Lease {
        node: runner.settings.node,
        until: Millis(Millis::now().0.saturating_add(millis)),
    }
}

/// Renews the leases of this node's runs every third of the lease, until
/// `stop`. Runs the database no longer gives this node stop; when renewals
/// fail until the lease may have run out, all runs stop.
async fn keep_leases(runner: Arc<Runner>, stop: CancellationToken) {
    let every = runner.settings.lease / 3;
    let mut held_until = Instant::now() + runner.settings.lease;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let asked = Instant::now();
        match runner.store.renew_leases(&lease(&runner)).await {
            Ok(held) => {
                held_until = asked + runner.settings.lease;
                runner.runs.keep_only(&held, asked);
            }
            Err(e) => {
                tracing::warn!(error = %chain(&e), "renewing the leases of running jobs failed");
                if Instant::now() + every >= held_until {
                    tracing::error!("the leases of running jobs may have expired; stopping them");
                    runner.runs.lose_all();
                }
            }
        }
    }
}

/// What one step of the worker did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Ran(JobId),
    Empty,
}

pub struct Worker {
    runner: Arc<Runner>,
    pools: Arc<Pools>,
    permits: Arc<Semaphore>,
}

impl Worker {
    pub fn new(runner: Arc<Runner>, pools: Arc<Pools>, max_concurrent: usize) -> Self {
        Self {
            runner,
            pools,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    async fn claim(&self) -> StoreResult<Option<JobRecord>> {
        let r = &self.runner;
        r.store
            .claim_job(Millis::now(), &lease(r), r.settings.per_receiver)
            .await
    }

    /// Claims one job and runs it to its end (for tests and tools).
    pub async fn run_once(&self) -> anyhow::Result<Step> {
        match self.claim().await? {
            Some(job) => {
                let id = job.id;
                run_job(&self.runner, &self.pools, job).await;
                Ok(Step::Ran(id))
            }
            None => Ok(Step::Empty),
        }
    }

    /// Runs jobs until `shutdown`; then gives running notebooks the stop
    /// grace period and puts the rest back in the queue.
    pub async fn run(self, shutdown: CancellationToken) {
        let leases = CancellationToken::new();
        tokio::spawn(keep_leases(self.runner.clone(), leases.clone()));
        let _stop_leases = leases.drop_guard();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let permit = tokio::select! {
                p = self.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.cancelled() => break,
            };
            match self.claim().await {
                Ok(Some(job)) => {
                    let (runner, pools) = (self.runner.clone(), self.pools.clone());
                    tasks.spawn(async move {
                        run_job(&runner, &pools, job).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = self.runner.runs.wake.notified() => {}
                        _ = tokio::time::sleep(POLL_EVERY) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %chain(&e), "claiming a job failed");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
            while tasks.try_join_next().is_some() {}
        }
        self.drain(tasks).await;
    }

    /// Gives running notebooks the stop grace period, then stops the rest
    /// (they go back to the queue).
    async fn drain(&self, mut tasks: tokio::task::JoinSet<()>) {
        if tasks.is_empty() {
            return;
        }
        let grace = self.runner.settings.stop_grace;
        tracing::info!(
            "waiting up to {grace:?} for {} running notebooks",
            tasks.len()
        );
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            self.runner.runs.stop_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}
