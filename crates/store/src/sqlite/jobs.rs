//! Jobs in SQLite: the queue runs take work from, and their results.

use hookbook_core::domain::job::{JobEnd, Lease};

use hookbook_core::domain::event::Event;

use crate::Reading;
use async_trait::async_trait;
use hookbook_core::domain::job::Job;
use sqlx::{QueryBuilder, Row as _, Sqlite};

use super::SqliteStore;
use crate::attempts::{FINISHED_OF, LOST_FOR_GOOD, MAX_ATTEMPTS_NOW, PRUNE_NOTICES};
use crate::rows::{messages as stored_messages, JobRow, JOB_COLUMNS as COLUMNS};
use crate::{
    BulkReplay, BulkReplayed, JobFilter, JobStore, NewJob, NewReplay, Orphans, Signal, StoreResult,
};
use hookbook_core::domain::event::SignedPart;
use hookbook_core::domain::ids::{BatchId, EventId, JobId, NodeId, ReceiverId};
use hookbook_core::domain::job::JobStatus;
use hookbook_core::domain::time::Millis;
use hookbook_core::domain::user::Username;

fn parse(rows: Vec<JobRow>) -> StoreResult<Vec<Job>> {
    rows.into_iter().map(JobRow::parse).collect()
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn add_job(&self, j: &NewJob) -> StoreResult<()> {
        let _turn = self.write_turn().await;
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
        .bind(j.inputs.to_json())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn replay_job(&self, r: &NewReplay) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let mut tx = self.begin_write().await?;
        let added = insert_replay(&mut tx, r, None).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn replay_jobs(&self, r: &BulkReplay) -> StoreResult<BulkReplayed> {
        let _turn = self.write_turn().await;
        let mut tx = self.begin_write().await?;
        let (answer, selected) = select_replays(&mut tx, r).await?;
        if let BulkReplayed::Queued { .. } = answer {
            for of in &selected {
                insert_replay(&mut tx, &r.replay_of(*of), Some(r.batch)).await?;
            }
            tx.commit().await?;
        }
        Ok(answer)
    }

    async fn cancel_batch(
        &self,
        receiver: &ReceiverId,
        batch: &BatchId,
        now: Millis,
    ) -> StoreResult<u64> {
        let _turn = self.write_turn().await;
        cancel_waiting(&self.pool, receiver, batch, now).await
    }

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?");
        sqlx::query_as::<_, JobRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(JobRow::parse)
            .transpose()
    }

    async fn jobs(&self, f: &JobFilter) -> StoreResult<(Vec<Job>, u64)> {
        let filtered = |q: &mut QueryBuilder<'_, Sqlite>| {
            q.push(" WHERE 1 = 1");
            if let Some(status) = &f.status {
                q.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(receiver) = &f.receiver_id {
                q.push(" AND receiver_id = ")
                    .push_bind(receiver.to_string());
            }
            if let Some(user) = &f.username {
                q.push(" AND username = ")
                    .push_bind(user.as_str().to_string());
            }
            if let Some(from) = f.during.from {
                q.push(" AND COALESCE(end_time, submitted) >= ")
                    .push_bind(from.0);
            }
            if let Some(to) = f.during.to {
                q.push(" AND COALESCE(end_time, submitted) < ")
                    .push_bind(to.0);
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
        let rows = list
            .build_query_as::<JobRow>()
            .fetch_all(&self.pool)
            .await?;
        Ok((parse(rows)?, u64::try_from(total).unwrap_or(0)))
    }

    async fn claim_job(
        &self,
        now: Millis,
        lease: &Lease,
        per_receiver: u32,
    ) -> StoreResult<Option<Job>> {
        let _turn = self.write_turn().await;
        // One statement: SQLite runs it under its write lock, so two
        // claimers can never take the same row.
        let sql = format!(
            "UPDATE jobs SET status = 'EXECUTING', start_time = ?1, attempts = attempts + 1, \
             max_attempts = {MAX_ATTEMPTS_NOW}, retry_at = NULL, node = ?3, lease_until = ?4 \
             WHERE id = (SELECT j.id FROM jobs j WHERE j.status = 'SUBMITTED' \
                 AND (j.retry_at IS NULL OR j.retry_at <= ?1) AND (?2 = 0 OR j.receiver_id IS NULL OR (SELECT count(*) FROM jobs r \
                      WHERE r.receiver_id = j.receiver_id AND r.status = 'EXECUTING') < ?2) \
                 ORDER BY j.submitted, j.id LIMIT 1) \
             RETURNING {COLUMNS}"
        );
        sqlx::query_as::<_, JobRow>(&sql)
            .bind(now.0)
            .bind(per_receiver)
            .bind(lease.node.to_string())
            .bind(lease.until.0)
            .fetch_optional(&self.pool)
            .await?
            .map(JobRow::parse)
            .transpose()
    }

    async fn renew_leases(&self, lease: &Lease) -> StoreResult<Vec<JobId>> {
        let _turn = self.write_turn().await;
        let rows = sqlx::query(
            "UPDATE jobs SET lease_until = ? WHERE node = ? AND status = 'EXECUTING' RETURNING id",
        )
        .bind(lease.until.0)
        .bind(lease.node.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: &str = r.get("id");
                Reading::of("jobs", id).column("id", JobId::parse(id))
            })
            .collect()
    }

    async fn finish_job(&self, node: &NodeId, id: &JobId, end: &JobEnd<'_>) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let mut tx = self.begin_write().await?;
        let finished = finish_in(&mut tx, node, id, end).await?;
        tx.commit().await?;
        Ok(finished)
    }

    async fn requeue_job(&self, node: &NodeId, id: &JobId, due: Option<Millis>) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE jobs SET status = 'SUBMITTED', start_time = NULL, attempts = max(attempts - 1, 0), \
             node = NULL, lease_until = NULL, retry_at = ?3 WHERE id = ?1 AND status = 'EXECUTING' AND node = ?2",
        )
        .bind(id.to_string())
        .bind(node.to_string())
        .bind(due.map(|d| d.0))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn retry_job(
        &self,
        node: &NodeId,
        id: &JobId,
        due: Millis,
        messages: &[String],
        notebook: Option<&[u8]>,
    ) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let mut tx = self.begin_write().await?;
        let retried = retry_in(&mut tx, node, id, due, messages, notebook).await?;
        tx.commit().await?;
        Ok(retried)
    }

    async fn cancel_job(&self, id: &JobId, now: Millis) -> StoreResult<Option<JobStatus>> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before: Option<String> = sqlx::query("SELECT status FROM jobs WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get("status"));
        let before = before
            .map(|s| Reading::of("jobs", &id.to_string()).column("status", JobStatus::parse(&s)))
            .transpose()?;
        let Some(before) = before.filter(|s| s.is_live()) else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE jobs SET status = 'CANCELLED', end_time = ?, messages = ? WHERE id = ?",
        )
        .bind(now.0)
        .bind(stored_messages(&["The job was cancelled."]))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    async fn job_notebook(&self, id: &JobId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT notebook FROM jobs WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.get("notebook")))
    }

    async fn event(&self, id: &EventId) -> StoreResult<Option<Event>> {
        let row = sqlx::query("SELECT headers, body, signed FROM events WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Event {
                headers: r.get("headers"),
                body: r.get("body"),
                signed: {
                    let signed: &str = r.get("signed");
                    let key = id.to_string();
                    Reading::of("events", &key).known(
                        "signed",
                        signed,
                        SignedPart::parse(signed),
                    )?
                },
            })
        })
        .transpose()
    }

    async fn recover_jobs(
        &self,
        now: Millis,
        message: &str,
        which: Orphans,
    ) -> StoreResult<(u64, u64)> {
        let _turn = self.write_turn().await;
        let orphaned = match which {
            Orphans::All => "status = 'EXECUTING'",
            Orphans::Expired => "status = 'EXECUTING' AND coalesce(lease_until, 0) < ?",
        };
        let expired = which == Orphans::Expired;
        let mut tx = self.begin_write().await?;
        let fail_sql = format!(
            "UPDATE jobs SET status = 'FAILED', end_time = ?, messages = json_insert(messages, '$[#]', ?), node = NULL, \
             lease_until = NULL WHERE {orphaned} AND {LOST_FOR_GOOD} RETURNING id"
        );
        let mut fail = sqlx::query_scalar::<_, String>(&fail_sql)
            .bind(now.0)
            .bind(message);
        if expired {
            fail = fail.bind(now.0);
        }
        let failed_ids = fail.fetch_all(&mut *tx).await?;
        notices_of_failed(&mut tx, &failed_ids, now).await?;
        let failed = failed_ids.len() as u64;
        let requeue_sql = format!(
            "UPDATE jobs SET status = 'SUBMITTED', start_time = NULL, node = NULL, \
             lease_until = NULL WHERE {orphaned}"
        );
        let mut requeue = sqlx::query(&requeue_sql);
        if expired {
            requeue = requeue.bind(now.0);
        }
        let requeued = requeue.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok((requeued, failed))
    }

    async fn prune_jobs(&self, before: Millis) -> StoreResult<u64> {
        let _turn = self.write_turn().await;
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
            // An event another job still runs (a replay) stays.
            delete.push(") AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)");
            delete.build().execute(&mut *tx).await?;
        }
        sqlx::query(PRUNE_NOTICES)
            .bind(before.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn delete_finished_jobs(&self, owner: Option<&Username>) -> StoreResult<u64> {
        let _turn = self.write_turn().await;
        let owner = owner.map(Username::as_str);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let events: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT event_id FROM jobs WHERE {FINISHED_OF} AND event_id IS NOT NULL"
        ))
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
        let removed = sqlx::query(&format!("DELETE FROM jobs WHERE {FINISHED_OF}"))
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for chunk in events.chunks(500) {
            let mut delete = QueryBuilder::<Sqlite>::new("DELETE FROM events WHERE id IN (");
            let mut ids = delete.separated(", ");
            for id in chunk {
                ids.push_bind(id.as_str());
            }
            // An event another job still runs (a replay) stays.
            delete.push(") AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)");
            delete.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn watch(&self, _signals: tokio::sync::mpsc::Sender<Signal>) -> StoreResult<bool> {
        Ok(false)
    }
}

crate::replays::replay_steps!(Sqlite);
crate::attempts::attempt_steps!(Sqlite);
