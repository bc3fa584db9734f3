//! Nodes that report themselves alive.

/// Implements [`NodeStore`](crate::NodeStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! node_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::ids::NodeId;
            use hookbook_core::domain::time::Millis;
            use $crate::{NodeStore, StoreResult};

            #[async_trait]
            impl NodeStore for $store {
                async fn node_alive(
                    &self,
                    node: &NodeId,
                    takes_events: bool,
                    now: Millis,
                    since: Millis,
                ) -> StoreResult<u32> {
                    let _turn = self.write_turn().await;
                    sqlx::query(
                        "INSERT INTO nodes (id, takes_events, seen) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO UPDATE SET seen = $3",
                    )
                    .bind(node.to_string())
                    .bind(takes_events)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await?;
                    // Nodes unseen for a day are forgotten (they died without saying so).
                    sqlx::query("DELETE FROM nodes WHERE seen < $1")
                        .bind(now.0 - 86_400_000)
                        .execute(&self.pool)
                        .await?;
                    let n: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM nodes WHERE takes_events AND seen >= $1",
                    )
                    .bind(since.0)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(u32::try_from(n)
                        .unwrap_or(u32::MAX)
                        .max(u32::from(takes_events)))
                }

                async fn node_gone(&self, node: &NodeId) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query("DELETE FROM nodes WHERE id = $1")
                        .bind(node.to_string())
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }
        };
    };
}

pub(crate) use node_store;
