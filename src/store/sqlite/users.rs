//! Users in SQLite.

use async_trait::async_trait;
use sqlx::Row as _;

use super::{conflict_or, SqliteStore};
use crate::domain::time::Millis;
use crate::domain::user::{User, Username};
use crate::store::{StoreError, StoreResult, UserRecord, UserStore};

#[async_trait]
impl UserStore for SqliteStore {
    async fn add_user(&self, record: &UserRecord) -> StoreResult<()> {
        let privileges: Vec<&str> = record.user.privileges.iter().map(|p| p.as_str()).collect();
        sqlx::query(
            "INSERT INTO users (username, password_hash, role, privileges, created) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(record.user.username.as_str())
        .bind(&record.password_hash)
        .bind(record.user.role.as_str())
        .bind(privileges.join(","))
        .bind(record.created.0)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_or(e, &format!("user '{}'", record.user.username)))?;
        Ok(())
    }

    async fn user(&self, username: &Username) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT username, password_hash, role, privileges, created FROM users WHERE username = ?",
        )
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let corrupt = |_| StoreError::Corrupt("user");
            let privileges: String = row.get("privileges");
            Ok(UserRecord {
                user: User {
                    username: Username::parse(row.get("username")).map_err(corrupt)?,
                    role: row.get::<String, _>("role").parse().map_err(corrupt)?,
                    privileges: privileges
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(corrupt)?,
                },
                password_hash: row.get("password_hash"),
                created: Millis(row.get("created")),
            })
        })
        .transpose()
    }
}
