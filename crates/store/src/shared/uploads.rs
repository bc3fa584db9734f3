//! Uploads in parts: a row per pending upload, a row per part, until the
//! commit makes them one item. Each change of an upload first updates its
//! row, which on PostgreSQL locks it, so parts arriving at once (on any
//! node) are counted against the limit one after another.

/// Implements [`UploadStore`](crate::UploadStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! upload_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use hookbook_core::domain::ids::ItemId;
            use hookbook_core::domain::notebook::Item;
            use hookbook_core::domain::time::Millis;
            use hookbook_core::domain::upload::{PartNumber, Upload};
            use $crate::rows::{UploadRow, UPLOAD_COLUMNS};
            use $crate::{PartAdded, StoreResult, UploadStarted, UploadStore};

            /// The parts, then the uploads, last changed before `$1`.
            const SWEEP_PARTS: &str = "DELETE FROM upload_parts WHERE upload_id IN (SELECT id FROM uploads WHERE modified < $1)";
            const SWEEP: &str = "DELETE FROM uploads WHERE modified < $1";
            /// How long a failed upload is kept (it has no parts left).
            const FAILED_KEPT_MS: i64 = 10 * 60 * 1000;

            #[async_trait]
            impl UploadStore for $store {
                async fn start_upload(
                    &self,
                    upload: &Upload,
                    max_pending: u32,
                    stale_before: Millis,
                ) -> StoreResult<UploadStarted> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    sqlx::query(SWEEP_PARTS)
                        .bind(stale_before.0)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(SWEEP)
                        .bind(stale_before.0)
                        .execute(&mut *tx)
                        .await?;
                    // The owner's row, locked (on PostgreSQL) while its
                    // uploads are counted.
                    sqlx::query("UPDATE users SET username = username WHERE username = $1")
                        .bind(upload.owner.as_str())
                        .execute(&mut *tx)
                        .await?;
                    // A failed upload answers its status for ten minutes,
                    // and counts against the owner's pending ones until then.
                    sqlx::query(
                        "DELETE FROM uploads WHERE owner = $1 AND state = 'failed' AND modified < $2",
                    )
                    .bind(upload.owner.as_str())
                    .bind(upload.created.0 - FAILED_KEPT_MS)
                    .execute(&mut *tx)
                    .await?;
                    let pending: i64 = sqlx::query_scalar(
                        "SELECT CAST(count(*) AS BIGINT) FROM uploads WHERE owner = $1",
                    )
                    .bind(upload.owner.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    if pending >= i64::from(max_pending) {
                        tx.commit().await?;
                        return Ok(UploadStarted::TooMany(u64::try_from(pending).unwrap_or(0)));
                    }
                    sqlx::query(&format!(
                        "INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ))
                    .bind(upload.id.as_str())
                    .bind(upload.owner.as_str())
                    .bind(upload.title.as_str())
                    .bind(upload.tags.joined())
                    .bind(upload.state.as_str())
                    .bind(&upload.message)
                    .bind(upload.created.0)
                    .bind(upload.modified.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::conflict_or(e, &format!("upload '{}'", upload.id)))?;
                    tx.commit().await?;
                    Ok(UploadStarted::Started)
                }

                async fn upload(&self, id: &ItemId) -> StoreResult<Option<Upload>> {
                    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
                    sqlx::query_as::<_, UploadRow>(&sql)
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(UploadRow::parse)
                        .transpose()
                }

                async fn add_part(
                    &self,
                    id: &ItemId,
                    part: PartNumber,
                    data: &[u8],
                    max_bytes: u64,
                    now: Millis,
                ) -> StoreResult<PartAdded> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    let taking = sqlx::query(
                        "UPDATE uploads SET modified = $2 WHERE id = $1 AND state = 'partial'",
                    )
                    .bind(id.as_str())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                    if taking.rows_affected() == 0 {
                        return Ok(PartAdded::NoUpload);
                    }
                    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1 AND part_num = $2")
                        .bind(id.as_str())
                        .bind(i64::from(part.get()))
                        .execute(&mut *tx)
                        .await?;
                    let held: i64 = sqlx::query_scalar(
                        "SELECT CAST(coalesce(sum(octet_length(data)), 0) AS BIGINT) FROM upload_parts WHERE upload_id = $1",
                    )
                    .bind(id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    let total = u64::try_from(held)
                        .unwrap_or(0)
                        .saturating_add(data.len() as u64);
                    if total > max_bytes {
                        return Ok(PartAdded::TooLarge(total));
                    }
                    sqlx::query(
                        "INSERT INTO upload_parts (upload_id, part_num, data) VALUES ($1, $2, $3)",
                    )
                    .bind(id.as_str())
                    .bind(i64::from(part.get()))
                    .bind(data)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(PartAdded::Added(total))
                }

                async fn take_parts(
                    &self,
                    id: &ItemId,
                    now: Millis,
                ) -> StoreResult<Option<Vec<(u32, Vec<u8>)>>> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    let taken = sqlx::query(
                        "UPDATE uploads SET state = 'processing', modified = $2 WHERE id = $1 AND state = 'partial'",
                    )
                    .bind(id.as_str())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                    if taken.rows_affected() == 0 {
                        return Ok(None);
                    }
                    let parts = sqlx::query_as::<_, (i64, Vec<u8>)>(
                        "SELECT part_num, data FROM upload_parts WHERE upload_id = $1 ORDER BY part_num",
                    )
                    .bind(id.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(Some(
                        parts
                            .into_iter()
                            .map(|(n, data)| (u32::try_from(n).unwrap_or(0), data))
                            .collect(),
                    ))
                }

                async fn finish_upload(&self, item: &Item, data: &[u8]) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO items (id, owner, title, tags, created, modified, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(item.id.as_str())
                    .bind(item.owner.as_str())
                    .bind(item.title.as_str())
                    .bind(item.tags.joined())
                    .bind(item.created.0)
                    .bind(item.modified.0)
                    .bind(data)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::conflict_or(e, &format!("item '{}'", item.id)))?;
                    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
                        .bind(item.id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM uploads WHERE id = $1")
                        .bind(item.id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn fail_upload(
                    &self,
                    id: &ItemId,
                    message: &str,
                    now: Millis,
                ) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE uploads SET state = 'failed', message = $2, modified = $3 WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(message)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn sweep_uploads(&self, before: Millis) -> StoreResult<u64> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.begin_write().await?;
                    sqlx::query(SWEEP_PARTS)
                        .bind(before.0)
                        .execute(&mut *tx)
                        .await?;
                    let done = sqlx::query(SWEEP).bind(before.0).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}

pub(crate) use upload_store;
