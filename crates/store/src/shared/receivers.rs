//! Webhook receivers; secrets arrive already sealed.

/// Implements [`ReceiverStore`](crate::ReceiverStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! receiver_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::ids::ReceiverId;
            use hookbook_core::domain::user::Username;
            use $crate::rows::{ReceiverRow, RECEIVER_COLUMNS as COLUMNS};
            use $crate::{ReceiverRecord, ReceiverStore, StoreResult};

            #[async_trait]
            impl ReceiverStore for $store {
                async fn add_receiver(&self, r: &ReceiverRecord) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    let sql = format!(
                        "INSERT INTO receivers ({COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
                        .map_err(|e| $crate::conflict_or(e, &format!("webhook receiver '{}'", r.id)))?;
                    Ok(())
                }

                async fn receiver(&self, id: &ReceiverId) -> StoreResult<Option<ReceiverRecord>> {
                    let sql = format!("SELECT {COLUMNS} FROM receivers WHERE id = $1");
                    sqlx::query_as::<_, ReceiverRow>(&sql)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(ReceiverRow::parse)
                        .transpose()
                }

                async fn receivers(&self, owner: Option<&Username>) -> StoreResult<Vec<ReceiverRecord>> {
                    let sql = format!(
                        "SELECT {COLUMNS} FROM receivers WHERE (CAST($1 AS TEXT) IS NULL OR owner = $1) ORDER BY created, id"
                    );
                    sqlx::query_as::<_, ReceiverRow>(&sql)
                        .bind(owner.map(Username::as_str))
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(ReceiverRow::parse)
                        .collect()
                }

                async fn update_receiver(&self, r: &ReceiverRecord) -> StoreResult<bool> {

                    let _turn = self.write_turn().await;
                    let done = sqlx::query(
                        "UPDATE receivers SET name = $1, item_id = $2, signature_headers = $3, disabled = $4, \
                         secret = $5, previous_secret = $6, previous_secret_until = $7, api_token = $8, \
                         parameters = $9, message = $10, modified = $11 WHERE id = $12",
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

                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query("DELETE FROM receivers WHERE id = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM deliveries WHERE receiver_id = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM retry_policies WHERE scope = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}

pub(crate) use receiver_store;
