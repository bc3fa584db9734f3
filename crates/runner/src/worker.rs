//! The worker: takes `SUBMITTED` jobs from the store (an atomic claim, so
//! no job runs twice), runs each on a kernel from the pool, and keeps the
//! leases of its runs while they run.

use hookbook_core::domain::job::Lease;

use hookbook_core::domain::job::Job;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::executor::Executor;
use super::job::run_job;
use super::Runner;
use hookbook_core::domain::ids::JobId;
use hookbook_core::domain::time::Millis;
use hookbook_core::report::chain;
use hookbook_store::StoreResult;

/// How often the queue is looked at when nothing wakes the worker.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// The lease a claim or renewal made now takes.
fn lease_now(runner: &Runner) -> Lease {
    let millis = i64::try_from(runner.settings.lease.as_millis()).unwrap_or(i64::MAX);
    Lease {
        node: runner.settings.node,
        until: Millis(Millis::now().0.saturating_add(millis)),
    }
}

/// The part of a lease before its end at which a node that could not
/// renew it stops its runs: by then their kernels are dead, and another
/// node may take them over only once the lease has ended by its own clock,
/// so clocks may differ by this much (less the milliseconds a kill takes)
/// without a job ever having two kernels at once.
pub fn stop_margin(lease: Duration) -> Duration {
    lease / 6
}

/// Renews the leases of this node's runs every third of the lease, until
/// `stop`. Runs the database no longer gives this node stop. A renewal
/// that fails, or does not answer in time (a connection cut off answers
/// nothing), leaves the leases as they were; once they may end within
/// [`stop_margin`], every run stops and its kernel is killed, whatever
/// the database does.
async fn keep_leases(runner: Arc<Runner>, stop: CancellationToken) {
    let lease = runner.settings.lease;
    let (every, margin) = (lease / 3, stop_margin(lease));
    let mut held_until = Instant::now() + lease;
    let mut next = Instant::now() + every;
    let mut lost = false;
    loop {
        let deadline = held_until.checked_sub(margin).unwrap_or(held_until);
        // Once the runs were stopped, their deadline is past: only the next
        // renewal is waited for (else this loop would spin until then).
        let wake = if lost { next } else { next.min(deadline) };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(wake) => {}
        }
        if !lost && Instant::now() >= deadline {
            tracing::error!(
                "the leases of running jobs could not be renewed and end within {margin:?}: stopping every run on this node so that another node may take them over"
            );
            runner.runs.lose_all();
            lost = true;
        }
        if Instant::now() < next {
            continue;
        }
        next = Instant::now() + every;
        let asked = Instant::now();
        // A renewal may not run past the moment the runs must stop.
        let budget = if lost {
            every
        } else {
            deadline.saturating_duration_since(asked).min(every)
        };
        match tokio::time::timeout(budget, runner.queue.renew_leases(&lease_now(&runner))).await {
            Ok(Ok(held)) => {
                if lost {
                    tracing::warn!("the leases of running jobs are renewed again");
                }
                held_until = asked + lease;
                lost = false;
                runner.runs.keep_only(&held, asked);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %chain(&e), "renewing the leases of running jobs failed")
            }
            Err(_) => tracing::warn!(
                "renewing the leases of running jobs got no answer within {budget:?}"
            ),
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
    kernels: Arc<dyn Executor>,
    permits: Arc<Semaphore>,
}

impl Worker {
    /// A worker running at most `max_concurrent` jobs at once on kernels
    /// from `kernels` (the node's pools).
    pub fn new(runner: Arc<Runner>, kernels: Arc<dyn Executor>, max_concurrent: usize) -> Self {
        Self {
            runner,
            kernels,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    async fn claim(&self) -> StoreResult<Option<Job>> {
        let r = &self.runner;
        r.queue
            .claim_job(Millis::now(), &lease_now(r), r.settings.per_receiver)
            .await
    }

    /// Claims one job and runs it to its end (for tests and tools).
    pub async fn run_once(&self) -> anyhow::Result<Step> {
        match self.claim().await? {
            Some(job) => {
                let id = job.id;
                run_job(&self.runner, self.kernels.as_ref(), job).await;
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
                    let (runner, kernels) = (self.runner.clone(), self.kernels.clone());
                    tasks.spawn(async move {
                        run_job(&runner, kernels.as_ref(), job).await;
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
