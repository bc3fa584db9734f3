//! Notebook items: add, describe, read, update, delete and list (search is
//! in `item_search.rs`, uploads in parts in `uploads.rs`).

use crate::domain::notebook::Item;

use super::require_manager;
use crate::domain::ids::ItemId;
use crate::domain::notebook::{ItemTitle, NotebookFile, Tags};
use crate::domain::search::{SortField, SortOrder};
use crate::domain::time::Millis;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::store::{ItemChanges, ItemStore, Store, UploadStore, UserStore};
use std::sync::Arc;

/// How many searches match at once; others wait their turn, so searches
/// never take every core from intake and runs.
const SEARCHES_AT_ONCE: usize = 1;

/// Notebook items: their files and who may see or change them.
pub struct Items {
    pub(super) items: Arc<dyn ItemStore>,
    pub(super) uploads: Arc<dyn UploadStore>,
    users: Arc<dyn UserStore>,
    /// Searches that may match at once (each takes a core while it does).
    pub(super) searching: Arc<tokio::sync::Semaphore>,
}

/// What an update replaces; `None` keeps what is there.
#[derive(Debug, Default)]
pub struct ItemUpdate {
    pub title: Option<ItemTitle>,
    pub tags: Option<Tags>,
    pub file: Option<NotebookFile>,
}

/// One page of a search, and how many items match in all.
#[derive(Debug)]
pub struct Found<T> {
    pub page: Vec<T>,
    pub total: u64,
}

/// The order and page a search asks for; `start` is 0-based here.
#[derive(Debug, Clone)]
pub struct Paging {
    pub sort: Vec<SortField>,
    pub order: SortOrder,
    pub start: u32,
    pub num: u32,
}

impl Items {
    pub fn new(store: &Arc<dyn Store>) -> Self {
        Self {
            items: store.clone(),
            uploads: store.clone(),
            users: store.clone(),
            searching: Arc::new(tokio::sync::Semaphore::new(SEARCHES_AT_ONCE)),
        }
    }
}

impl Items {
    /// The user whose content folder is addressed, if the caller may
    /// manage it.
    pub(super) async fn content_owner(&self, caller: &User, owner: &Username) -> Result<()> {
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
        tags: Tags,
        file: NotebookFile,
    ) -> Result<Item> {
        self.content_owner(caller, owner).await?;
        let now = Millis::now();
        let meta = Item {
            id: ItemId::generate(),
            owner: owner.clone(),
            title,
            tags,
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

    /// The item `id` of `owner`'s content, if the caller may manage it.
    pub(super) async fn owned_item(
        &self,
        caller: &User,
        owner: &Username,
        id: &ItemId,
    ) -> Result<Option<Item>> {
        self.content_owner(caller, owner).await?;
        match self.items.item(id).await? {
            Some(item) if &item.owner == owner => Ok(Some(item)),
            Some(_) => Err(not_in_content(id, owner)),
            None => Ok(None),
        }
    }

    /// Updates an item in `owner`'s folder; the item must be there.
    pub async fn update_item(
        &self,
        caller: &User,
        owner: &Username,
        id: &ItemId,
        update: ItemUpdate,
    ) -> Result<Item> {
        if self.owned_item(caller, owner, id).await?.is_none() {
            return Err(not_in_content(id, owner));
        }
        let changes = ItemChanges {
            title: update.title.as_ref(),
            tags: update.tags.as_ref(),
            data: update.file.as_ref().map(NotebookFile::bytes),
        };
        if !self.items.update_item(id, &changes, Millis::now()).await? {
            return Err(not_in_content(id, owner));
        }
        self.managed_item(caller, id).await
    }

    pub async fn delete_item(&self, caller: &User, owner: &Username, id: &ItemId) -> Result<()> {
        if self.owned_item(caller, owner, id).await?.is_none()
            || !self.items.delete_item(id).await?
        {
            return Err(not_in_content(id, owner));
        }
        Ok(())
    }

    pub async fn items_of(&self, caller: &User, owner: &Username) -> Result<Vec<Item>> {
        self.content_owner(caller, owner).await?;
        Ok(self.items.items_of(owner).await?)
    }
}

/// One page of `all`, and how many there were.
pub(super) fn page_of<T>(all: Vec<T>, paging: &Paging) -> Found<T> {
    let total = all.len() as u64;
    let page = all
        .into_iter()
        .skip(paging.start as usize)
        .take(paging.num as usize)
        .collect();
    Found { page, total }
}

pub(super) fn not_in_content(id: &ItemId, owner: &Username) -> Error {
    Error::NotFound(format!(
        "Item '{id}' does not exist in the content of '{owner}'."
    ))
}
