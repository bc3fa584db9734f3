//! Notebook items, the small part of the portal content API that receivers
//! need: add, describe, data, update, delete, list.

use crate::domain::notebook::Item;

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::caller::Caller;
use super::negotiate::{Params, Reply};
use super::path::Id;
use super::schema::{
    always_true, Binary, FormatQuery, ItemPath, SharingError, TokenQuery, UserPath,
};
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

// The answers and the forms, as the description gives them; the answers
// are built with `json!`, so these types are never made.

#[derive(utoipa::ToSchema)]
#[schema(as = Item)]
#[allow(dead_code)]
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

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
enum NotebookType {
    Notebook,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ItemList {
    username: String,
    items: Vec<ItemOut>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ItemAdded {
    #[schema(schema_with = always_true)]
    success: bool,
    id: String,
    #[serde(default)]
    folder: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ItemChanged {
    #[schema(schema_with = always_true)]
    success: bool,
    id: String,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ItemDeleted {
    #[schema(schema_with = always_true)]
    success: bool,
    item_id: String,
}

/// A notebook item's fields: its title, and the notebook as the file
/// `file` or the field `text`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ItemFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    #[schema(inline)]
    file: Binary,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// The describe shape of the contract.
fn item_out(item: &Item) -> Value {
    json!({
        "id": item.id.as_str(),
        "owner": item.owner.as_str(),
        "title": item.title.as_str(),
        "type": "Notebook",
        "created": item.created.0,
        "modified": item.modified.0,
        "size": item.size,
    })
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
    params(FormatQuery, TokenQuery, UserPath),
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
    let value = json!({"username": username.as_str(), "items": items.iter().map(item_out).collect::<Vec<_>>()});
    Ok(Reply::new(value, async move {
        Ok(items_page(&super::urls(&settings), &username, &items))
    }))
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/addItem", tag = "sharing",
    summary = "Add a notebook item",
    params(FormatQuery, TokenQuery, UserPath),
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
    Ok(Reply::new(
        json!({"success": true, "id": item.id.as_str(), "folder": ""}),
        async move { Ok(item_page(&super::urls(&settings), &item)) },
    ))
}

#[utoipa::path(get, path = "/sharing/rest/content/items/{id}", tag = "sharing",
    summary = "Describe a notebook item",
    params(FormatQuery, TokenQuery, ItemPath),
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
    Ok(Reply::new(item_out(&item), async move {
        Ok(item_page(&super::urls(&settings), &item))
    }))
}

#[utoipa::path(post, path = "/sharing/rest/content/items/{id}", tag = "sharing",
    summary = "Describe a notebook item (POST, as the ArcGIS API for Python asks)",
    params(FormatQuery, TokenQuery, ItemPath),
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
    params(TokenQuery, ItemPath),
    responses(
        (status = 200, description = "The notebook",
            content((inline(super::schema::Notebook) = "application/x-ipynb+json"))),
        (status = "default", response = SharingError),
    ),
)]
async fn data(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    Id(id): Id<ItemId>,
) -> Result<Response> {
    let (item, bytes) = service.item_data(&caller, &id).await?;
    Ok(super::ipynb_download(bytes, item.title.as_str()))
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/update", tag = "sharing",
    summary = "Replace an item's title or file",
    params(FormatQuery, TokenQuery, UserPath, ItemPath),
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
    Ok(Reply::new(
        json!({"success": true, "id": item.id.as_str()}),
        async move { Ok(item_page(&super::urls(&settings), &item)) },
    ))
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/delete", tag = "sharing",
    summary = "Delete a notebook item",
    params(FormatQuery, TokenQuery, UserPath, ItemPath),
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
    Ok(Reply::new(
        json!({"success": true, "itemId": id.as_str()}),
        async move { Ok(folder_page(&super::urls(&settings), &username)) },
    ))
}
