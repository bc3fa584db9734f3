//! Jobs in PostgreSQL: the queue every node takes work from. A claim locks
//! its row with `FOR UPDATE SKIP LOCKED`, so claimers on different nodes
//! never wait for or take the same job; each claim carries a lease that its
//! node renews, and jobs whose lease expired are taken over.

use hookbook_core::domain::job::{JobEnd, Lease};

use hookbook_core::domain::event::Event;

use crate::Reading;
use async_trait::async_trait;
use hookbook_core::domain::job::Job;
use sqlx::{Postgres, QueryBuilder};
use tokio::sync::mpsc;

use super::{count, PgStore, CHANNEL};
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

/// The advisory lock that serialises claims while a per-receiver limit is
/// set, so that two nodes cannot both start a receiver's last allowed run.
const CLAIM_LOCK: i64 = 0x686f_6f6b_0001;

/// How long the listener waits before connecting again after a failure.
const RECONNECT: std::time::Duration = std::time::Duration::from_secs(1);

fn parse(rows: Vec<JobRow>) -> StoreResult<Vec<Job>> {
    rows.into_iter().map(JobRow::parse).collect()
}

fn job_id(text: &str) -> StoreResult<JobId> {
    Reading::of("jobs", text).column("id", JobId::parse(text))
}

impl PgStore {
    /// Tells every node, within the current transaction, that jobs wait.
    pub(super) async fn notify<'c, E>(&self, executor: E, payload: &str) -> StoreResult<()>
    where
        E: sqlx::Executor<'c, Database = Postgres>,
    {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(executor)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl JobStore for PgStore {
    async fn add_job(&self, j: &NewJob) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO jobs (id, kind, status, item_id, username, parameters, submitted, timeout_minutes, inputs) \
             VALUES ($1, 'executeNotebook', 'SUBMITTED', $2, $3, $4, $5, $6, $7)",
        )
        .bind(j.id.to_string())
        .bind(j.item_id.as_str())
        .bind(j.username.as_str())
        .bind(&j.parameters)
        .bind(j.submitted.0)
        .bind(j.timeout_minutes)
        .bind(j.inputs.to_json())
        .execute(&mut *tx)
        .await?;
        self.notify(&mut *tx, "queued").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replay_job(&self, r: &NewReplay) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let added = insert_replay(&mut tx, r, None).await?;
        if added {
            self.notify(&mut *tx, "queued").await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn replay_jobs(&self, r: &BulkReplay) -> StoreResult<BulkReplayed> {
        let mut tx = self.pool.begin().await?;
        let (answer, selected) = select_replays(&mut tx, r).await?;
        if let BulkReplayed::Queued { jobs, .. } = answer {
            for of in &selected {
                insert_replay(&mut tx, &r.replay_of(*of), Some(r.batch)).await?;
            }
            if jobs > 0 {
                self.notify(&mut *tx, "queued").await?;
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
        cancel_waiting(&self.pool, receiver, batch, now).await
    }

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        sqlx::query_as::<_, JobRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(JobRow::parse)
            .transpose()
    }

    async fn jobs(&self, f: &JobFilter) -> StoreResult<(Vec<Job>, u64)> {
        let filtered = |q: &mut QueryBuilder<'_, Postgres>| {
            q.push(" WHERE TRUE");
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
        let mut total = QueryBuilder::<Postgres>::new("SELECT count(*) FROM jobs");
        filtered(&mut total);
        let total: i64 = total.build_query_scalar().fetch_one(&self.pool).await?;
        let mut list = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM jobs"));
        filtered(&mut list);
        list.push(" ORDER BY submitted DESC, id DESC LIMIT ")
            .push_bind(i64::from(f.limit))
            .push(" OFFSET ")
            .push_bind(i64::from(f.offset));
        let rows = list
            .build_query_as::<JobRow>()
            .fetch_all(&self.pool)
            .await?;
        Ok((parse(rows)?, count(total)))
    }

    async fn claim_job(
        &self,
        now: Millis,
        lease: &Lease,
        per_receiver: u32,
    ) -> StoreResult<Option<Job>> {
        let sql = format!(
            "UPDATE jobs SET status = 'EXECUTING', start_time = $1, attempts = attempts + 1, \
             max_attempts = {MAX_ATTEMPTS_NOW}, retry_at = NULL, node = $3, lease_until = $4 \
             WHERE status = 'SUBMITTED' AND id = (SELECT j.id FROM jobs j WHERE j.status = 'SUBMITTED' \
                 AND (j.retry_at IS NULL OR j.retry_at <= $1) AND ($2 = 0 OR j.receiver_id IS NULL OR (SELECT count(*) FROM jobs r \
                      WHERE r.receiver_id = j.receiver_id AND r.status = 'EXECUTING') < $2) \
                 ORDER BY j.submitted, j.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING {COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
        if per_receiver > 0 {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CLAIM_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query_as::<_, JobRow>(&sql)
            .bind(now.0)
            .bind(i64::from(per_receiver))
            .bind(lease.node.to_string())
            .bind(lease.until.0)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(JobRow::parse).transpose()
    }

    async fn renew_leases(&self, lease: &Lease) -> StoreResult<Vec<JobId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET lease_until = $1 WHERE node = $2 AND status = 'EXECUTING' RETURNING id",
        )
        .bind(lease.until.0)
        .bind(lease.node.to_string())
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|id| job_id(id)).collect()
    }

    async fn finish_job(&self, node: &NodeId, id: &JobId, end: &JobEnd<'_>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let finished = finish_in(&mut tx, node, id, end).await?;
        tx.commit().await?;
        Ok(finished)
    }

    async fn requeue_job(&self, node: &NodeId, id: &JobId, due: Option<Millis>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE jobs SET status = 'SUBMITTED', start_time = NULL, attempts = greatest(attempts - 1, 0), \
             node = NULL, lease_until = NULL, retry_at = $3 WHERE id = $1 AND status = 'EXECUTING' AND node = $2",
        )
        .bind(id.to_string())
        .bind(node.to_string())
        .bind(due.map(|d| d.0))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            self.notify(&mut *tx, "queued").await?;
        }
        tx.commit().await?;
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
        let mut tx = self.pool.begin().await?;
        let retried = retry_in(&mut tx, node, id, due, messages, notebook).await?;
        if retried {
            self.notify(&mut *tx, "queued").await?;
        }
        tx.commit().await?;
        Ok(retried)
    }

    async fn cancel_job(&self, id: &JobId, now: Millis) -> StoreResult<Option<JobStatus>> {
        let mut tx = self.pool.begin().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1 FOR UPDATE")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let before = before
            .map(|s| Reading::of("jobs", &id.to_string()).column("status", JobStatus::parse(&s)))
            .transpose()?;
        let Some(before) = before.filter(|s| s.is_live()) else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE jobs SET status = 'CANCELLED', end_time = $1, messages = $2 WHERE id = $3",
        )
        .bind(now.0)
        .bind(stored_messages(&["The job was cancelled."]))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if before == JobStatus::Executing {
            self.notify(&mut *tx, &format!("cancel:{id}")).await?;
        }
        tx.commit().await?;
        Ok(Some(before))
    }

    async fn job_notebook(&self, id: &JobId) -> StoreResult<Option<Vec<u8>>> {
        let notebook: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT notebook FROM jobs WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(notebook.flatten())
    }

    async fn event(&self, id: &EventId) -> StoreResult<Option<Event>> {
        let row: Option<(String, Vec<u8>, String)> =
            sqlx::query_as("SELECT headers, body, signed FROM events WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(headers, body, signed)| {
            Ok(Event {
                headers,
                body,
                signed: Reading::of("events", &id.to_string()).known(
                    "signed",
                    &signed,
                    SignedPart::parse(&signed),
                )?,
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
        // Rows locked by a concurrent recovery are re-checked when it
        // commits, so a job is taken over by one node only.
        let orphaned = match which {
            Orphans::All => "status = 'EXECUTING'",
            Orphans::Expired => "status = 'EXECUTING' AND coalesce(lease_until, 0) < $1",
        };
        let mut tx = self.pool.begin().await?;
        let failed_ids: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE jobs SET status = 'FAILED', end_time = $1, \
             messages = (messages::jsonb || jsonb_build_array(CAST($2 AS TEXT)))::text, node = NULL, \
             lease_until = NULL WHERE {orphaned} AND {LOST_FOR_GOOD} RETURNING id"
        ))
        .bind(now.0)
        .bind(message)
        .fetch_all(&mut *tx)
        .await?;
        notices_of_failed(&mut tx, &failed_ids, now).await?;
        let failed = failed_ids.len() as u64;
        let requeue_sql = format!(
            "UPDATE jobs SET status = 'SUBMITTED', start_time = NULL, node = NULL, \
             lease_until = NULL WHERE {orphaned}"
        );
        let mut requeue = sqlx::query(&requeue_sql);
        if which == Orphans::Expired {
            requeue = requeue.bind(now.0);
        }
        let requeued = requeue.execute(&mut *tx).await?.rows_affected();
        if requeued > 0 {
            self.notify(&mut *tx, "queued").await?;
        }
        tx.commit().await?;
        Ok((requeued, failed))
    }

    async fn prune_jobs(&self, before: Millis) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let events: Vec<Option<String>> = sqlx::query_scalar(
            "DELETE FROM jobs WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND end_time < $1 \
             RETURNING event_id",
        )
        .bind(before.0)
        .fetch_all(&mut *tx)
        .await?;
        let removed = events.len() as u64;
        let events: Vec<String> = events.into_iter().flatten().collect();
        // An event another job still runs (a replay) stays.
        sqlx::query(
            "DELETE FROM events WHERE id = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)",
        )
        .bind(&events)
        .execute(&mut *tx)
        .await?;
        sqlx::query(PRUNE_NOTICES)
            .bind(before.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn delete_finished_jobs(&self, owner: Option<&Username>) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let events: Vec<Option<String>> = sqlx::query_scalar(&format!(
            "DELETE FROM jobs WHERE {FINISHED_OF} RETURNING event_id"
        ))
        .bind(owner.map(Username::as_str))
        .fetch_all(&mut *tx)
        .await?;
        let removed = events.len() as u64;
        let events: Vec<String> = events.into_iter().flatten().collect();
        // An event another job still runs (a replay) stays.
        sqlx::query(
            "DELETE FROM events WHERE id = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_id = events.id)",
        )
        .bind(&events)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn watch(&self, signals: mpsc::Sender<Signal>) -> StoreResult<bool> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    _ = signals.closed() => return,
                    next = listener.try_recv() => match next {
                        Ok(Some(n)) => match n.payload().strip_prefix("cancel:") {
                            Some(id) => match JobId::parse(id) {
                                Ok(id) => Signal::Cancelled(id),
                                Err(_) => continue,
                            },
                            None => Signal::Queued,
                        },
                        // The connection was lost and is made again: what
                        // was said meanwhile is lost, so look at the queue.
                        Ok(None) => Signal::Queued,
                        Err(e) => {
                            tracing::warn!(error = %hookbook_core::report::chain(&e), "listening for other nodes failed");
                            tokio::time::sleep(RECONNECT).await;
                            continue;
                        }
                    },
                };
                if signals.send(signal).await.is_err() {
                    return;
                }
            }
        });
        Ok(true)
    }
}

crate::replays::replay_steps!(Postgres);
crate::attempts::attempt_steps!(Postgres);
