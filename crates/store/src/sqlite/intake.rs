//! Accepted events, their jobs and the delivery log in SQLite. Writes go
//! through the group-commit writer (`writer.rs`); reads use the pool.

use hookbook_core::domain::delivery::{Delivery, LoggedDelivery};

use async_trait::async_trait;
use sqlx::Row as _;

use super::SqliteStore;
use crate::rows::{delivery_log_sql, DeliveryRow};
use crate::{Acceptance, IntakeStore, NewEvent, StoreResult};
use hookbook_core::domain::ids::ReceiverId;
use hookbook_core::domain::time::Millis;

#[async_trait]
impl IntakeStore for SqliteStore {
    async fn accept_events(
        &self,
        events: Vec<NewEvent>,
        max_queue_depth: u64,
    ) -> StoreResult<Vec<Acceptance>> {
        let _turn = self.write_turn().await;
        self.writer.accept(events, max_queue_depth).await
    }

    async fn log_deliveries(&self, records: &[Delivery]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        self.writer.log(records).await
    }

    async fn deliveries(
        &self,
        receiver_id: &ReceiverId,
        limit: u32,
    ) -> StoreResult<Vec<LoggedDelivery>> {
        let sql = delivery_log_sql("?1", "?2", "length");
        sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(receiver_id.to_string())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(DeliveryRow::parse)
            .collect()
    }

    async fn prune_deliveries(&self, before: Millis, keep: u32) -> StoreResult<u64> {
        let _turn = self.write_turn().await;
        // No index on time: this reads the whole log, as the trim by count
        // below does; neither runs more than hourly.
        let old = sqlx::query("DELETE FROM deliveries WHERE time < ?")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        let excess = sqlx::query(
            "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM (SELECT seq, row_number() OVER \
             (PARTITION BY receiver_id ORDER BY seq DESC) AS n FROM deliveries) WHERE n > ?)",
        )
        .bind(keep)
        .execute(&self.pool)
        .await?;
        Ok(old.rows_affected() + excess.rows_affected())
    }

    async fn trim_deliveries(&self, receiver_id: &ReceiverId, keep: u32) -> StoreResult<u64> {
        let _turn = self.write_turn().await;
        let receiver = receiver_id.to_string();
        let trimmed = sqlx::query(
            "DELETE FROM deliveries WHERE receiver_id = ?1 AND seq < (SELECT seq FROM deliveries \
             WHERE receiver_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        )
        .bind(&receiver)
        .bind(keep.saturating_sub(1))
        .execute(&self.pool)
        .await?;
        Ok(trimmed.rows_affected())
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT waiting FROM queue_depth WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .get("waiting");
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
