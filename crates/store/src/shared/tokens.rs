//! Access tokens, kept by hash.

/// Implements [`TokenStore`](crate::TokenStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! token_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::time::Millis;
            use hookbook_core::domain::user::Username;
            use hookbook_core::security::token::TokenHash;
            use $crate::rows::TokenRow;
            use $crate::{StoreResult, TokenRecord, TokenStore};

            #[async_trait]
            impl TokenStore for $store {
                async fn add_token(&self, record: &TokenRecord) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query(
                        "INSERT INTO tokens (hash, username, created, expires) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&record.hash.0[..])
                    .bind(record.username.as_str())
                    .bind(record.created.0)
                    .bind(record.expires.0)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn token(&self, hash: &TokenHash) -> StoreResult<Option<TokenRecord>> {
                    sqlx::query_as::<_, TokenRow>(
                        "SELECT hash, username, created, expires FROM tokens WHERE hash = $1",
                    )
                    .bind(&hash.0[..])
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TokenRow::parse)
                    .transpose()
                }

                async fn delete_token(&self, hash: &TokenHash) -> StoreResult<()> {

                    let _turn = self.write_turn().await;
                    sqlx::query("DELETE FROM tokens WHERE hash = $1")
                        .bind(&hash.0[..])
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn revoke_tokens(&self, username: &Username, now: Millis) -> StoreResult<Option<u64>> {

                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    let marked = sqlx::query("UPDATE users SET tokens_revoked = $1 WHERE username = $2")
                        .bind(now.0)
                        .bind(username.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if marked.rows_affected() == 0 {
                        return Ok(None);
                    }
                    let deleted = sqlx::query("DELETE FROM tokens WHERE username = $1")
                        .bind(username.as_str())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(deleted.rows_affected()))
                }

                async fn delete_expired_tokens(&self, now: Millis) -> StoreResult<u64> {

                    let _turn = self.write_turn().await;
                    let done = sqlx::query("DELETE FROM tokens WHERE expires < $1")
                        .bind(now.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}

pub(crate) use token_store;
