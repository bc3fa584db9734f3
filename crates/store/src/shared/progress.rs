//! The notebooks of running jobs so far.

/// Implements [`ProgressStore`](crate::ProgressStore) for a store with a
/// `pool` field and a `write_turn` method.
///
/// Only the node holding a job writes its progress; a page reads it while
/// the job runs, or was cancelled as it ran.
macro_rules! progress_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::ids::{JobId, NodeId};
            use hookbook_core::domain::time::Millis;
            use $crate::{ProgressStore, StoreResult};

            #[async_trait]
            impl ProgressStore for $store {
                async fn save_progress(
                    &self,
                    node: &NodeId,
                    id: &JobId,
                    notebook: &[u8],
                    now: Millis,
                ) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let saved = sqlx::query(
                        "INSERT INTO job_progress (job_id, notebook, updated_at) SELECT id, $1, $2 FROM jobs WHERE id = $3 AND node = $4 AND status = 'EXECUTING' ON CONFLICT (job_id) DO UPDATE SET notebook = excluded.notebook, updated_at = excluded.updated_at",
                    )
                    .bind(notebook)
                    .bind(now.0)
                    .bind(id.to_string())
                    .bind(node.to_string())
                    .execute(&self.pool)
                    .await?;
                    Ok(saved.rows_affected() > 0)
                }

                async fn job_progress(&self, id: &JobId) -> StoreResult<Option<Vec<u8>>> {
                    Ok(sqlx::query_scalar(
                        "SELECT p.notebook FROM job_progress p JOIN jobs j ON j.id = p.job_id WHERE p.job_id = $1 AND j.status IN ('EXECUTING', 'CANCELLED')",
                    )
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn clear_progress(&self, id: &JobId) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query("DELETE FROM job_progress WHERE job_id = $1")
                        .bind(id.to_string())
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn keep_cancelled_notebook(
                    &self,
                    node: &NodeId,
                    id: &JobId,
                    notebook: &[u8],
                ) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let kept = sqlx::query(
                        "UPDATE jobs SET notebook = $1 WHERE id = $2 AND node = $3 AND status = 'CANCELLED' AND notebook IS NULL",
                    )
                    .bind(notebook)
                    .bind(id.to_string())
                    .bind(node.to_string())
                    .execute(&self.pool)
                    .await?;
                    Ok(kept.rows_affected() > 0)
                }
            }
        };
    };
}

pub(crate) use progress_store;
