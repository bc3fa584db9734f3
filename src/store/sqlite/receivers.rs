//! Webhook receivers in SQLite; secrets arrive already sealed.

use async_trait::async_trait;

use super::{conflict_or, SqliteStore};
use crate::domain::ids::ReceiverId;
use crate::domain::user::Username;
use crate::store::rows::{ReceiverRow, RECEIVER_COLUMNS as COLUMNS};
use crate::store::{ReceiverRecord, ReceiverStore, StoreResult};

#[async_trait]
impl ReceiverStore for SqliteStore {
    async fn add_receiver(&self, r: &ReceiverRecord) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO receivers ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        sqlx::query(&sql)
            .bind(r.id.to_string())
            .bind(&r.name)
            .bind(r.item_id.as_str())
            .bind(r.owner.as_str())
            .bind(&r.signature_headers)
            .bind(r.disabled)
            .bind(&r.secret)
            .bind(r.previous_secret.as_ref().map(|p| &p.0))
            .bind(r.previous_secret.as_ref().map(|p| p.1 .0))
            .bind(&r.api_token)
            .bind(&r.parameters)
            .bind(&r.message)
            .bind(r.created.0)
            .bind(r.modified.0)
            .execute(&self.pool)
            .await
            .map_err(|e| conflict_or(e, &format!("webhook receiver '{}'", r.id)))?;
        Ok(())
    }

    async fn receiver(&self, id: &ReceiverId) -> StoreResult<Option<ReceiverRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM receivers WHERE id = ?");
        sqlx::query_as::<_, ReceiverRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(ReceiverRow::parse)
            .transpose()
    }

    async fn receivers(&self, owner: Option<&Username>) -> StoreResult<Vec<ReceiverRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM receivers WHERE (? IS NULL OR owner = ?) ORDER BY created, id"
        );
        let owner = owner.map(Username::as_str);
        sqlx::query_as::<_, ReceiverRow>(&sql)
            .bind(owner)
            .bind(owner)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(ReceiverRow::parse)
            .collect()
    }

    async fn update_receiver(&self, r: &ReceiverRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE receivers SET name = ?, item_id = ?, signature_headers = ?, disabled = ?, \
             secret = ?, previous_secret = ?, previous_secret_until = ?, api_token = ?, \
             parameters = ?, message = ?, modified = ? WHERE id = ?",
        )
        .bind(&r.name)
        .bind(r.item_id.as_str())
        .bind(&r.signature_headers)
        .bind(r.disabled)
        .bind(&r.secret)
        .bind(r.previous_secret.as_ref().map(|p| &p.0))
        .bind(r.previous_secret.as_ref().map(|p| p.1 .0))
        .bind(&r.api_token)
        .bind(&r.parameters)
        .bind(&r.message)
        .bind(r.modified.0)
        .bind(r.id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_receiver(&self, id: &ReceiverId) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM receivers WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM deliveries WHERE receiver_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
