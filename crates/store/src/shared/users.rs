//! Users.

/// Implements [`UserStore`](crate::UserStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! user_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::user::Username;
            use $crate::rows::{privileges, UserRow, USER_COLUMNS};
            use $crate::{StoreResult, UserRecord, UserStore};

            #[async_trait]
            impl UserStore for $store {
                async fn add_user(&self, record: &UserRecord) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query(&format!(
                        "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
                    ))
                    .bind(record.user.username.as_str())
                    .bind(&record.password_hash)
                    .bind(record.user.role.as_str())
                    .bind(privileges(&record.user))
                    .bind(record.created.0)
                    .bind(record.tokens_revoked.map(|t| t.0))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| {
                        $crate::conflict_or(e, &format!("user '{}'", record.user.username))
                    })?;
                    Ok(())
                }

                async fn user(&self, username: &Username) -> StoreResult<Option<UserRecord>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
                    sqlx::query_as::<_, UserRow>(&sql)
                        .bind(username.as_str())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(UserRow::parse)
                        .transpose()
                }

                async fn all_users(&self) -> StoreResult<Vec<UserRecord>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
                    sqlx::query_as::<_, UserRow>(&sql)
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(UserRow::parse)
                        .collect()
                }
            }
        };
    };
}

pub(crate) use user_store;
