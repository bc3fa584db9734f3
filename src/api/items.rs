//! Notebook items, the small part of the portal content API that receivers
//! need: add, describe, data, update, delete, list.

use crate::domain::notebook::Item;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply, Upload};
use super::path::Id;
use super::schema::{always_true, SharingError};
use crate::domain::ids::ItemId;
use crate::domain::notebook::{ItemTitle, NotebookFile};
use crate::domain::user::Username;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::service::items::Items;
use crate::service::Settings;
use crate::ui::pages::items::{folder_page, item_page, items_page};

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/content/users/{username}", get(list))
        .route("/sharing/rest/content/users/{username}/addItem", post(add))
        // POST too: the ArcGIS API for Python reads items with POST.
        .route(
            "/sharing/rest/content/items/{id}",
            get(describe).post(describe_posted),
        )
        .route("/sharing/rest/content/items/{id}/data", get(data))
        .route(
            "/sharing/rest/content/users/{username}/items/{id}/update",
            post(update),
        )
        .route(
            "/sharing/rest/content/users/{username}/items/{id}/delete",
            post(delete),
        )
}

// The answers and the form, as the description gives them.

/// A notebook item: the describe shape of the contract.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Item)]
struct ItemOut {
    id: String,
    owner: String,
    title: String,
    #[schema(inline)]
    r#type: NotebookType,
    created: i64,
    modified: i64,
    size: i64,
}

impl From<&Item> for ItemOut {
    fn from(item: &Item) -> Self {
        Self {
            id: item.id.as_str().to_string(),
            owner: item.owner.as_str().to_string(),
            title: item.title.as_str().to_string(),
            r#type: NotebookType::Notebook,
            created: item.created.0,
            modified: item.modified.0,
            size: item.size,
        }
    }
}

/// `"Notebook"`, the only type of item here.
#[derive(Serialize, utoipa::ToSchema)]
enum NotebookType {
    Notebook,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ItemList {
    username: String,
    items: Vec<ItemOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ItemAdded {
    #[schema(schema_with = always_true)]
    success: bool,
    id: String,
    /// Always the user's root folder: empty.
    folder: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ItemChanged {
    #[schema(schema_with = always_true)]
    success: bool,
    id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ItemDeleted {
    #[schema(schema_with = always_true)]
    success: bool,
    item_id: String,
}

/// A notebook item's fields: its title, and the notebook as the file
/// `file` or the field `text`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that the handlers read field by field.
struct ItemFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    text: String,
    /// The notebook, as a file of a multipart body.
    #[serde(default)]
    #[schema(value_type = String, format = Binary)]
    file: Upload,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// An unknown user name in a path is a missing folder, not a bad parameter.
/// The notebook from `file` (multipart) or `text`, if either is given.
fn notebook_param(params: &Params) -> Result<Option<(NotebookFile, Option<String>)>> {
    if let Some(upload) = params.file("file") {
        let file = NotebookFile::parse(upload.bytes.to_vec()).map_err(Error::invalid("file"))?;
        let stem = upload
            .filename
            .as_deref()
            .map(|f| f.trim_end_matches(".ipynb").to_string());
        return Ok(Some((file, stem)));
    }
    if let Some(text) = params.non_empty("text") {
        let file = NotebookFile::parse(text.as_bytes().to_vec()).map_err(Error::invalid("text"))?;
        return Ok(Some((file, None)));
    }
    Ok(None)
}

#[utoipa::path(get, path = "/sharing/rest/content/users/{username}", tag = "sharing",
    summary = "A user's notebook items",
    params(Format, Caller, Id<Username>),
    responses(
        (status = 200, description = "The items",
            content((ItemList = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn list(
    State(service): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
) -> Result<Reply> {
    let items = service.items_of(&caller, &username).await?;
    let answer = ItemList {
        username: username.as_str().to_string(),
        items: items.iter().map(ItemOut::from).collect(),
    };
    Reply::new(answer, async move {
        Ok(items_page(&super::urls(&settings), &username, &items))
    })
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/addItem", tag = "sharing",
    summary = "Add a notebook item",
    params(Format, Caller, Id<Username>),
    request_body(content(
        (inline(Option<ItemFields>) = "application/x-www-form-urlencoded"),
        (inline(Option<ItemFields>) = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The new item",
            content((ItemAdded = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn add(
    State(service): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
    params: Params,
) -> Result<Reply> {
    if let Some(kind) = params.non_empty("type") {
        if !kind.trim().eq_ignore_ascii_case("notebook") {
            return Err(Error::Invalid {
                field: "type",
                problem: ParseError::new("only Notebook items can be added"),
            });
        }
    }
    let (file, stem) = notebook_param(&params)?.ok_or_else(|| Error::Invalid {
        field: "file",
        problem: ParseError::new("a notebook is required, as the file 'file' or the field 'text'"),
    })?;
    let title = params
        .non_empty("title")
        .map(str::to_string)
        .or(stem)
        .unwrap_or_default();
    let title = ItemTitle::parse(&title).map_err(Error::invalid("title"))?;
    let item = service.add_item(&caller, &username, title, file).await?;
    let answer = ItemAdded {
        success: true,
        id: item.id.as_str().to_string(),
        folder: "",
    };
    Reply::new(answer, async move {
        Ok(item_page(&super::urls(&settings), &item))
    })
}

#[utoipa::path(get, path = "/sharing/rest/content/items/{id}", tag = "sharing",
    summary = "Describe a notebook item",
    params(Format, Caller, Id<ItemId>),
    responses(
        (status = 200, description = "The item",
            content((ItemOut = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn describe(
    State(service): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ItemId>,
) -> Result<Reply> {
    let item = service.item(&caller, &id).await?;
    Reply::new(ItemOut::from(&item), async move {
        Ok(item_page(&super::urls(&settings), &item))
    })
}

#[utoipa::path(post, path = "/sharing/rest/content/items/{id}", tag = "sharing",
    summary = "Describe a notebook item (POST, as the ArcGIS API for Python asks)",
    params(Format, Caller, Id<ItemId>),
    request_body(content = inline(Option<super::schema::CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The item",
            content((ItemOut = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn describe_posted(
    service: State<Arc<Items>>,
    settings: State<Arc<Settings>>,
    caller: Caller,
    id: Id<ItemId>,
) -> Result<Reply> {
    describe(service, settings, caller, id).await
}

/// The notebook file itself, whatever `f` says.
#[utoipa::path(get, path = "/sharing/rest/content/items/{id}/data", tag = "sharing",
    summary = "The notebook file",
    params(Caller, Id<ItemId>),
    responses(
        (status = 200, description = "The notebook",
            content((Object = "application/x-ipynb+json"))),
        (status = "default", response = SharingError),
    ),
)]
async fn data(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    Id(id): Id<ItemId>,
) -> Result<super::Ipynb> {
    let (item, bytes) = service.item_data(&caller, &id).await?;
    Ok(super::Ipynb {
        bytes,
        name: item.title.as_str().to_string(),
    })
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/update", tag = "sharing",
    summary = "Replace an item's title or file",
    params(Format, Caller, Id<Username>, Id<ItemId>),
    request_body(content(
        (inline(Option<ItemFields>) = "application/x-www-form-urlencoded"),
        (inline(Option<ItemFields>) = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The item",
            content((ItemChanged = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn update(
    State(service): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
    Id(id): Id<ItemId>,
    params: Params,
) -> Result<Reply> {
    let title = params
        .non_empty("title")
        .map(ItemTitle::parse)
        .transpose()
        .map_err(Error::invalid("title"))?;
    let file = notebook_param(&params)?.map(|(file, _)| file);
    let item = service
        .update_item(&caller, &username, &id, title, file)
        .await?;
    let answer = ItemChanged {
        success: true,
        id: item.id.as_str().to_string(),
    };
    Reply::new(answer, async move {
        Ok(item_page(&super::urls(&settings), &item))
    })
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/delete", tag = "sharing",
    summary = "Delete a notebook item",
    params(Format, Caller, Id<Username>, Id<ItemId>),
    responses(
        (status = 200, description = "Deleted",
            content((ItemDeleted = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn delete(
    State(service): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
    Id(id): Id<ItemId>,
) -> Result<Reply> {
    service.delete_item(&caller, &username, &id).await?;
    let answer = ItemDeleted {
        success: true,
        item_id: id.as_str().to_string(),
    };
    Reply::new(answer, async move {
        Ok(folder_page(&super::urls(&settings), &username))
    })
}
