//! Accepted events, their jobs and the delivery log in SQLite. A batch of
//! events is one `BEGIN IMMEDIATE` transaction; with `synchronous=FULL` the
//! commit is on disk when it returns.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, Sqlite, Transaction};

use super::SqliteStore;
use crate::domain::ids::{ItemId, ReceiverId};
use crate::domain::time::Millis;
use crate::domain::user::Username;
use crate::store::{
    Acceptance, DeliveryOutcome, DeliveryRecord, IntakeStore, JobRecord, NewEvent, StoreError,
    StoreResult,
};

async fn existing_job(
    tx: &mut Transaction<'_, Sqlite>,
    receiver_id: &ReceiverId,
    delivery_id: &str,
) -> StoreResult<Option<uuid::Uuid>> {
    let row = sqlx::query(
        "SELECT j.id FROM events e JOIN jobs j ON j.event_id = e.id \
         WHERE e.receiver_id = ? AND e.delivery_id = ?",
    )
    .bind(receiver_id.to_string())
    .bind(delivery_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| parse_uuid(&r.get::<String, _>("id")))
        .transpose()
}

fn parse_uuid(text: &str) -> StoreResult<uuid::Uuid> {
    uuid::Uuid::try_parse(text).map_err(|_| StoreError::Corrupt("job"))
}

async fn insert_delivery(tx: &mut Transaction<'_, Sqlite>, d: &DeliveryRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO deliveries (receiver_id, time, outcome, reason, job_id, size) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(d.receiver_id.to_string())
    .bind(d.time.0)
    .bind(d.outcome.as_str())
    .bind(&d.reason)
    .bind(d.job_id.map(|j| j.to_string()))
    .bind(d.size)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn delivery(row: &SqliteRow) -> StoreResult<DeliveryRecord> {
    let corrupt = || StoreError::Corrupt("delivery");
    let job: Option<String> = row.get("job_id");
    Ok(DeliveryRecord {
        receiver_id: ReceiverId::parse(row.get("receiver_id")).map_err(|_| corrupt())?,
        time: Millis(row.get("time")),
        outcome: DeliveryOutcome::parse(row.get("outcome")).ok_or_else(corrupt)?,
        reason: row.get("reason"),
        job_id: job.as_deref().map(parse_uuid).transpose()?,
        size: row.get("size"),
    })
}

#[async_trait]
impl IntakeStore for SqliteStore {
    async fn accept_events(
        &self,
        events: &[NewEvent],
        max_queue_depth: u64,
    ) -> StoreResult<Vec<Acceptance>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let waiting: i64 = sqlx::query("SELECT count(*) AS n FROM jobs WHERE status = 'SUBMITTED'")
            .fetch_one(&mut *tx)
            .await?
            .get("n");
        let mut waiting = u64::try_from(waiting).unwrap_or(0);
        let mut answers = Vec::with_capacity(events.len());
        for e in events {
            let line = |outcome, job_id, reason: &str| DeliveryRecord {
                receiver_id: e.receiver_id,
                time: e.received,
                outcome,
                reason: reason.to_string(),
                job_id,
                size: e.body.len() as i64,
            };
            if let Some(id) = &e.delivery_id {
                if let Some(job_id) = existing_job(&mut tx, &e.receiver_id, id).await? {
                    insert_delivery(&mut tx, &line(DeliveryOutcome::Duplicate, Some(job_id), ""))
                        .await?;
                    answers.push(Acceptance::Duplicate { job_id });
                    continue;
                }
            }
            if waiting >= max_queue_depth {
                insert_delivery(
                    &mut tx,
                    &line(DeliveryOutcome::Rejected, None, "queue full"),
                )
                .await?;
                answers.push(Acceptance::QueueFull);
                continue;
            }
            sqlx::query(
                "INSERT INTO events (id, receiver_id, delivery_id, received, headers, body) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(e.event_id.to_string())
            .bind(e.receiver_id.to_string())
            .bind(&e.delivery_id)
            .bind(e.received.0)
            .bind(&e.headers)
            .bind(&e.body)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO jobs (id, kind, status, item_id, receiver_id, event_id, username, parameters, submitted) \
                 VALUES (?, 'webhook', 'SUBMITTED', ?, ?, ?, ?, ?, ?)",
            )
            .bind(e.job_id.to_string())
            .bind(e.item_id.as_str())
            .bind(e.receiver_id.to_string())
            .bind(e.event_id.to_string())
            .bind(e.username.as_str())
            .bind(&e.parameters)
            .bind(e.received.0)
            .execute(&mut *tx)
            .await?;
            insert_delivery(
                &mut tx,
                &line(DeliveryOutcome::Accepted, Some(e.job_id), ""),
            )
            .await?;
            waiting += 1;
            answers.push(Acceptance::Accepted { job_id: e.job_id });
        }
        tx.commit().await?;
        Ok(answers)
    }

    async fn log_deliveries(&self, records: &[DeliveryRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for d in records {
            insert_delivery(&mut tx, d).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        receiver_id: &ReceiverId,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT receiver_id, time, outcome, reason, job_id, size FROM deliveries \
             WHERE receiver_id = ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(receiver_id.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
    }

    async fn prune_deliveries(&self, before: Millis, keep: u32) -> StoreResult<u64> {
        let old = sqlx::query("DELETE FROM deliveries WHERE time < ?")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        let excess = sqlx::query(
            "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM (SELECT seq, row_number() OVER \
             (PARTITION BY receiver_id ORDER BY seq DESC) AS n FROM deliveries) WHERE n > ?)",
        )
        .bind(keep)
        .execute(&self.pool)
        .await?;
        Ok(old.rows_affected() + excess.rows_affected())
    }

    async fn job(&self, id: &uuid::Uuid) -> StoreResult<Option<JobRecord>> {
        let row = sqlx::query(
            "SELECT id, kind, status, item_id, receiver_id, event_id, username, submitted FROM jobs WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let corrupt = |_| StoreError::Corrupt("job");
            let receiver: Option<String> = row.get("receiver_id");
            let event: Option<String> = row.get("event_id");
            Ok(JobRecord {
                id: parse_uuid(row.get("id"))?,
                kind: row.get("kind"),
                status: row.get("status"),
                item_id: ItemId::parse(row.get("item_id")).map_err(corrupt)?,
                receiver_id: receiver
                    .as_deref()
                    .map(ReceiverId::parse)
                    .transpose()
                    .map_err(corrupt)?,
                event_id: event.as_deref().map(parse_uuid).transpose()?,
                username: Username::parse(row.get("username")).map_err(corrupt)?,
                submitted: Millis(row.get("submitted")),
            })
        })
        .transpose()
    }

    async fn count_jobs(&self, receiver_id: &ReceiverId) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT count(*) AS n FROM jobs WHERE receiver_id = ?")
            .bind(receiver_id.to_string())
            .fetch_one(&self.pool)
            .await?
            .get("n");
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
