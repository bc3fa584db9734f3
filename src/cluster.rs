//! Living with other nodes on one database: this node reports itself
//! alive (and learns how many nodes share the rate limit), takes over the
//! jobs of nodes whose leases expired, and relays what the database tells
//! (new jobs, cancellations) to the worker. On SQLite the same code runs
//! with one node and nothing to relay.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::NodeId;
use crate::domain::time::Millis;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::report::chain;
use crate::runner::runs::Runs;
use crate::store::{Orphans, Signal, Store};

/// How often a node reports itself alive; three missed reports and the
/// others stop counting it.
const PRESENCE_EVERY: Duration = Duration::from_secs(2);

/// What a job is told when its node was lost and it is not run again.
pub const NODE_LOST: &str =
    "The node running this job was lost before the run finished; it was not run again.";

/// What this node's presence works with.
pub struct Presence {
    pub store: Arc<dyn Store>,
    pub node: NodeId,
    /// How long a claim holds without renewal.
    pub lease: Duration,
    /// Whether this node takes events (and so a share of the rate limit).
    pub takes_events: bool,
    pub intake: Arc<Intake>,
    pub metrics: Arc<Metrics>,
}

/// Reports this node alive and takes over expired leases, until `shutdown`;
/// then says the node is gone.
pub async fn presence(p: Presence, shutdown: CancellationToken) {
    let (store, node) = (&p.store, p.node);
    let window = i64::try_from((PRESENCE_EVERY * 3).as_millis()).unwrap_or(i64::MAX);
    // Expired leases are looked for twice per lease.
    let takeover_every = (p.lease / 2).max(PRESENCE_EVERY);
    let mut last_takeover = tokio::time::Instant::now();
    let mut every = tokio::time::interval(PRESENCE_EVERY);
    let mut last_sample = Millis(0);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        let now = Millis::now();
        match store
            .node_alive(&node, p.takes_events, now, Millis(now.0 - window))
            .await
        {
            Ok(nodes) => {
                p.intake.set_nodes(nodes);
                p.metrics.set_nodes_taking_events(nodes);
            }
            Err(e) => tracing::warn!(error = %chain(&e), "reporting this node alive failed"),
        }
        let minute = Millis(now.0 - now.0 % MINUTE);
        if minute != last_sample {
            last_sample = minute;
            sample(&p, minute).await;
        }
        if last_takeover.elapsed() >= takeover_every {
            last_takeover = tokio::time::Instant::now();
            match store
                .recover_jobs(Millis::now(), NODE_LOST, Orphans::Expired)
                .await
            {
                Ok((0, 0)) => {}
                Ok((requeued, failed)) => tracing::warn!(
                    "took over the jobs of a lost node: {requeued} queued again, {failed} failed"
                ),
                Err(e) => {
                    tracing::warn!(error = %chain(&e), "looking for jobs of lost nodes failed")
                }
            }
        }
    }
    if let Err(e) = store.node_gone(&node).await {
        tracing::warn!(error = %chain(&e), "removing this node from the node list failed");
    }
}

/// A minute in milliseconds: samples are taken once a minute.
const MINUTE: i64 = 60_000;
/// How long samples are kept: a week, and a day to spare.
const SAMPLES_KEPT: i64 = 8 * 24 * 60 * MINUTE;

/// Records this node's queue depth and warm kernels for the dashboards, and
/// sets `hookbook_queue_depth`.
async fn sample(p: &Presence, minute: Millis) {
    let depth = match p.store.queue_depth().await {
        Ok(depth) => depth,
        Err(e) => {
            tracing::warn!(error = %chain(&e), "reading the queue depth for the dashboards failed");
            return;
        }
    };
    p.metrics.set_queue_depth(depth);
    let warm = p.metrics.warm_kernels_now();
    let forget = Millis(minute.0 - SAMPLES_KEPT);
    if let Err(e) = p
        .store
        .record_sample(&p.node, minute, depth, warm, forget)
        .await
    {
        tracing::warn!(error = %chain(&e), "recording this node's sample for the dashboards failed");
    }
}

/// Relays the database's signals to this node's worker until `shutdown`.
pub async fn relay(store: Arc<dyn Store>, runs: Arc<Runs>, shutdown: CancellationToken) {
    let (tx, mut rx) = mpsc::channel(256);
    match store.watch(tx).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %chain(&e), "cannot listen to other nodes; new jobs are found by polling");
            return;
        }
    }
    loop {
        let signal = tokio::select! {
            _ = shutdown.cancelled() => return,
            s = rx.recv() => match s { Some(s) => s, None => return },
        };
        match signal {
            Signal::Queued => runs.wake.notify_one(),
            Signal::Cancelled(job) => runs.cancel(&job),
        }
    }
}
