//! The SQL of attempts and their ends, one text for both databases: what a
//! claim records of the job's retry policy, which orphaned jobs a lost
//! node's recovery fails rather than runs again, a failed attempt put
//! back, and the end of a job with the notices a failure makes.

/// The policy a job follows, inside a statement on `jobs`: the receiver's
/// own, else the site's.
macro_rules! policy_of_job {
    ($column:literal) => {
        concat!(
            "(SELECT p.",
            $column,
            " FROM retry_policies p WHERE p.scope IN (coalesce(jobs.receiver_id, ''), 'site') \
             ORDER BY p.scope = 'site' LIMIT 1)"
        )
    };
}

/// What a claim sets `max_attempts` to: the most attempts the job's
/// policy gives it now (one, should no policy be left at all).
pub const MAX_ATTEMPTS_NOW: &str = concat!("coalesce(", policy_of_job!("max_attempts"), ", 1)");

/// True for an orphaned job (its node was lost) that is not run again:
/// its policy does not retry lost nodes, or it had its last attempt.
pub const LOST_FOR_GOOD: &str = concat!(
    "(NOT coalesce(",
    policy_of_job!("on_lost_node"),
    ", TRUE) OR attempts >= coalesce(max_attempts, 2))"
);

/// Puts a job whose attempt failed back in the queue: `$1` when it is due,
/// `$2` its messages, `$3` the failed attempt's notebook (if any), `$4`
/// the job, `$5` the node that must still hold it.
pub const RETRY: &str = "UPDATE jobs SET status = 'SUBMITTED', retry_at = $1, messages = $2, \
     notebook = coalesce($3, notebook), start_time = NULL, node = NULL, lease_until = NULL \
     WHERE id = $4 AND status = 'EXECUTING' AND node = $5";

/// Makes the notices of a job that just ended `FAILED` (`$1`, at `$2`):
/// one per channel its owner's destination has. Run in the transaction
/// that ends the job, so that a failure is never left without its notice.
pub const NOTICES_OF_FAILED_JOB: &str = "INSERT INTO notices (job_id, channel, username, status, attempts, due, created) \
     SELECT j.id, c.channel, j.username, 'pending', 0, $2, $2 \
     FROM jobs j JOIN notice_destinations d ON d.username = j.username \
     JOIN (SELECT 'webhook' AS channel UNION ALL SELECT 'email') c \
       ON (c.channel = 'webhook' AND d.url IS NOT NULL) OR (c.channel = 'email' AND d.email IS NOT NULL) \
     WHERE j.id = $1 AND j.status = 'FAILED' \
     ON CONFLICT DO NOTHING";

/// Removes the notices, delivered or given up, made before `$1` (pruned
/// with the jobs of that age).
/// The finished jobs of `$1`, or of everyone when `$1` is null.
pub const FINISHED_OF: &str = "status IN ('COMPLETED', 'FAILED', 'CANCELLED') \
     AND ($1 IS NULL OR username = $1)";

pub const PRUNE_NOTICES: &str = "DELETE FROM notices WHERE created < $1 AND status <> 'pending'";

/// Ends a job its node still holds: `$1` status, `$2` end, `$3` messages,
/// `$4` the executed notebook (if any), `$5` the job, `$6` the node, `$7`
/// when its first cell was sent (if it was).
pub const FINISH: &str = "UPDATE jobs SET status = $1, end_time = $2, messages = $3, \
     notebook = coalesce($4, notebook), first_cell = $7 \
     WHERE id = $5 AND status = 'EXECUTING' AND node = $6";

/// Writes the notebook `$1` into the item of job `$3` at `$2`.
pub const SAVE_TO_ITEM: &str = "UPDATE items SET data = $1, modified = $2 \
     WHERE id = (SELECT item_id FROM jobs WHERE id = $3)";

/// The steps both stores take to end jobs, for a database `$db`.
macro_rules! attempt_steps {
    ($db:ty) => {
        /// Ends a job (see [`FINISH`]), writes its item when asked, and
        /// makes its notices when it failed, in `tx`; true when this node
        /// still held it.
        async fn finish_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            node: &hookbook_core::domain::ids::NodeId,
            id: &hookbook_core::domain::ids::JobId,
            e: &hookbook_core::domain::job::JobEnd<'_>,
        ) -> $crate::StoreResult<bool> {
            let done = sqlx::query($crate::attempts::FINISH)
                .bind(e.status.as_str())
                .bind(e.end.0)
                .bind($crate::rows::messages(e.messages))
                .bind(e.notebook)
                .bind(id.to_string())
                .bind(node.to_string())
                .bind(e.first_cell.map(|t| t.0))
                .execute(&mut **tx)
                .await?;
            let finished = done.rows_affected() == 1;
            if let (true, Some(item)) = (finished, e.item) {
                sqlx::query($crate::attempts::SAVE_TO_ITEM)
                    .bind(item)
                    .bind(e.end.0)
                    .bind(id.to_string())
                    .execute(&mut **tx)
                    .await?;
            }
            if finished && e.status == hookbook_core::domain::job::JobStatus::Failed {
                notices_of_failed(tx, &[id.to_string()], e.end).await?;
            }
            Ok(finished)
        }

        /// Puts a failed attempt back in the queue (see [`RETRY`]), in `tx`;
        /// true when this node still held the job.
        async fn retry_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            node: &hookbook_core::domain::ids::NodeId,
            id: &hookbook_core::domain::ids::JobId,
            due: hookbook_core::domain::time::Millis,
            messages: &[String],
            notebook: Option<&[u8]>,
        ) -> $crate::StoreResult<bool> {
            let done = sqlx::query($crate::attempts::RETRY)
                .bind(due.0)
                .bind($crate::rows::messages(messages))
                .bind(notebook)
                .bind(id.to_string())
                .bind(node.to_string())
                .execute(&mut **tx)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        /// Makes the notices of jobs that just failed, in `tx`.
        async fn notices_of_failed(
            tx: &mut sqlx::Transaction<'static, $db>,
            jobs: &[String],
            now: hookbook_core::domain::time::Millis,
        ) -> $crate::StoreResult<()> {
            for job in jobs {
                sqlx::query($crate::attempts::NOTICES_OF_FAILED_JOB)
                    .bind(job)
                    .bind(now.0)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }
    };
}
pub(crate) use attempt_steps;
