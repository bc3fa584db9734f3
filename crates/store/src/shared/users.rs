//! Users.

/// Implements [`UserStore`](crate::UserStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
///
/// Removing a user moves what they own to the heir in the transaction that
/// removes them, or refuses while they own anything (their uploads in
/// parts, which are not yet notebooks, go with them).
macro_rules! user_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::time::Millis;
            use hookbook_core::domain::user::{User, Username};
            use $crate::rows::{privileges, UserRow, USER_COLUMNS};
            use $crate::{Owned, StoreResult, UserRecord, UserRemoval, UserStore};

            #[async_trait]
            impl UserStore for $store {
                async fn add_user(&self, record: &UserRecord) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query(&format!(
                        "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    ))
                    .bind(record.user.username.as_str())
                    .bind(&record.password_hash)
                    .bind(record.user.role.as_str())
                    .bind(privileges(&record.user))
                    .bind(record.created.0)
                    .bind(record.tokens_revoked.map(|t| t.0))
                    .bind(record.last_sign_in.map(|t| t.0))
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

                async fn set_password(
                    &self,
                    username: &Username,
                    password_hash: &str,
                ) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done =
                        sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
                            .bind(password_hash)
                            .bind(username.as_str())
                            .execute(&self.pool)
                            .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn set_access(&self, user: &User) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query(
                        "UPDATE users SET role = $1, privileges = $2 WHERE username = $3",
                    )
                    .bind(user.role.as_str())
                    .bind(privileges(user))
                    .bind(user.username.as_str())
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn signed_in(&self, username: &Username, at: Millis) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query("UPDATE users SET last_sign_in = $1 WHERE username = $2")
                        .bind(at.0)
                        .bind(username.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn remove_user(
                    &self,
                    username: &Username,
                    heir: Option<&Username>,
                ) -> StoreResult<UserRemoval> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    let exists = |name: &str| {
                        sqlx::query_scalar::<_, i64>(
                            "SELECT COUNT(*) FROM users WHERE username = $1",
                        )
                        .bind(name.to_string())
                    };
                    if exists(username.as_str()).fetch_one(&mut *tx).await? == 0 {
                        return Ok(UserRemoval::NoSuchUser);
                    }
                    let name = username.as_str();
                    match heir {
                        Some(heir) => {
                            if exists(heir.as_str()).fetch_one(&mut *tx).await? == 0 {
                                return Ok(UserRemoval::NoSuchHeir);
                            }
                            for sql in [
                                "UPDATE items SET owner = $1 WHERE owner = $2",
                                "UPDATE receivers SET owner = $1 WHERE owner = $2",
                                "UPDATE jobs SET username = $1 WHERE username = $2",
                                "UPDATE uploads SET owner = $1 WHERE owner = $2",
                                "UPDATE notices SET username = $1 WHERE username = $2",
                            ] {
                                sqlx::query(sql)
                                    .bind(heir.as_str())
                                    .bind(name)
                                    .execute(&mut *tx)
                                    .await?;
                            }
                        }
                        None => {
                            let count = |sql: &'static str| {
                                sqlx::query_scalar::<_, i64>(sql).bind(name.to_string())
                            };
                            let owned = Owned {
                                items: count("SELECT COUNT(*) FROM items WHERE owner = $1")
                                    .fetch_one(&mut *tx)
                                    .await? as u64,
                                receivers: count("SELECT COUNT(*) FROM receivers WHERE owner = $1")
                                    .fetch_one(&mut *tx)
                                    .await? as u64,
                                jobs: count("SELECT COUNT(*) FROM jobs WHERE username = $1")
                                    .fetch_one(&mut *tx)
                                    .await? as u64,
                            };
                            if owned != Owned::default() {
                                return Ok(UserRemoval::Owns(owned));
                            }
                        }
                    }
                    for sql in [
                        "DELETE FROM uploads WHERE owner = $1",
                        "DELETE FROM notices WHERE username = $1",
                        "DELETE FROM notice_destinations WHERE username = $1",
                        "DELETE FROM tokens WHERE username = $1",
                        "DELETE FROM users WHERE username = $1",
                    ] {
                        sqlx::query(sql).bind(name).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(UserRemoval::Removed)
                }
            }
        };
    };
}

pub(crate) use user_store;
