//! The SQL of replays, the same text on both databases (numbered
//! placeholders): which jobs a replay of many selects, how many of them
//! were replayed before, and the undoing of a replay of many.

/// A replay of job `$6` (a webhook job with its event), queued as `$1` with
/// item `$2`, owner `$3`, parameters `$4`, submitted `$5`, in batch `$7`
/// (or none).
pub const INSERT: &str = "INSERT INTO jobs (id, kind, status, item_id, receiver_id, event_id, \
     username, parameters, submitted, replay_of, replay_batch) \
     SELECT $1, 'webhook', 'SUBMITTED', $2, receiver_id, event_id, $3, $4, $5, id, $7 FROM jobs \
     WHERE id = $6 AND kind = 'webhook' AND event_id IS NOT NULL";

/// The receiver's webhook jobs (`o`) a replay of many selects: not replays
/// themselves, with their event, ended in one of `$2` (statuses joined by
/// commas), submitted from `$3` to `$4`; `$1` is the receiver.
macro_rules! selection {
    () => {
        "o.receiver_id = $1 AND o.kind = 'webhook' AND o.replay_of IS NULL \
         AND o.event_id IS NOT NULL AND o.submitted BETWEEN $3 AND $4 \
         AND (',' || CAST($2 AS TEXT) || ',') LIKE ('%,' || o.status || ',%')"
    };
}

/// The selected jobs' ids, oldest first, at most `$5`.
pub const SELECTED: &str = concat!(
    "SELECT o.id FROM jobs o WHERE ",
    selection!(),
    " ORDER BY o.submitted, o.id LIMIT $5"
);

/// How many jobs the selection holds.
pub const COUNT_SELECTED: &str = concat!("SELECT count(*) FROM jobs o WHERE ", selection!());

/// How many of the selected jobs were replayed before.
pub const COUNT_REPLAYED: &str = concat!(
    "SELECT count(*) FROM jobs o WHERE ",
    selection!(),
    " AND EXISTS (SELECT 1 FROM jobs r WHERE r.replay_of = o.id)"
);

/// Cancels a batch's replays still waiting: `$1` the end time, `$2` the
/// message list, `$3` the batch, `$4` its receiver.
pub const CANCEL_BATCH: &str =
    "UPDATE jobs SET status = 'CANCELLED', end_time = $1, messages = $2 \
     WHERE replay_batch = $3 AND receiver_id = $4 AND status = 'SUBMITTED'";

/// The message a job cancelled with its batch ends with.
pub const CANCELLED_WITH_BATCH: &str = "Cancelled with the replay that made it.";

/// The steps of a replay both stores take (`$db` is the sqlx database
/// type): inserting one replay and choosing what a replay of many makes,
/// inside the store's transaction; cancelling a batch's waiting replays.
macro_rules! replay_steps {
    ($db:ty) => {
        async fn cancel_waiting(
            pool: &sqlx::Pool<$db>,
            receiver: &hookbook_core::domain::ids::ReceiverId,
            batch: &hookbook_core::domain::ids::BatchId,
            now: hookbook_core::domain::time::Millis,
        ) -> $crate::StoreResult<u64> {
            let messages = $crate::rows::messages(&[$crate::replays::CANCELLED_WITH_BATCH]);
            let cancelled = sqlx::query($crate::replays::CANCEL_BATCH)
                .bind(now.0)
                .bind(messages)
                .bind(batch.to_string())
                .bind(receiver.to_string())
                .execute(pool)
                .await?;
            Ok(cancelled.rows_affected())
        }

        async fn insert_replay(
            tx: &mut sqlx::Transaction<'static, $db>,
            r: &$crate::NewReplay,
            batch: Option<hookbook_core::domain::ids::BatchId>,
        ) -> $crate::StoreResult<bool> {
            let added = sqlx::query($crate::replays::INSERT)
                .bind(r.id.to_string())
                .bind(r.item_id.as_str())
                .bind(r.username.as_str())
                .bind(&r.parameters)
                .bind(r.submitted.0)
                .bind(r.of.to_string())
                .bind(batch.map(|b| b.to_string()))
                .execute(&mut **tx)
                .await?;
            Ok(added.rows_affected() == 1)
        }

        /// What a replay of many would do, and the ids of the jobs it selects.
        async fn select_replays(
            tx: &mut sqlx::Transaction<'static, $db>,
            r: &$crate::BulkReplay,
        ) -> $crate::StoreResult<($crate::BulkReplayed, Vec<hookbook_core::domain::ids::JobId>)> {
            let count_of = |sql: &'static str| -> sqlx::query::QueryScalar<'static, $db, i64, _> {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(r.receiver_id.to_string())
                    .bind(r.status_list())
                    .bind(r.from.0)
                    .bind(r.to.0)
            };
            let selected = count_of($crate::replays::COUNT_SELECTED)
                .fetch_one(&mut **tx)
                .await?;
            let selected = u64::try_from(selected).unwrap_or(0);
            if selected > u64::from(r.max) {
                return Ok(($crate::BulkReplayed::TooMany { selected }, Vec::new()));
            }
            let already = count_of($crate::replays::COUNT_REPLAYED)
                .fetch_one(&mut **tx)
                .await?;
            let already = u64::try_from(already).unwrap_or(0);
            let ids: Vec<String> = sqlx::query_scalar($crate::replays::SELECTED)
                .bind(r.receiver_id.to_string())
                .bind(r.status_list())
                .bind(r.from.0)
                .bind(r.to.0)
                .bind(i64::from(r.max))
                .fetch_all(&mut **tx)
                .await?;
            let ids = ids
                .iter()
                .map(|id| {
                    let row = $crate::Reading::of("jobs", id);
                    row.column("id", hookbook_core::domain::ids::JobId::parse(id))
                })
                .collect::<$crate::StoreResult<Vec<_>>>()?;
            let jobs = ids.len() as u64;
            Ok(($crate::BulkReplayed::Queued { jobs, already }, ids))
        }
    };
}
pub(crate) use replay_steps;
