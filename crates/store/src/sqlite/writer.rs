//! The group-commit writer: one thread with its own SQLite connection that
//! stores a whole batch of events (events, jobs, the delivery-log lines of
//! those not accepted) in one `BEGIN IMMEDIATE` transaction. Running the batch on one thread costs one
//! hand-over per batch instead of one per statement, which is what keeps
//! acceptance latency low. With `synchronous=FULL` the commit is on disk
//! when the answer is sent.

use hookbook_core::domain::delivery::{Delivery, DeliveryOutcome};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension as _, TransactionBehavior};
use tokio::sync::oneshot;

use crate::{Acceptance, NewEvent, StoreError, StoreResult};
use hookbook_core::domain::ids::JobId;

enum Command {
    Accept {
        events: Vec<NewEvent>,
        max_queue_depth: u64,
        reply: oneshot::Sender<StoreResult<Vec<Acceptance>>>,
    },
    Log {
        lines: Vec<Delivery>,
        reply: oneshot::Sender<StoreResult<()>>,
    },
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The write-ahead log's size, in pages, at which the writer copies it
/// back itself (about 40 MB; SQLite's default is 1,000 pages).
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// The handle to the writer thread and its checkpointer; both end when it
/// is dropped.
pub struct Writer {
    tx: std::sync::Mutex<mpsc::Sender<Command>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Writer {
    pub fn start(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // This connection checks no foreign key: the only row it writes
        // that has one is a job, and `accept_one` inserts a job only for
        // the event it inserted just before in the same transaction. Every
        // other connection checks them. An immediate foreign key, like a
        // NOT NULL or CHECK that aborts, makes a statement that fires a
        // trigger (the job's insert updates the queue depth) keep a journal
        // of every page it changes, to undo itself alone: with neither
        // (the job's insert says OR FAIL, so its constraints stop it
        // without undoing), a delivery costs about 4 µs less of the
        // writer's CPU (BENCHMARKS.md, intake).
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        // A statement journal, where one is still needed, stays in memory;
        // in a temporary file (the default) it was a file created, written
        // and deleted in every commit.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // The writer copies the log back itself (inside a commit, reading
        // the frames again) only once it holds WRITER_CHECKPOINT_PAGES:
        // copied less often, a page that every batch changes is copied
        // once for many batches rather than once for each thousand frames.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        // A second thread copies the log back into the database file
        // (PASSIVE: it never blocks the writer), so that the writer's own
        // automatic checkpoint, which lets the log restart from its
        // beginning, finds little left to do.
        let checkpoints = Connection::open(path)?;
        checkpoints.busy_timeout(Duration::from_secs(10))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let spawn_failed = |e: std::io::Error| StoreError::Database(Box::new(e));
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(spawn_failed)?;
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    let done =
                        checkpoints.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(e) = done {
                        tracing::warn!(error = %hookbook_core::report::chain(&e), "a WAL checkpoint failed");
                    }
                }
            })
            .map_err(spawn_failed)?;
        Ok(Self {
            tx: std::sync::Mutex::new(tx),
            stop,
        })
    }

    fn send(&self, command: Command) -> StoreResult<()> {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        tx.send(command).map_err(|_| gone())
    }

    pub async fn accept(
        &self,
        events: Vec<NewEvent>,
        max_queue_depth: u64,
    ) -> StoreResult<Vec<Acceptance>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Accept {
            events,
            max_queue_depth,
            reply,
        })?;
        answer.await.map_err(|_| gone())?
    }

    pub async fn log(&self, lines: &[Delivery]) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Log {
            lines: lines.to_vec(),
            reply,
        })?;
        answer.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Database("the SQLite writer thread has stopped".into())
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Command>) {
    while let Ok(command) = rx.recv() {
        match command {
            Command::Accept {
                events,
                max_queue_depth,
                reply,
            } => {
                let _ = reply
                    .send(accept(&mut conn, &events, max_queue_depth).map_err(StoreError::from));
            }
            Command::Log { lines, reply } => {
                let result = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .and_then(|tx| {
                        for line in &lines {
                            insert_line(&tx, line)?;
                        }
                        tx.commit()
                    });
                let _ = reply.send(result.map_err(StoreError::from));
            }
        }
    }
}

fn accept(
    conn: &mut Connection,
    events: &[NewEvent],
    max_queue_depth: u64,
) -> rusqlite::Result<Vec<Acceptance>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let waiting: i64 = tx.query_row("SELECT waiting FROM queue_depth WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    let mut room = max_queue_depth.saturating_sub(u64::try_from(waiting).unwrap_or(0));
    let mut answers = Vec::with_capacity(events.len());
    for e in events {
        let answer = accept_one(&tx, e, &mut room)?;
        answers.push(answer);
        // An accepted delivery's log line is its job; the others get one.
        let (outcome, job_id, reason) = match answer {
            Acceptance::Accepted { .. } => continue,
            Acceptance::Duplicate { job_id } => (DeliveryOutcome::Duplicate, Some(job_id), ""),
            Acceptance::QueueFull => (DeliveryOutcome::Rejected, None, "queue full"),
        };
        insert_line(
            &tx,
            &Delivery {
                receiver_id: e.receiver_id,
                time: e.received,
                outcome,
                reason: reason.to_string(),
                job_id,
                size: e.body.len() as i64,
            },
        )?;
    }
    tx.commit()?;
    Ok(answers)
}

/// One event of a batch: a duplicate of a stored delivery, refused for a
/// full queue, or stored with its job (taking one place of `room`).
fn accept_one(
    tx: &rusqlite::Transaction<'_>,
    e: &NewEvent,
    room: &mut u64,
) -> rusqlite::Result<Acceptance> {
    let receiver = e.receiver_id.to_string();
    if let Some(job_id) = first_job(tx, &receiver, e.delivery_id.as_deref())? {
        return Ok(Acceptance::Duplicate { job_id });
    }
    if *room == 0 {
        return Ok(Acceptance::QueueFull);
    }
    let event_id = e.event_id.to_string();
    let stored = tx
        .prepare_cached(
            "INSERT INTO events (id, receiver_id, delivery_id, received, headers, body, signed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (receiver_id, delivery_id) WHERE delivery_id IS NOT NULL DO NOTHING",
        )?
        .execute(params![
            event_id,
            receiver,
            e.delivery_id,
            e.received.0,
            e.headers,
            e.body,
            e.signed.as_str()
        ])?;
    if stored == 0 {
        // Another writer stored the same delivery since we looked.
        return Ok(match first_job(tx, &receiver, e.delivery_id.as_deref())? {
            Some(job_id) => Acceptance::Duplicate { job_id },
            None => Acceptance::QueueFull,
        });
    }
    // OR FAIL: a constraint that fails stops this one-row statement with
    // nothing to undo, and the whole batch's transaction is dropped.
    tx.prepare_cached(
        "INSERT OR FAIL INTO jobs (id, kind, status, item_id, receiver_id, event_id, username, parameters, submitted) \
         VALUES (?1, 'webhook', 'SUBMITTED', ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.job_id.to_string(),
        e.item_id.as_str(),
        receiver,
        event_id,
        e.username.as_str(),
        e.parameters,
        e.received.0
    ])?;
    *room -= 1;
    Ok(Acceptance::Accepted { job_id: e.job_id })
}

/// The job of the delivery `delivery` of `receiver` already stored, if any.
fn first_job(
    tx: &rusqlite::Transaction<'_>,
    receiver: &str,
    delivery: Option<&str>,
) -> rusqlite::Result<Option<JobId>> {
    let Some(delivery) = delivery else {
        return Ok(None);
    };
    let id: Option<String> = tx
        .prepare_cached(
            "SELECT j.id FROM events e JOIN jobs j ON j.event_id = e.id \
             WHERE e.receiver_id = ?1 AND e.delivery_id = ?2 AND j.replay_of IS NULL",
        )?
        .query_row(params![receiver, delivery], |r| r.get(0))
        .optional()?;
    Ok(id.and_then(|id| JobId::parse(&id).ok()))
}

fn insert_line(tx: &rusqlite::Transaction<'_>, d: &Delivery) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO deliveries (receiver_id, time, outcome, reason, job_id, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        d.receiver_id.to_string(),
        d.time.0,
        d.outcome.as_str(),
        d.reason,
        d.job_id.map(|j| j.to_string()),
        d.size
    ])?;
    Ok(())
}
