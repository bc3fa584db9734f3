//! Notebooks uploaded in parts, as the ArcGIS API for Python sends them:
//! an upload is started (`addItem` with `multipart=true`), takes parts
//! (`addPart`, in any order, several at once), and is committed: its parts
//! joined in order must make a notebook, which becomes the item. Pending
//! uploads live in the store, so that parts may reach any node; one that
//! receives nothing for [`ABANDONED_AFTER`] is removed when an upload is
//! next started, and by the hourly upkeep.

use super::items::{not_in_content, Items};
use crate::domain::ids::ItemId;
use crate::domain::notebook::{Item, ItemTitle, NotebookFile, Tags};
use crate::domain::time::Millis;
use crate::domain::upload::{
    join_parts, PartNumber, Upload, UploadState, ABANDONED_AFTER, MAX_PENDING_UPLOADS,
    MAX_UPLOAD_BYTES,
};
use crate::domain::user::{User, Username};
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::store::{PartAdded, UploadStarted};

/// Where an item stands, as the portal's `status` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemStatus {
    /// Taking parts.
    Partial,
    /// Being committed.
    Processing,
    /// The commit failed, for this reason.
    Failed(String),
    /// An item.
    Completed,
}

/// What a commit made.
#[derive(Debug)]
pub enum Committed {
    Item(Item),
    /// The parts do not make a notebook; the upload is marked failed.
    Failed(ParseError),
}

impl Items {
    /// Starts an upload in `owner`'s content: the item it will become.
    pub async fn start_upload(
        &self,
        caller: &User,
        owner: &Username,
        title: ItemTitle,
        tags: Tags,
    ) -> Result<Upload> {
        self.content_owner(caller, owner).await?;
        let now = Millis::now();
        let upload = Upload {
            id: ItemId::generate(),
            owner: owner.clone(),
            title,
            tags,
            state: UploadState::Partial,
            message: String::new(),
            created: now,
            modified: now,
        };
        let stale_before = Millis(now.0.saturating_sub(ABANDONED_AFTER.as_millis() as i64));
        match self
            .uploads
            .start_upload(&upload, MAX_PENDING_UPLOADS, stale_before)
            .await?
        {
            UploadStarted::Started => Ok(upload),
            UploadStarted::TooMany(n) => Err(Error::Invalid {
                field: "multipart",
                problem: ParseError::new(format!(
                    "'{owner}' has {n} uploads in parts pending, the most there may be ({MAX_PENDING_UPLOADS}); commit them, or wait a day for abandoned ones to be removed"
                )),
            }),
        }
    }

    /// A pending upload in `owner`'s content, if the caller may manage it.
    async fn pending(&self, caller: &User, owner: &Username, id: &ItemId) -> Result<Upload> {
        self.content_owner(caller, owner).await?;
        match self.uploads.upload(id).await? {
            Some(upload) if &upload.owner == owner => Ok(upload),
            _ => Err(not_in_content(id, owner)),
        }
    }

    /// Stores part `part` of an upload.
    pub async fn add_part(
        &self,
        caller: &User,
        owner: &Username,
        id: &ItemId,
        part: PartNumber,
        bytes: &[u8],
    ) -> Result<()> {
        let upload = self.pending(caller, owner, id).await?;
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(Error::Invalid {
                field: "file",
                problem: ParseError::new(format!(
                    "is a part of {} bytes; a part may hold at most {MAX_UPLOAD_BYTES}",
                    bytes.len()
                )),
            });
        }
        let added = self
            .uploads
            .add_part(id, part, bytes, MAX_UPLOAD_BYTES as u64, Millis::now())
            .await?;
        match added {
            PartAdded::Added(_) => Ok(()),
            PartAdded::NoUpload => Err(not_taking_parts(&upload)),
            PartAdded::TooLarge(total) => Err(Error::Invalid {
                field: "file",
                problem: ParseError::new(format!(
                    "would make the upload {total} bytes; a notebook may have at most {MAX_UPLOAD_BYTES}"
                )),
            }),
        }
    }

    /// Joins an upload's parts and makes them the item, taking `title`
    /// and `tags` when given (the portal's commit may change them). A
    /// commit repeated once the item is made answers the item again.
    pub async fn commit_upload(
        &self,
        caller: &User,
        owner: &Username,
        id: &ItemId,
        title: Option<ItemTitle>,
        tags: Option<Tags>,
    ) -> Result<Committed> {
        if let Some(item) = self.owned_item(caller, owner, id).await? {
            return Ok(Committed::Item(item));
        }
        let upload = self.pending(caller, owner, id).await?;
        let now = Millis::now();
        let Some(parts) = self.uploads.take_parts(id, now).await? else {
            return Err(not_taking_parts(&upload));
        };
        let file = join_parts(parts).and_then(NotebookFile::parse);
        let file = match file {
            Ok(file) => file,
            Err(problem) => {
                self.uploads.fail_upload(id, &problem.0, now).await?;
                return Ok(Committed::Failed(problem));
            }
        };
        let item = Item {
            id: upload.id,
            owner: upload.owner,
            title: title.unwrap_or(upload.title),
            tags: tags.unwrap_or(upload.tags),
            created: upload.created,
            modified: now,
            size: file.bytes().len() as i64,
        };
        self.uploads.finish_upload(&item, file.bytes()).await?;
        Ok(Committed::Item(item))
    }

    /// Where an item or upload of `owner`'s content stands.
    pub async fn status(&self, caller: &User, owner: &Username, id: &ItemId) -> Result<ItemStatus> {
        if self.owned_item(caller, owner, id).await?.is_some() {
            return Ok(ItemStatus::Completed);
        }
        let upload = self.pending(caller, owner, id).await?;
        Ok(match upload.state {
            UploadState::Partial => ItemStatus::Partial,
            UploadState::Processing => ItemStatus::Processing,
            UploadState::Failed => ItemStatus::Failed(upload.message),
        })
    }
}

/// An upload that takes no more parts and no second commit.
fn not_taking_parts(upload: &Upload) -> Error {
    let why = match upload.state {
        UploadState::Partial | UploadState::Processing => "it is being committed".to_string(),
        UploadState::Failed => format!("its commit failed: {}", upload.message),
    };
    Error::Invalid {
        field: "id",
        problem: ParseError::new(format!(
            "the upload '{}' takes no more parts or commits: {why}",
            upload.id
        )),
    }
}
