//! Living with other nodes on one database: this node reports itself
//! alive (and learns how many nodes share the rate limit), takes over the
//! jobs of nodes whose leases expired, and relays what the database tells
//! (new jobs, cancellations) to the worker. On SQLite the same code runs
//! with one node and nothing to relay.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::time::Millis;
use crate::service::App;
use crate::store::{Orphans, Signal};

/// How often a node reports itself alive; three missed reports and the
/// others stop counting it.
const PRESENCE_EVERY: Duration = Duration::from_secs(2);

/// What a job is told when its node was lost and it is not run again.
pub const NODE_LOST: &str =
    "The node running this job was lost before the run finished; it was not run again.";

/// Reports this node alive and takes over expired leases, until `shutdown`;
/// then says the node is gone.
pub async fn presence(app: Arc<App>, takes_events: bool, shutdown: CancellationToken) {
    let node = app.run_settings.node;
    let window = i64::try_from((PRESENCE_EVERY * 3).as_millis()).unwrap_or(i64::MAX);
    // Expired leases are looked for twice per lease.
    let takeover_every = (app.run_settings.lease / 2).max(PRESENCE_EVERY);
    let mut last_takeover = tokio::time::Instant::now();
    let mut every = tokio::time::interval(PRESENCE_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        let now = Millis::now();
        match app
            .store
            .node_alive(&node, takes_events, now, Millis(now.0 - window))
            .await
        {
            Ok(nodes) => {
                app.intake.limiter.set_nodes(nodes);
                app.metrics.set_nodes_taking_events(nodes);
            }
            Err(e) => tracing::warn!("reporting this node alive failed: {e}"),
        }
        if last_takeover.elapsed() >= takeover_every {
            last_takeover = tokio::time::Instant::now();
            match app
                .store
                .recover_jobs(Millis::now(), NODE_LOST, Orphans::Expired)
                .await
            {
                Ok((0, 0)) => {}
                Ok((requeued, failed)) => tracing::warn!(
                    "took over the jobs of a lost node: {requeued} queued again, {failed} failed"
                ),
                Err(e) => tracing::warn!("looking for jobs of lost nodes failed: {e}"),
            }
        }
    }
    if let Err(e) = app.store.node_gone(&node).await {
        tracing::warn!("removing this node from the node list failed: {e}");
    }
}

/// Relays the database's signals to this node's worker until `shutdown`.
pub async fn relay(app: Arc<App>, shutdown: CancellationToken) {
    let (tx, mut rx) = mpsc::channel(256);
    match app.store.watch(tx).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!("cannot listen to other nodes ({e}); new jobs are found by polling");
            return;
        }
    }
    loop {
        let signal = tokio::select! {
            _ = shutdown.cancelled() => return,
            s = rx.recv() => match s { Some(s) => s, None => return },
        };
        match signal {
            Signal::Queued => app.runs.wake.notify_one(),
            Signal::Cancelled(job) => app.runs.cancel(&job),
        }
    }
}
