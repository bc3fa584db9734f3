//! Notebook items in SQLite: the description and the file in one row.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row as _;

use super::{conflict_or, SqliteStore};
use crate::domain::ids::ItemId;
use crate::domain::notebook::ItemTitle;
use crate::domain::time::Millis;
use crate::domain::user::Username;
use crate::store::{ItemMeta, ItemStore, StoreError, StoreResult};

const META_COLUMNS: &str = "id, owner, title, created, modified, length(data) AS size";

fn meta(row: &SqliteRow) -> StoreResult<ItemMeta> {
    let corrupt = |_| StoreError::Corrupt("item");
    Ok(ItemMeta {
        id: ItemId::parse(row.get("id")).map_err(corrupt)?,
        owner: Username::parse(row.get("owner")).map_err(corrupt)?,
        title: ItemTitle::parse(row.get("title")).map_err(corrupt)?,
        created: Millis(row.get("created")),
        modified: Millis(row.get("modified")),
        size: row.get("size"),
    })
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn add_item(&self, meta: &ItemMeta, data: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO items (id, owner, title, created, modified, data) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(meta.id.as_str())
        .bind(meta.owner.as_str())
        .bind(meta.title.as_str())
        .bind(meta.created.0)
        .bind(meta.modified.0)
        .bind(data)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_or(e, &format!("item '{}'", meta.id)))?;
        Ok(())
    }

    async fn item(&self, id: &ItemId) -> StoreResult<Option<ItemMeta>> {
        let sql = format!("SELECT {META_COLUMNS} FROM items WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(meta).transpose()
    }

    async fn item_data(&self, id: &ItemId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT data FROM items WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("data")))
    }

    async fn update_item(
        &self,
        id: &ItemId,
        title: Option<&ItemTitle>,
        data: Option<&[u8]>,
        modified: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE items SET title = coalesce(?, title), data = coalesce(?, data), modified = ? WHERE id = ?",
        )
        .bind(title.map(ItemTitle::as_str))
        .bind(data)
        .bind(modified.0)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_item(&self, id: &ItemId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM items WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn items_of(&self, owner: &Username) -> StoreResult<Vec<ItemMeta>> {
        let sql = format!("SELECT {META_COLUMNS} FROM items WHERE owner = ? ORDER BY created, id");
        let rows = sqlx::query(&sql)
            .bind(owner.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(meta).collect()
    }
}
