//! Whole installations in and out of a database, for `hookbook copy`.

/// Implements [`CopyStore`](crate::CopyStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! copy_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::ids::{EventId, JobId};
            use hookbook_core::domain::job::JobInputs;
            use $crate::rows::{
                messages, EventRow, JobRow, EVENT_COLUMNS, JOB_COLUMNS,
            };
            use $crate::{CopyStore, StoreResult, StoredEvent};
            use hookbook_core::domain::job::Job;

            #[async_trait]
            impl CopyStore for $store {
                async fn jobs_after(&self, after: Option<JobId>, limit: u32) -> StoreResult<Vec<Job>> {
                    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id > $1 ORDER BY id LIMIT $2");
                    sqlx::query_as::<_, JobRow>(&sql)
                        .bind(after.map(|a| a.to_string()).unwrap_or_default())
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(JobRow::parse)
                        .collect()
                }

                async fn stored_event(&self, id: &EventId) -> StoreResult<Option<StoredEvent>> {
                    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
                    sqlx::query_as::<_, EventRow>(&sql)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(EventRow::parse)
                        .transpose()
                }

                async fn restore_job(
                    &self,
                    j: &Job,
                    event: Option<&StoredEvent>,
                    notebook: Option<&[u8]>,
                ) -> StoreResult<()> {

                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    if let Some(e) = event {
                        sqlx::query(&format!(
                            "INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                        ))
                        .bind(e.id.to_string())
                        .bind(e.receiver_id.to_string())
                        .bind(&e.delivery_id)
                        .bind(e.received.0)
                        .bind(&e.headers)
                        .bind(&e.body)
                        .bind(e.signed.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(|err| $crate::conflict_or(err, &format!("event '{}'", e.id)))?;
                    }
                    sqlx::query(
                        "INSERT INTO jobs (id, kind, status, item_id, receiver_id, event_id, username, parameters, \
                         submitted, start_time, end_time, messages, attempts, timeout_minutes, inputs, notebook, replay_of, replay_batch, \
                         max_attempts, retry_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
                    )
                    .bind(j.id.to_string())
                    .bind(j.kind.as_str())
                    .bind(j.status.as_str())
                    .bind(j.item_id.as_str())
                    .bind(j.receiver_id.map(|r| r.to_string()))
                    .bind(j.event_id.map(|e| e.to_string()))
                    .bind(j.username.as_str())
                    .bind(j.parameters.to_json())
                    .bind(j.submitted.0)
                    .bind(j.start_time.map(|t| t.0))
                    .bind(j.end_time.map(|t| t.0))
                    .bind(messages(&j.messages))
                    .bind(i64::from(j.attempts))
                    .bind(j.timeout_minutes.map(i64::from))
                    .bind(JobInputs::stored(j.inputs.as_ref()))
                    .bind(notebook)
                    .bind(j.replay_of.map(|r| r.to_string()))
                    .bind(j.replay_batch.map(|b| b.to_string()))
                    .bind(j.max_attempts.map(i64::from))
                    .bind(j.retry_at.map(|t| t.0))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::conflict_or(e, &format!("job '{}'", j.id)))?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        };
    };
}

pub(crate) use copy_store;
