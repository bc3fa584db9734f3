//! Users in SQLite.

use async_trait::async_trait;

use super::{conflict_or, SqliteStore};
use crate::domain::user::Username;
use crate::store::rows::{privileges, UserRow, USER_COLUMNS};
use crate::store::{StoreResult, UserRecord, UserStore};

#[async_trait]
impl UserStore for SqliteStore {
    async fn add_user(&self, record: &UserRecord) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        ))
        .bind(record.user.username.as_str())
        .bind(&record.password_hash)
        .bind(record.user.role.as_str())
        .bind(privileges(&record.user))
        .bind(record.created.0)
        .bind(record.tokens_revoked.map(|t| t.0))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_or(e, &format!("user '{}'", record.user.username)))?;
        Ok(())
    }

    async fn user(&self, username: &Username) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?");
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(UserRow::parse)
            .transpose()
    }
}
