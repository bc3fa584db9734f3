//! Access tokens in SQLite, kept by hash.

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::time::Millis;
use crate::security::token::TokenHash;
use crate::store::rows::TokenRow;
use crate::store::{StoreResult, TokenRecord, TokenStore};

#[async_trait]
impl TokenStore for SqliteStore {
    async fn add_token(&self, record: &TokenRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO tokens (hash, username, created, expires) VALUES (?, ?, ?, ?)")
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
            "SELECT hash, username, created, expires FROM tokens WHERE hash = ?",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await?
        .map(TokenRow::parse)
        .transpose()
    }

    async fn delete_token(&self, hash: &TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM tokens WHERE hash = ?")
            .bind(&hash.0[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_tokens(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires < ?")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
