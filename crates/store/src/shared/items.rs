//! Notebook items: the description and the file in one row.

/// Implements [`ItemStore`](crate::ItemStore) for a store with a
/// `pool` field and `begin_write` and `write_turn` methods.
macro_rules! item_store {
    ($store:ty) => {
        const _: () = {
            use hookbook_core::domain::notebook::Item;
            use async_trait::async_trait;
            use hookbook_core::domain::ids::ItemId;
            use hookbook_core::domain::time::Millis;
            use hookbook_core::domain::user::Username;
            use $crate::rows::ItemRow;
            use $crate::{ItemChanges, ItemStore, StoreResult};

            const META_COLUMNS: &str =
                "id, owner, title, tags, created, modified, CAST(octet_length(data) AS BIGINT) AS size";

            #[async_trait]
            impl ItemStore for $store {
                async fn add_item(&self, meta: &Item, data: &[u8]) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query(
                        "INSERT INTO items (id, owner, title, tags, created, modified, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(meta.id.as_str())
                    .bind(meta.owner.as_str())
                    .bind(meta.title.as_str())
                    .bind(meta.tags.joined())
                    .bind(meta.created.0)
                    .bind(meta.modified.0)
                    .bind(data)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::conflict_or(e, &format!("item '{}'", meta.id)))?;
                    Ok(())
                }

                async fn item(&self, id: &ItemId) -> StoreResult<Option<Item>> {
                    let sql = format!("SELECT {META_COLUMNS} FROM items WHERE id = $1");
                    sqlx::query_as::<_, ItemRow>(&sql)
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?
                        .map(ItemRow::parse)
                        .transpose()
                }

                async fn item_data(&self, id: &ItemId) -> StoreResult<Option<Vec<u8>>> {
                    Ok(sqlx::query_scalar("SELECT data FROM items WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn update_item(
                    &self,
                    id: &ItemId,
                    changes: &ItemChanges<'_>,
                    modified: Millis,
                ) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query(
                        "UPDATE items SET title = coalesce($1, title), data = coalesce($2, data), modified = $3, tags = coalesce($5, tags) WHERE id = $4",
                    )
                    .bind(changes.title.map(|t| t.as_str()))
                    .bind(changes.data)
                    .bind(modified.0)
                    .bind(id.as_str())
                    .bind(changes.tags.map(|t| t.joined()))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_item(&self, id: &ItemId) -> StoreResult<bool> {
                    let _turn = self.write_turn().await;
                    let done = sqlx::query("DELETE FROM items WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn items_of(&self, owner: &Username) -> StoreResult<Vec<Item>> {
                    let sql = format!("SELECT {META_COLUMNS} FROM items WHERE owner = $1 ORDER BY created, id");
                    sqlx::query_as::<_, ItemRow>(&sql)
                        .bind(owner.as_str())
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(ItemRow::parse)
                        .collect()
                }

                async fn all_items(&self) -> StoreResult<Vec<Item>> {
                    let sql = format!("SELECT {META_COLUMNS} FROM items ORDER BY created, id");
                    sqlx::query_as::<_, ItemRow>(&sql)
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(ItemRow::parse)
                        .collect()
                }
            }
        };
    };
}

pub(crate) use item_store;
