//! Access tokens in SQLite, kept by hash.

use async_trait::async_trait;
use sqlx::Row as _;

use super::SqliteStore;
use crate::domain::time::Millis;
use crate::domain::user::Username;
use crate::security::token::TokenHash;
use crate::store::{StoreError, StoreResult, TokenRecord, TokenStore};

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
        let row = sqlx::query("SELECT hash, username, created, expires FROM tokens WHERE hash = ?")
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let stored: Vec<u8> = row.get("hash");
            Ok(TokenRecord {
                hash: TokenHash(
                    stored
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("token"))?,
                ),
                username: Username::parse(row.get("username"))
                    .map_err(|_| StoreError::Corrupt("token"))?,
                created: Millis(row.get("created")),
                expires: Millis(row.get("expires")),
            })
        })
        .transpose()
    }

    async fn delete_expired_tokens(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires < ?")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
