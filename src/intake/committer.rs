//! Group commit: one task takes every event waiting in its queue, stores
//! them in one transaction, and answers each sender once the transaction is
//! durable. While one batch syncs, the next gathers, so a sync per request
//! is never the bottleneck.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use crate::domain::ids::ReceiverId;
use crate::metrics::Metrics;
use crate::store::{Acceptance, DeliveryRecord, NewEvent, Store};

use super::DELIVERY_LOG_LINES;

/// A receiver's delivery log is trimmed back to `DELIVERY_LOG_LINES` after
/// this many new lines, so it never holds more than their sum, however
/// fast lines come (a flood of forgeries included).
const TRIM_EVERY: u32 = 100;

/// Most events in one transaction.
const MAX_BATCH: usize = 512;
/// Requests that may wait for the committer before senders wait to enqueue.
const QUEUE: usize = 8192;

enum Work {
    Accept(NewEvent, oneshot::Sender<Option<Acceptance>>),
    Log(DeliveryRecord),
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Work>,
}

impl Committer {
    /// Starts the committer task; it ends when every handle is dropped.
    /// `accepted` is notified after each batch that stored new jobs; each
    /// batch's size and time go to `metrics`.
    pub fn start(
        store: Arc<dyn Store>,
        max_queue_depth: u64,
        accepted: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx, max_queue_depth, accepted, metrics));
        Self { tx }
    }

    /// Stores the event durably; `None` when storage failed (already logged).
    pub async fn accept(&self, event: NewEvent) -> Option<Acceptance> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Work::Accept(event, reply)).await.ok()?;
        answer.await.ok().flatten()
    }

    /// Queues a delivery-log line; dropped (with a warning) when the queue is
    /// full, since a refusal must never wait on the disk.
    pub fn log(&self, record: DeliveryRecord) {
        if self.tx.try_send(Work::Log(record)).is_err() {
            tracing::warn!("the delivery log is behind; a refusal was not logged");
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Work>,
    max_queue_depth: u64,
    accepted: Arc<Notify>,
    metrics: Arc<Metrics>,
) {
    let mut work = Vec::with_capacity(MAX_BATCH);
    let mut since_trim: HashMap<ReceiverId, u32> = HashMap::new();
    while rx.recv_many(&mut work, MAX_BATCH).await > 0 {
        let mut events = Vec::new();
        let mut replies = Vec::new();
        let mut logs = Vec::new();
        for w in work.drain(..) {
            match w {
                Work::Accept(event, reply) => {
                    events.push(event);
                    replies.push(reply);
                }
                Work::Log(line) => {
                    *since_trim.entry(line.receiver_id).or_default() += 1;
                    logs.push(line);
                }
            }
        }
        if !events.is_empty() {
            let count = events.len();
            let receivers: Vec<ReceiverId> = events.iter().map(|e| e.receiver_id).collect();
            let started = std::time::Instant::now();
            match store.accept_events(events, max_queue_depth).await {
                Ok(answers) => {
                    metrics.batch_committed(count, started.elapsed());
                    // Duplicates and refusals got a log line; an accepted
                    // delivery's line is its job.
                    for (receiver, answer) in receivers.iter().zip(&answers) {
                        if !matches!(answer, Acceptance::Accepted { .. }) {
                            *since_trim.entry(*receiver).or_default() += 1;
                        }
                    }
                    if answers
                        .iter()
                        .any(|a| matches!(a, Acceptance::Accepted { .. }))
                    {
                        accepted.notify_one();
                    }
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(Some(answer));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %crate::telemetry::chain(&e), "storing {count} events failed");
                    for reply in replies {
                        let _ = reply.send(None);
                    }
                }
            }
        }
        if let Err(e) = store.log_deliveries(&logs).await {
            tracing::warn!(error = %crate::telemetry::chain(&e), "writing {} delivery-log lines failed", logs.len());
        }
        let due: Vec<ReceiverId> = since_trim
            .iter()
            .filter(|(_, n)| **n >= TRIM_EVERY)
            .map(|(r, _)| *r)
            .collect();
        for receiver in due {
            since_trim.remove(&receiver);
            if let Err(e) = store.trim_deliveries(&receiver, DELIVERY_LOG_LINES).await {
                tracing::warn!(error = %crate::telemetry::chain(&e), "trimming a delivery log failed");
            }
        }
        if since_trim.len() > 100_000 {
            // Receivers that went quiet: their logs are within a trim of
            // the bound, and the hourly prune finishes the job.
            since_trim.clear();
        }
    }
}
