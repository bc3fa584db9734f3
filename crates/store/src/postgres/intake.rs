//! Accepted events, their jobs and the delivery log in PostgreSQL. A batch
//! from the group committer is stored in one transaction with a handful of
//! statements (arrays through `unnest`), whatever its size; the commit is
//! durable (`synchronous_commit` on) before any sender hears 200.

use hookbook_core::domain::delivery::{Delivery, DeliveryOutcome, LoggedDelivery};

use crate::Reading;
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres};

use super::{count, PgStore};
use crate::rows::{delivery_log_sql, DeliveryRow};
use crate::{Acceptance, IntakeStore, NewEvent, StoreResult};
use hookbook_core::domain::ids::{JobId, ReceiverId};
use hookbook_core::domain::time::Millis;

/// Below `max_queue_depth - LOCK_MARGIN` waiting jobs no batch can push the
/// queue past its limit (a batch is at most 512 events, and fewer than 8
/// nodes commit at once); above it, batches take [`QUEUE_LOCK`] and count
/// again, so the limit holds exactly across nodes.
const LOCK_MARGIN: u64 = 8 * 512;
const QUEUE_LOCK: i64 = 0x686f_6f6b_0002;

type Key = (String, String);

/// The waiting jobs, from the trigger-kept slots (committed changes only).
async fn waiting(conn: &mut PgConnection) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar("SELECT coalesce(sum(waiting), 0)::bigint FROM queue_depth")
        .fetch_one(conn)
        .await?;
    Ok(count(n))
}

/// The first job of each (receiver, delivery id) already stored.
async fn first_jobs(conn: &mut PgConnection, keys: &[Key]) -> StoreResult<HashMap<Key, JobId>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (receivers, deliveries): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(r, d)| (r.as_str(), d.as_str())).unzip();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT e.receiver_id, e.delivery_id, j.id FROM events e JOIN jobs j ON j.event_id = e.id \
         WHERE j.replay_of IS NULL AND (e.receiver_id, e.delivery_id) IN \
             (SELECT * FROM unnest($1::text[], $2::text[]))",
    )
    .bind(&receivers)
    .bind(&deliveries)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(r, d, j)| {
            let j = Reading::of("jobs", &j).column("id", JobId::parse(&j))?;
            Ok(((r, d), j))
        })
        .collect()
}

/// One column of the batch, for `unnest`: `f` of the events at `at`.
fn column<'e, T>(events: &'e [NewEvent], at: &[usize], f: impl Fn(&'e NewEvent) -> T) -> Vec<T> {
    at.iter().map(|&i| f(&events[i])).collect()
}

fn key(e: &NewEvent) -> Option<Key> {
    e.delivery_id
        .as_ref()
        .map(|d| (e.receiver_id.to_string(), d.clone()))
}

async fn insert_lines(conn: &mut PgConnection, lines: &[Delivery]) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let receivers: Vec<String> = lines.iter().map(|d| d.receiver_id.to_string()).collect();
    let times: Vec<i64> = lines.iter().map(|d| d.time.0).collect();
    let outcomes: Vec<&str> = lines.iter().map(|d| d.outcome.as_str()).collect();
    let reasons: Vec<&str> = lines.iter().map(|d| d.reason.as_str()).collect();
    let jobs: Vec<Option<String>> = lines
        .iter()
        .map(|d| d.job_id.map(|j| j.to_string()))
        .collect();
    let sizes: Vec<i64> = lines.iter().map(|d| d.size).collect();
    sqlx::query(
        "INSERT INTO deliveries (receiver_id, time, outcome, reason, job_id, size) \
         SELECT r, t, o, why, j, s FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], \
             $5::text[], $6::bigint[]) WITH ORDINALITY AS l(r, t, o, why, j, s, n) ORDER BY n",
    )
    .bind(&receivers)
    .bind(&times)
    .bind(&outcomes)
    .bind(&reasons)
    .bind(&jobs)
    .bind(&sizes)
    .execute(conn)
    .await?;
    Ok(())
}

impl PgStore {
    /// Decides each event of the batch and stores the accepted ones.
    async fn accept_in(
        &self,
        tx: &mut sqlx::Transaction<'_, Postgres>,
        events: &[NewEvent],
        max_queue_depth: u64,
    ) -> StoreResult<Vec<Acceptance>> {
        let batch = events.len() as u64;
        let mut depth = waiting(tx).await?;
        if depth + batch + LOCK_MARGIN > max_queue_depth {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(QUEUE_LOCK)
                .execute(&mut **tx)
                .await?;
            depth = waiting(tx).await?;
        }
        let keys: Vec<Key> = events.iter().filter_map(key).collect();
        let known = first_jobs(tx, &keys).await?;
        let (mut answers, mut fresh) = decide(events, known, max_queue_depth.saturating_sub(depth));
        if fresh.is_empty() {
            return Ok(answers);
        }
        // Inserted in key order: two nodes inserting overlapping delivery
        // ids then wait on each other in one order, never in a cycle.
        fresh.sort_by(|&a, &b| key(&events[a]).cmp(&key(&events[b])));
        let stored = insert_events(tx, events, &fresh).await?;
        // Copies another node stored since we looked (it committed while
        // our insert waited on its row): duplicates of its job.
        let raced: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&i| !stored.contains(&events[i].event_id.to_string()))
            .collect();
        if !raced.is_empty() {
            let raced_keys: Vec<Key> = raced.iter().filter_map(|&i| key(&events[i])).collect();
            let theirs = first_jobs(tx, &raced_keys).await?;
            for &i in &raced {
                answers[i] = match key(&events[i]).and_then(|k| theirs.get(&k).copied()) {
                    Some(job_id) => Acceptance::Duplicate { job_id },
                    None => Acceptance::QueueFull,
                };
            }
        }
        let accepted: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&i| matches!(answers[i], Acceptance::Accepted { .. }))
            .collect();
        if !accepted.is_empty() {
            insert_jobs(tx, events, &accepted).await?;
            self.notify(&mut **tx, "queued").await?;
        }
        Ok(answers)
    }
}

/// Each event's answer before anything is written: a duplicate of a known
/// delivery (stored, or earlier in this batch), refused when `room` is
/// used up, or accepted; and the indexes of the accepted ones.
fn decide(
    events: &[NewEvent],
    mut known: HashMap<Key, JobId>,
    mut room: u64,
) -> (Vec<Acceptance>, Vec<usize>) {
    let mut answers = Vec::with_capacity(events.len());
    let mut fresh = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let k = key(e);
        if let Some(job_id) = k.as_ref().and_then(|k| known.get(k)) {
            answers.push(Acceptance::Duplicate { job_id: *job_id });
        } else if room == 0 {
            answers.push(Acceptance::QueueFull);
        } else {
            room -= 1;
            if let Some(k) = k {
                // A second copy later in this batch is its duplicate.
                known.insert(k, e.job_id);
            }
            answers.push(Acceptance::Accepted { job_id: e.job_id });
            fresh.push(i);
        }
    }
    (answers, fresh)
}

/// Inserts the events at `fresh`; the ids of those stored (a delivery
/// another node stored first is not).
async fn insert_events(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    events: &[NewEvent],
    fresh: &[usize],
) -> StoreResult<HashSet<String>> {
    let stored: Vec<String> = sqlx::query_scalar(
        "INSERT INTO events (id, receiver_id, delivery_id, received, headers, body, signed) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bytea[], $7::text[]) \
         ON CONFLICT (receiver_id, delivery_id) WHERE delivery_id IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind(column(events, fresh, |e| e.event_id.to_string()))
    .bind(column(events, fresh, |e| e.receiver_id.to_string()))
    .bind(column(events, fresh, |e| e.delivery_id.as_deref()))
    .bind(column(events, fresh, |e| e.received.0))
    .bind(column(events, fresh, |e| e.headers.as_str()))
    .bind(column(events, fresh, |e| e.body.as_slice()))
    .bind(column(events, fresh, |e| e.signed.as_str()))
    .fetch_all(&mut **tx)
    .await?;
    Ok(stored.into_iter().collect())
}

/// Inserts the jobs of the events at `accepted`, queued.
async fn insert_jobs(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    events: &[NewEvent],
    accepted: &[usize],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, status, item_id, receiver_id, event_id, username, parameters, submitted) \
         SELECT id, 'webhook', 'SUBMITTED', item, receiver, event, username, parameters, submitted \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[]) \
             AS t(id, item, receiver, event, username, parameters, submitted)",
    )
    .bind(column(events, accepted, |e| e.job_id.to_string()))
    .bind(column(events, accepted, |e| e.item_id.as_str()))
    .bind(column(events, accepted, |e| e.receiver_id.to_string()))
    .bind(column(events, accepted, |e| e.event_id.to_string()))
    .bind(column(events, accepted, |e| e.username.as_str()))
    .bind(column(events, accepted, |e| e.parameters.as_str()))
    .bind(column(events, accepted, |e| e.received.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl IntakeStore for PgStore {
    async fn accept_events(
        &self,
        events: Vec<NewEvent>,
        max_queue_depth: u64,
    ) -> StoreResult<Vec<Acceptance>> {
        let mut tx = self.pool.begin().await?;
        let answers = self.accept_in(&mut tx, &events, max_queue_depth).await?;
        // An accepted delivery's log line is its job; the others get one.
        let lines: Vec<Delivery> = events
            .iter()
            .zip(&answers)
            .filter_map(|(e, answer)| {
                let (outcome, job_id, reason) = match *answer {
                    Acceptance::Accepted { .. } => return None,
                    Acceptance::Duplicate { job_id } => {
                        (DeliveryOutcome::Duplicate, Some(job_id), "")
                    }
                    Acceptance::QueueFull => (DeliveryOutcome::Rejected, None, "queue full"),
                };
                Some(Delivery {
                    receiver_id: e.receiver_id,
                    time: e.received,
                    outcome,
                    reason: reason.to_string(),
                    job_id,
                    size: e.body.len() as i64,
                })
            })
            .collect();
        insert_lines(&mut tx, &lines).await?;
        tx.commit().await?;
        Ok(answers)
    }

    async fn log_deliveries(&self, records: &[Delivery]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        insert_lines(&mut conn, records).await
    }

    async fn deliveries(
        &self,
        receiver_id: &ReceiverId,
        limit: u32,
    ) -> StoreResult<Vec<LoggedDelivery>> {
        let sql = delivery_log_sql("$1", "$2", "octet_length");
        sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(receiver_id.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(DeliveryRow::parse)
            .collect()
    }

    async fn prune_deliveries(&self, before: Millis, keep: u32) -> StoreResult<u64> {
        let old = sqlx::query("DELETE FROM deliveries WHERE time < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        let excess = sqlx::query(
            "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM (SELECT seq, row_number() OVER \
             (PARTITION BY receiver_id ORDER BY seq DESC) AS n FROM deliveries) AS ranked WHERE n > $1)",
        )
        .bind(i64::from(keep))
        .execute(&self.pool)
        .await?;
        Ok(old.rows_affected() + excess.rows_affected())
    }

    async fn trim_deliveries(&self, receiver_id: &ReceiverId, keep: u32) -> StoreResult<u64> {
        let trimmed = sqlx::query(
            "DELETE FROM deliveries WHERE receiver_id = $1 AND seq < (SELECT seq FROM deliveries \
             WHERE receiver_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
        )
        .bind(receiver_id.to_string())
        .bind(i64::from(keep.saturating_sub(1)))
        .execute(&self.pool)
        .await?;
        Ok(trimmed.rows_affected())
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let mut conn = self.pool.acquire().await?;
        waiting(&mut conn).await
    }
}
