//! Group commit: one task takes every event waiting in its queue, stores
//! them in one transaction, and answers each sender once the transaction is
//! durable. While one batch syncs, the next gathers, so a sync per request
//! is never the bottleneck.

use crate::domain::delivery::Delivery;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};

use crate::domain::ids::ReceiverId;
use crate::metrics::Metrics;
use crate::store::{Acceptance, IntakeStore, NewEvent};

use super::health::StorageHealth;
use super::DELIVERY_LOG_LINES;

/// The longest a delivery waits for its commit before it is answered 503:
/// under the 10 s senders wait, with room for reading the receiver.
pub const COMMIT_DEADLINE: Duration = Duration::from_secs(7);

/// Why an event was not stored.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum NotStored {
    /// The transaction failed (the cause is logged once, by the health).
    #[error("the database could not store the event")]
    Failed,
    /// No answer within [`COMMIT_DEADLINE`]; the event may still be
    /// stored, in which case the sender's retry is its duplicate.
    #[error("the database did not answer within {COMMIT_DEADLINE:?}")]
    Late,
    /// The committer has stopped with the server.
    #[error("the server is stopping")]
    Stopped,
}

/// A receiver's delivery log is trimmed back to `DELIVERY_LOG_LINES` after
/// this many new lines, so it never holds more than their sum, however
/// fast lines come (a flood of forgeries included).
const TRIM_EVERY: u32 = 100;

/// Most events in one transaction.
const MAX_BATCH: usize = 512;
/// Requests that may wait for the committer before senders wait to enqueue.
const QUEUE: usize = 8192;

enum Work {
    Accept(NewEvent, oneshot::Sender<Result<Acceptance, NotStored>>),
    Log(Delivery),
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
        store: Arc<dyn IntakeStore>,
        max_queue_depth: u64,
        accepted: Arc<Notify>,
        metrics: Arc<Metrics>,
        health: Arc<StorageHealth>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = Task {
            store,
            max_queue_depth,
            accepted,
            metrics,
            health,
        };
        tokio::spawn(task.run(rx));
        Self { tx }
    }

    /// Stores the event durably, or says why not within [`COMMIT_DEADLINE`].
    pub async fn accept(&self, event: NewEvent) -> Result<Acceptance, NotStored> {
        let (reply, answer) = oneshot::channel();
        let stored = async {
            self.tx
                .send(Work::Accept(event, reply))
                .await
                .map_err(|_| NotStored::Stopped)?;
            answer.await.map_err(|_| NotStored::Stopped)?
        };
        tokio::time::timeout(COMMIT_DEADLINE, stored)
            .await
            .map_err(|_| NotStored::Late)?
    }

    /// Queues a delivery-log line; dropped (with a warning) when the queue is
    /// full, since a refusal must never wait on the disk.
    pub fn log(&self, record: Delivery) {
        if self.tx.try_send(Work::Log(record)).is_err() {
            tracing::warn!("the delivery log is behind; a refusal was not logged");
        }
    }
}

/// What the committer's task holds.
struct Task {
    store: Arc<dyn IntakeStore>,
    max_queue_depth: u64,
    accepted: Arc<Notify>,
    metrics: Arc<Metrics>,
    health: Arc<StorageHealth>,
}

impl Task {
    async fn run(self, mut rx: mpsc::Receiver<Work>) {
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
                self.commit(events, replies, &mut since_trim).await;
            }
            self.write_log(&logs).await;
            self.trim(&mut since_trim).await;
        }
    }

    /// Stores a batch of events in one transaction and answers each.
    async fn commit(
        &self,
        events: Vec<NewEvent>,
        replies: Vec<oneshot::Sender<Result<Acceptance, NotStored>>>,
        since_trim: &mut HashMap<ReceiverId, u32>,
    ) {
        let count = events.len();
        let receivers: Vec<ReceiverId> = events.iter().map(|e| e.receiver_id).collect();
        let started = std::time::Instant::now();
        let answers = match self.store.accept_events(events, self.max_queue_depth).await {
            Ok(answers) => answers,
            Err(e) => {
                self.health.failed(|| crate::report::chain(&e));
                tracing::debug!(error = %crate::report::chain(&e), "storing {count} events failed");
                for reply in replies {
                    let _ = reply.send(Err(NotStored::Failed));
                }
                return;
            }
        };
        self.health.stored();
        self.metrics.batch_committed(count, started.elapsed());
        // Duplicates and refusals got a log line; an accepted delivery's
        // line is its job.
        for (receiver, answer) in receivers.iter().zip(&answers) {
            if !matches!(answer, Acceptance::Accepted { .. }) {
                *since_trim.entry(*receiver).or_default() += 1;
            }
        }
        if answers
            .iter()
            .any(|a| matches!(a, Acceptance::Accepted { .. }))
        {
            self.accepted.notify_one();
        }
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(Ok(answer));
        }
    }

    /// Writes refusals' delivery-log lines; while the database cannot be
    /// written they are lost (the health has said why, once).
    async fn write_log(&self, logs: &[Delivery]) {
        if logs.is_empty() {
            return;
        }
        if let Err(e) = self.store.log_deliveries(logs).await {
            if self.health.problem().is_none() {
                tracing::warn!(error = %crate::report::chain(&e), "writing {} delivery-log lines failed", logs.len());
            }
        }
    }

    /// Trims the delivery logs that grew by `TRIM_EVERY` lines.
    async fn trim(&self, since_trim: &mut HashMap<ReceiverId, u32>) {
        let due: Vec<ReceiverId> = since_trim
            .iter()
            .filter(|(_, n)| **n >= TRIM_EVERY)
            .map(|(r, _)| *r)
            .collect();
        for receiver in due {
            since_trim.remove(&receiver);
            if let Err(e) = self
                .store
                .trim_deliveries(&receiver, DELIVERY_LOG_LINES)
                .await
            {
                tracing::warn!(error = %crate::report::chain(&e), "trimming a delivery log failed");
            }
        }
        if since_trim.len() > 100_000 {
            // Receivers that went quiet: their logs are within a trim of
            // the bound, and the hourly prune finishes the job.
            since_trim.clear();
        }
    }
}
