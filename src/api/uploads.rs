//! Notebooks uploaded in parts, as the portal takes them and the ArcGIS
//! API for Python sends them (`Folder.add`): `addItem` with
//! `multipart=true` (in `items.rs`), then `addPart`, `commit` and `status`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::items::{notebook_type, tags_param};
use super::negotiate::{Format, Params, Reply, Upload};
use super::path::Id;
use super::schema::{always_true, SharingError};
use crate::domain::ids::ItemId;
use crate::domain::notebook::ItemTitle;
use crate::domain::upload::PartNumber;
use crate::domain::user::Username;
use crate::error::{Error, Result};
use crate::service::items::Items;
use crate::service::uploads::{Committed, ItemStatus};
use crate::ui::Page;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route(
            "/sharing/rest/content/users/{username}/items/{id}/addPart",
            post(add_part),
        )
        .route(
            "/sharing/rest/content/users/{username}/items/{id}/commit",
            post(commit),
        )
        .route(
            "/sharing/rest/content/users/{username}/items/{id}/status",
            get(status).post(status_posted),
        )
}

#[derive(Serialize, utoipa::ToSchema)]
struct PartStored {
    #[schema(schema_with = always_true)]
    success: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct UploadCommitted {
    #[schema(schema_with = always_true)]
    success: bool,
    id: String,
}

/// Where an item stands.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct StatusOut {
    #[schema(inline)]
    status: StatusName,
    /// Why it failed, or the status again.
    status_message: String,
    item_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum StatusName {
    Partial,
    Processing,
    Failed,
    Completed,
}

/// A part: its number and its bytes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that the handler reads field by field.
#[serde(rename_all = "camelCase")]
struct PartFields {
    /// 1 to 100.
    part_num: String,
    /// The part's bytes, as the file of a multipart body.
    #[schema(value_type = String, format = Binary)]
    file: Upload,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// What a commit may still change, and whether it answers before the
/// notebook is checked (`async=true`: a notebook that is not one shows in
/// `status` as `failed`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that the handler reads field by field.
struct CommitFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    r#async: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/addPart", tag = "sharing",
    summary = "Add a part of a notebook uploaded in parts",
    params(Format, Caller, Id<Username>, Id<ItemId>),
    request_body(content = inline(Option<PartFields>), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The part is stored",
            content((PartStored = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn add_part(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
    Id(id): Id<ItemId>,
    params: Params,
) -> Result<Reply> {
    let part = params
        .non_empty("partNum")
        .ok_or_else(|| Error::missing("partNum"))
        .and_then(|n| PartNumber::parse(n).map_err(Error::invalid("partNum")))?;
    let file = params.file("file").ok_or_else(|| Error::missing("file"))?;
    service
        .add_part(&caller, &username, &id, part, &file.bytes)
        .await?;
    let page = Page::new("Part added");
    Reply::new(PartStored { success: true }, async move { Ok(page) })
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/commit", tag = "sharing",
    summary = "Join an upload's parts into its notebook item",
    params(Format, Caller, Id<Username>, Id<ItemId>),
    request_body(content = inline(Option<CommitFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The item is made (or, with async=true, its status says whether)",
            content((UploadCommitted = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn commit(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
    Id(id): Id<ItemId>,
    params: Params,
) -> Result<Reply> {
    notebook_type(&params)?;
    let title = params
        .non_empty("title")
        .map(ItemTitle::parse)
        .transpose()
        .map_err(Error::invalid("title"))?;
    let tags = tags_param(&params)?;
    let answer_first = params
        .non_empty("async")
        .is_some_and(|a| a.trim().eq_ignore_ascii_case("true"));
    let committed = service
        .commit_upload(&caller, &username, &id, title, tags)
        .await?;
    if let Committed::Failed(problem) = committed {
        if !answer_first {
            return Err(Error::Invalid {
                field: "file",
                problem,
            });
        }
    }
    let answer = UploadCommitted {
        success: true,
        id: id.as_str().to_string(),
    };
    let page = Page::new("Upload committed");
    Reply::new(answer, async move { Ok(page) })
}

#[utoipa::path(get, path = "/sharing/rest/content/users/{username}/items/{id}/status", tag = "sharing",
    summary = "Where an item or an upload in parts stands",
    params(Format, Caller, Id<Username>, Id<ItemId>),
    responses(
        (status = 200, description = "partial, processing, failed or completed",
            content((StatusOut = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn status(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
    Id(id): Id<ItemId>,
) -> Result<Reply> {
    let (status, message) = match service.status(&caller, &username, &id).await? {
        ItemStatus::Partial => (StatusName::Partial, "partial".to_string()),
        ItemStatus::Processing => (StatusName::Processing, "processing".to_string()),
        ItemStatus::Failed(why) => (StatusName::Failed, why),
        ItemStatus::Completed => (StatusName::Completed, "completed".to_string()),
    };
    let answer = StatusOut {
        status,
        status_message: message,
        item_id: id.as_str().to_string(),
    };
    let page = Page::new("Item status");
    Reply::new(answer, async move { Ok(page) })
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/status", tag = "sharing",
    summary = "Where an item or an upload in parts stands (POST, as the ArcGIS API for Python asks)",
    params(Format, Caller, Id<Username>, Id<ItemId>),
    request_body(content = inline(Option<super::schema::CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "partial, processing, failed or completed",
            content((StatusOut = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn status_posted(
    service: State<Arc<Items>>,
    caller: Caller,
    username: Id<Username>,
    id: Id<ItemId>,
) -> Result<Reply> {
    status(service, caller, username, id).await
}
