//! Notebook items: add, describe, read, update, delete and list.

use crate::domain::notebook::Item;

use super::require_manager;
use crate::domain::ids::ItemId;
use crate::domain::notebook::{ItemTitle, NotebookFile};
use crate::domain::time::Millis;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::store::{ItemStore, Store, UserStore};
use std::sync::Arc;

/// Notebook items: their files and who may see or change them.
pub struct Items {
    items: Arc<dyn ItemStore>,
    users: Arc<dyn UserStore>,
}

impl Items {
    pub fn new(store: &Arc<dyn Store>) -> Self {
        Self {
            items: store.clone(),
            users: store.clone(),
        }
    }
}

impl Items {
    /// The user whose content folder is addressed, if the caller may
    /// manage it.
    async fn content_owner(&self, caller: &User, owner: &Username) -> Result<()> {
        require_manager(caller, owner)?;
        if self.users.user(owner).await?.is_none() {
            return Err(Error::NotFound(format!("User '{owner}' does not exist.")));
        }
        Ok(())
    }

    /// An item the caller may manage.
    async fn managed_item(&self, caller: &User, id: &ItemId) -> Result<Item> {
        let item = self.items.item(id).await?.ok_or_else(|| {
            Error::NotFound(format!("Item '{id}' does not exist or is inaccessible."))
        })?;
        require_manager(caller, &item.owner)?;
        Ok(item)
    }

    pub async fn add_item(
        &self,
        caller: &User,
        owner: &Username,
        title: ItemTitle,
        file: NotebookFile,
    ) -> Result<Item> {
        self.content_owner(caller, owner).await?;
        let now = Millis::now();
        let meta = Item {
            id: ItemId::generate(),
            owner: owner.clone(),
            title,
            created: now,
            modified: now,
            size: file.bytes().len() as i64,
        };
        self.items.add_item(&meta, file.bytes()).await?;
        Ok(meta)
    }

    pub async fn item(&self, caller: &User, id: &ItemId) -> Result<Item> {
        self.managed_item(caller, id).await
    }

    pub async fn item_data(&self, caller: &User, id: &ItemId) -> Result<(Item, Vec<u8>)> {
        let item = self.managed_item(caller, id).await?;
        let data = self.items.item_data(id).await?.ok_or_else(|| {
            Error::NotFound(format!("Item '{id}' does not exist or is inaccessible."))
        })?;
        Ok((item, data))
    }

    /// Updates an item in `owner`'s folder; the item must be there.
    pub async fn update_item(
        &self,
        caller: &User,
        owner: &Username,
        id: &ItemId,
        title: Option<ItemTitle>,
        file: Option<NotebookFile>,
    ) -> Result<Item> {
        self.content_owner(caller, owner).await?;
        let item = self.managed_item(caller, id).await?;
        if &item.owner != owner {
            return Err(Error::NotFound(format!(
                "Item '{id}' does not exist in the content of '{owner}'."
            )));
        }
        let updated = self
            .items
            .update_item(
                id,
                title.as_ref(),
                file.as_ref().map(NotebookFile::bytes),
                Millis::now(),
            )
            .await?;
        if !updated {
            return Err(Error::NotFound(format!(
                "Item '{id}' does not exist or is inaccessible."
            )));
        }
        self.managed_item(caller, id).await
    }

    pub async fn delete_item(&self, caller: &User, owner: &Username, id: &ItemId) -> Result<()> {
        self.content_owner(caller, owner).await?;
        let item = self.managed_item(caller, id).await?;
        if &item.owner != owner || !self.items.delete_item(id).await? {
            return Err(Error::NotFound(format!(
                "Item '{id}' does not exist in the content of '{owner}'."
            )));
        }
        Ok(())
    }

    pub async fn items_of(&self, caller: &User, owner: &Username) -> Result<Vec<Item>> {
        self.content_owner(caller, owner).await?;
        Ok(self.items.items_of(owner).await?)
    }
}
