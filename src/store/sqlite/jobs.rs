//! Jobs in SQLite: the queue runs take work from, and their results.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row as _, Sqlite};

use super::SqliteStore;
use crate::domain::ids::{ItemId, ReceiverId};
use crate::domain::time::Millis;
use crate::domain::user::Username;
use crate::store::{EventRecord, JobFilter, JobRecord, JobStore, NewJob, StoreError, StoreResult};

const COLUMNS: &str = "id, kind, status, item_id, receiver_id, event_id, username, parameters, submitted, \
     start_time, end_time, messages, attempts, timeout_minutes, inputs, notebook IS NOT NULL AS has_notebook";

fn uuid(text: &str) -> StoreResult<uuid::Uuid> {
    uuid::Uuid::try_parse(text).map_err(|_| StoreError::Corrupt("job"))
}

fn job(row: &SqliteRow) -> StoreResult<JobRecord> {
    let corrupt = |_| StoreError::Corrupt("job");
    let receiver: Option<String> = row.get("receiver_id");
    let event: Option<String> = row.get("event_id");
    let messages: String = row.get("messages");
    Ok(JobRecord {
        id: uuid(row.get("id"))?,
        kind: row.get("kind"),
        status: row.get("status"),
        item_id: ItemId::parse(row.get("item_id")).map_err(corrupt)?,
        receiver_id: receiver
            .as_deref()
            .map(ReceiverId::parse)
            .transpose()
            .map_err(corrupt)?,
        event_id: event.as_deref().map(uuid).transpose()?,
        username: Username::parse(row.get("username")).map_err(corrupt)?,
        parameters: row.get("parameters"),
        submitted: Millis(row.get("submitted")),
        start_time: row.get::<Option<i64>, _>("start_time").map(Millis),
        end_time: row.get::<Option<i64>, _>("end_time").map(Millis),
        messages: serde_json::from_str(&messages).map_err(|_| StoreError::Corrupt("job"))?,
        attempts: row.get("attempts"),
        timeout_minutes: row.get("timeout_minutes"),
        inputs: row.get("inputs"),
        has_notebook: row.get("has_notebook"),
    })
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn add_job(&self, j: &NewJob) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, status, item_id, username, parameters, submitted, timeout_minutes, inputs) \
             VALUES (?, 'executeNotebook', 'SUBMITTED', ?, ?, ?, ?, ?, ?)",
        )
        .bind(j.id.to_string())
        .bind(j.item_id.as_str())
        .bind(j.username.as_str())
        .bind(&j.parameters)
        .bind(j.submitted.0)
        .bind(j.timeout_minutes)
        .bind(&j.inputs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn job(&self, id: &uuid::Uuid) -> StoreResult<Option<JobRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job).transpose()
    }

    async fn jobs(&self, f: &JobFilter) -> StoreResult<(Vec<JobRecord>, u64)> {
        let filtered = |q: &mut QueryBuilder<'_, Sqlite>| {
            q.push(" WHERE 1 = 1");
            if let Some(status) = &f.status {
                q.push(" AND status = ").push_bind(status.clone());
            }
            if let Some(receiver) = &f.receiver_id {
                q.push(" AND receiver_id = ")
                    .push_bind(receiver.to_string());
            }
            if let Some(user) = &f.username {
                q.push(" AND username = ")
                    .push_bind(user.as_str().to_string());
            }
        };
        let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*) AS n FROM jobs");
        filtered(&mut count);
        let total: i64 = count.build().fetch_one(&self.pool).await?.get("n");
        let mut list = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM jobs"));
        filtered(&mut list);
        list.push(" ORDER BY submitted DESC, id DESC LIMIT ")
            .push_bind(f.limit)
            .push(" OFFSET ")
            .push_bind(f.offset);
        let rows = list.build().fetch_all(&self.pool).await?;
        Ok((
            rows.iter().map(job).collect::<StoreResult<_>>()?,
            u64::try_from(total).unwrap_or(0),
        ))
    }

    async fn claim_job(&self, now: Millis, per_receiver: u32) -> StoreResult<Option<JobRecord>> {
        // One statement: SQLite runs it under its write lock, so two
        // claimers can never take the same row.
        let sql = format!(
            "UPDATE jobs SET status = 'EXECUTING', start_time = ?1, attempts = attempts + 1 \
             WHERE id = (SELECT j.id FROM jobs j WHERE j.status = 'SUBMITTED' \
                 AND (?2 = 0 OR j.receiver_id IS NULL OR (SELECT count(*) FROM jobs r \
                      WHERE r.receiver_id = j.receiver_id AND r.status = 'EXECUTING') < ?2) \
                 ORDER BY j.submitted, j.id LIMIT 1) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now.0)
            .bind(per_receiver)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job).transpose()
    }

    async fn finish_job(
        &self,
        id: &uuid::Uuid,
        status: &str,
        end: Millis,
        messages: &[String],
        notebook: Option<&[u8]>,
    ) -> StoreResult<bool> {
        let messages =
            serde_json::to_string(messages).map_err(|e| StoreError::Database(Box::new(e)))?;
        let done = sqlx::query(
            "UPDATE jobs SET status = ?, end_time = ?, messages = ?, notebook = coalesce(?, notebook) \
             WHERE id = ? AND status = 'EXECUTING'",
        )
        .bind(status)
        .bind(end.0)
        .bind(messages)
        .bind(notebook)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn requeue_job(&self, id: &uuid::Uuid) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = 'SUBMITTED', start_time = NULL, attempts = max(attempts - 1, 0) \
             WHERE id = ? AND status = 'EXECUTING'",
        )
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cancel_job(&self, id: &uuid::Uuid, now: Millis) -> StoreResult<Option<String>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before: Option<String> = sqlx::query("SELECT status FROM jobs WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get("status"));
        let Some(before) = before.filter(|s| s == "SUBMITTED" || s == "EXECUTING") else {
            return Ok(None);
        };
        sqlx::query("UPDATE jobs SET status = 'CANCELLED', end_time = ?, messages = json_array(?) WHERE id = ?")
            .bind(now.0)
            .bind("The job was cancelled.")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    async fn job_notebook(&self, id: &uuid::Uuid) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT notebook FROM jobs WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.get("notebook")))
    }

    async fn event(&self, id: &uuid::Uuid) -> StoreResult<Option<EventRecord>> {
        let row = sqlx::query("SELECT headers, body FROM events WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| EventRecord {
            headers: r.get("headers"),
            body: r.get("body"),
        }))
    }

    async fn recover_jobs(&self, now: Millis, message: &str) -> StoreResult<(u64, u64)> {
        let mut tx = self.pool.begin().await?;
        let failed = sqlx::query(
            "UPDATE jobs SET status = 'FAILED', end_time = ?, messages = json_array(?) \
             WHERE status = 'EXECUTING' AND attempts >= 2",
        )
        .bind(now.0)
        .bind(message)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let requeued = sqlx::query(
            "UPDATE jobs SET status = 'SUBMITTED', start_time = NULL WHERE status = 'EXECUTING'",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((requeued, failed))
    }

    async fn prune_jobs(&self, before: Millis) -> StoreResult<u64> {
        let finished = "status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND end_time < ?";
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let events: Vec<String> = sqlx::query(&format!(
            "SELECT event_id FROM jobs WHERE {finished} AND event_id IS NOT NULL"
        ))
        .bind(before.0)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.get("event_id"))
        .collect();
        let removed = sqlx::query(&format!("DELETE FROM jobs WHERE {finished}"))
            .bind(before.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for chunk in events.chunks(500) {
            let mut delete = QueryBuilder::<Sqlite>::new("DELETE FROM events WHERE id IN (");
            let mut ids = delete.separated(", ");
            for id in chunk {
                ids.push_bind(id.as_str());
            }
            delete.push(")");
            delete.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }
}
