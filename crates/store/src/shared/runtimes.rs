//! Runtimes.

/// Binds a runtime's fields from its name to its message (`$2` to `$11`,
/// after its id), in the order of `RUNTIME_COLUMNS`.
macro_rules! bind_fields {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.name.as_str())
            .bind($crate::runtimes::name_key(&$r.name))
            .bind(i64::from($r.version))
            .bind($r.requirements.to_file())
            .bind($crate::runtimes::preload_text(&$r.preload))
            .bind($r.limits.max_cpu)
            .bind($r.limits.max_memory.and_then(|m| i64::try_from(m).ok()))
            .bind($r.lock.as_deref())
            .bind($r.state.as_str())
            .bind(&$r.message)
    };
}

/// Implements [`RuntimeStore`](crate::RuntimeStore) for a store with
/// a `pool` field and a `write_turn` method.
macro_rules! runtime_store {
    ($store:ty) => {
        const _: () = {
            use hookbook_core::domain::runtime::Runtime;
            use async_trait::async_trait;
            use hookbook_core::domain::runtime::{RuntimeId, RuntimeState};
            use $crate::runtimes::{
                RuntimeRow, RUNTIME_COLUMNS as COLUMNS,
            };
            use $crate::{RuntimeStore, StoreResult};

            #[async_trait]
            impl RuntimeStore for $store {
                async fn add_runtime(&self, r: &Runtime) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    let sql = format!(
                        "INSERT INTO runtimes ({COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                    );
                    $crate::shared::runtimes::bind_fields!(sqlx::query(&sql).bind(r.id.as_str()), r)
                        .bind(r.created.0)
                        .bind(r.modified.0)
                        .execute(&self.pool)
                        .await
                        .map_err(|e| {
                            $crate::conflict_or(e, &format!("a runtime named '{}'", r.name))
                        })?;
                    Ok(())
                }

                async fn runtime(&self, id: &RuntimeId) -> StoreResult<Option<Runtime>> {
                    let sql = format!("SELECT {COLUMNS} FROM runtimes WHERE id = $1");
                    sqlx::query_as::<_, RuntimeRow>(&sql)
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(RuntimeRow::parse)
                        .transpose()
                }

                async fn runtimes(&self) -> StoreResult<Vec<Runtime>> {
                    let sql = format!("SELECT {COLUMNS} FROM runtimes ORDER BY name_key");
                    sqlx::query_as::<_, RuntimeRow>(&sql)
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(RuntimeRow::parse)
                        .collect()
                }

                async fn update_runtime(&self, r: &Runtime) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done = $crate::shared::runtimes::bind_fields!(
                        sqlx::query(
                            "UPDATE runtimes SET name = $2, name_key = $3, version = $4, \
                             requirements = $5, preload = $6, max_cpu = $7, max_memory = $8, \
                             lock = $9, state = $10, message = $11, modified = $12 WHERE id = $1",
                        )
                        .bind(r.id.as_str()),
                        r
                    )
                    .bind(r.modified.0)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| {
                        $crate::conflict_or(e, &format!("a runtime named '{}'", r.name))
                    })?;
                    Ok(done.rows_affected() > 0)
                }

                async fn set_runtime_state(
                    &self,
                    id: &RuntimeId,
                    version: u32,
                    state: RuntimeState,
                    lock: Option<&str>,
                    message: &str,
                ) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query(
                        "UPDATE runtimes SET state = $3, lock = COALESCE(lock, $4), message = $5 \
                         WHERE id = $1 AND version = $2",
                    )
                    .bind(id.as_str())
                    .bind(i64::from(version))
                    .bind(state.as_str())
                    .bind(lock)
                    .bind(message)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn remove_runtime(&self, id: &RuntimeId) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query("DELETE FROM runtimes WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        };
    };
}

pub(crate) use {bind_fields, runtime_store};
