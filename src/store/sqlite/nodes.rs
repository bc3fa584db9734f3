//! Nodes that report themselves alive, in SQLite (one, in practice).

use async_trait::async_trait;
use sqlx::Row as _;

use super::SqliteStore;
use crate::domain::ids::NodeId;
use crate::domain::time::Millis;
use crate::store::{NodeStore, StoreResult};

#[async_trait]
impl NodeStore for SqliteStore {
    async fn node_alive(
        &self,
        node: &NodeId,
        takes_events: bool,
        now: Millis,
        since: Millis,
    ) -> StoreResult<u32> {
        sqlx::query(
            "INSERT INTO nodes (id, takes_events, seen) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET seen = ?3",
        )
        .bind(node.to_string())
        .bind(takes_events)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        let n: i64 =
            sqlx::query("SELECT count(*) AS n FROM nodes WHERE takes_events AND seen >= ?")
                .bind(since.0)
                .fetch_one(&self.pool)
                .await?
                .get("n");
        Ok(u32::try_from(n)
            .unwrap_or(u32::MAX)
            .max(u32::from(takes_events)))
    }

    async fn node_gone(&self, node: &NodeId) -> StoreResult<()> {
        sqlx::query("DELETE FROM nodes WHERE id = ?")
            .bind(node.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
