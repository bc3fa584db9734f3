//! Retry policies, the site's and receivers' own.

/// Implements [`RetryStore`](crate::RetryStore) for a store with a
/// `pool` field and a `write_turn` method.
macro_rules! retry_store {
    ($store:ty) => {
        const _: () = {
            use hookbook_core::domain::retry::{PolicyScope, ScopedPolicy};
            use async_trait::async_trait;
            use hookbook_core::domain::ids::ReceiverId;
            use hookbook_core::domain::retry::{Failure, RetryPolicy};
            use $crate::rows::{scope_key, PolicyRow, POLICY_COLUMNS as COLUMNS};
            use $crate::{RetryStore, StoreResult};

            #[async_trait]
            impl RetryStore for $store {
                async fn retry_policy(&self, scope: PolicyScope) -> StoreResult<Option<RetryPolicy>> {
                    let sql = format!("SELECT {COLUMNS} FROM retry_policies WHERE scope = $1");
                    let row = sqlx::query_as::<_, PolicyRow>(&sql)
                        .bind(scope_key(scope))
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(PolicyRow::parse).transpose()?.map(|s| s.policy))
                }

                async fn effective_retry_policy(
                    &self,
                    receiver: Option<&ReceiverId>,
                ) -> StoreResult<ScopedPolicy> {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM retry_policies WHERE scope IN ($1, 'site') \
                         ORDER BY scope = 'site' LIMIT 1"
                    );
                    let row = sqlx::query_as::<_, PolicyRow>(&sql)
                        .bind(receiver.map(|r| r.to_string()).unwrap_or_default())
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(match row {
                        Some(row) => row.parse()?,
                        None => ScopedPolicy { scope: PolicyScope::Site, policy: RetryPolicy::default() },
                    })
                }

                async fn set_retry_policy(
                    &self,
                    scope: PolicyScope,
                    policy: Option<&RetryPolicy>,
                ) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    let Some(p) = policy else {
                        sqlx::query("DELETE FROM retry_policies WHERE scope = $1 AND scope <> 'site'")
                            .bind(scope_key(scope))
                            .execute(&self.pool)
                            .await?;
                        return Ok(());
                    };
                    let sql = format!(
                        "INSERT INTO retry_policies ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (scope) DO UPDATE SET max_attempts = $2, delay_seconds = $3, \
                         backoff_factor = $4, max_delay_seconds = $5, on_error = $6, on_timeout = $7, \
                         on_lost_node = $8"
                    );
                    sqlx::query(&sql)
                        .bind(scope_key(scope))
                        .bind(i64::from(p.max_attempts()))
                        .bind(i64::from(p.delay_seconds()))
                        .bind(p.backoff_factor())
                        .bind(i64::from(p.max_delay_seconds()))
                        .bind(p.retries(Failure::Error))
                        .bind(p.retries(Failure::Timeout))
                        .bind(p.retries(Failure::LostNode))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn retry_policies(&self) -> StoreResult<Vec<ScopedPolicy>> {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM retry_policies ORDER BY scope <> 'site', scope"
                    );
                    sqlx::query_as::<_, PolicyRow>(&sql)
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(PolicyRow::parse)
                        .collect()
                }
            }
        };
    };
}

pub(crate) use retry_store;
