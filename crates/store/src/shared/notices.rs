//! Failure notices: users' destinations and the notices to send.

/// Implements [`NoticeStore`](crate::NoticeStore) for a store with a
/// `pool` field and a `write_turn` method.
macro_rules! notice_store {
    ($store:ty) => {
        const _: () = {
            use hookbook_core::domain::notice::{Notice, NoticeStatus};
            use async_trait::async_trait;
            use hookbook_core::domain::time::Millis;
            use hookbook_core::domain::user::Username;
            use $crate::rows::{
                DestinationRow, NoticeRow, DESTINATION_COLUMNS, NOTICE_COLUMNS,
            };
            use $crate::{DestinationRecord, NoticeStore, StoreResult};

            #[async_trait]
            impl NoticeStore for $store {
                async fn notice_destination(
                    &self,
                    username: &Username,
                ) -> StoreResult<Option<DestinationRecord>> {
                    let sql = format!(
                        "SELECT {DESTINATION_COLUMNS} FROM notice_destinations WHERE username = $1"
                    );
                    sqlx::query_as::<_, DestinationRow>(&sql)
                        .bind(username.as_str())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(DestinationRow::parse)
                        .transpose()
                }

                async fn set_notice_destination(
                    &self,
                    username: &Username,
                    d: Option<&DestinationRecord>,
                ) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    let Some(d) = d else {
                        sqlx::query("DELETE FROM notice_destinations WHERE username = $1")
                            .bind(username.as_str())
                            .execute(&self.pool)
                            .await?;
                        return Ok(());
                    };
                    let sql = format!(
                        "INSERT INTO notice_destinations ({DESTINATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (username) DO UPDATE SET url = $2, secret = $3, email = $4, modified = $5"
                    );
                    sqlx::query(&sql)
                        .bind(username.as_str())
                        .bind(&d.url)
                        .bind(&d.secret)
                        .bind(&d.email)
                        .bind(d.modified.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn claim_notice(
                    &self,
                    now: Millis,
                    lease_until: Millis,
                ) -> StoreResult<Option<Notice>> {
                    let _turn = self.write_turn().await;
                    // The outer conditions are checked again on the row a
                    // concurrent claim may have changed meanwhile.
                    let sql = format!(
                        "UPDATE notices SET due = $2, attempts = attempts + 1 \
                         WHERE status = 'pending' AND due <= $1 AND (job_id, channel) = \
                         (SELECT job_id, channel FROM notices WHERE status = 'pending' AND due <= $1 \
                          ORDER BY due LIMIT 1) RETURNING {NOTICE_COLUMNS}"
                    );
                    sqlx::query_as::<_, NoticeRow>(&sql)
                        .bind(now.0)
                        .bind(lease_until.0)
                        .fetch_optional(&self.pool)
                        .await?
                        .map(NoticeRow::parse)
                        .transpose()
                }

                async fn record_notice(
                    &self,
                    n: &Notice,
                    status: NoticeStatus,
                    due: Millis,
                    outcome: &str,
                ) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query(
                        "UPDATE notices SET status = $1, due = $2, last_time = $3, last_outcome = $4 \
                         WHERE job_id = $5 AND channel = $6 AND status = 'pending'",
                    )
                    .bind(status.as_str())
                    .bind(due.0)
                    .bind(Millis::now().0)
                    .bind(outcome)
                    .bind(n.job_id.to_string())
                    .bind(n.channel.as_str())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn notices(
                    &self,
                    username: Option<&Username>,
                    limit: u32,
                ) -> StoreResult<Vec<Notice>> {
                    let sql = format!(
                        "SELECT {NOTICE_COLUMNS} FROM notices \
                         WHERE (CAST($1 AS TEXT) IS NULL OR username = $1) \
                         ORDER BY created DESC, job_id DESC LIMIT $2"
                    );
                    sqlx::query_as::<_, NoticeRow>(&sql)
                        .bind(username.map(Username::as_str))
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(NoticeRow::parse)
                        .collect()
                }
            }
        };
    };
}

pub(crate) use notice_store;
