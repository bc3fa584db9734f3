//! Notebook items, the small part of the portal content API that receivers
//! and the ArcGIS API for Python need: add, describe, data, update, delete,
//! list (uploads in parts are in `uploads.rs`, search in `search.rs`).

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
use crate::domain::notebook::{ItemTitle, NotebookFile, Tags, TYPE_KEYWORDS};
use crate::domain::search::PORTAL_ID;
use crate::domain::user::Username;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::service::items::ItemUpdate;
use crate::service::items::Items;
use crate::service::Settings;
use crate::ui::pages::items::{folder_page, item_page, items_page};
use crate::ui::Block;

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

/// A notebook item: the describe shape of the contract, with the fields
/// of a portal item that the ArcGIS API for Python reads.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Item)]
#[serde(rename_all = "camelCase")]
pub(super) struct ItemOut {
    id: String,
    owner: String,
    org_id: &'static str,
    title: String,
    /// The file name `download` saves to: the title and `.ipynb`.
    name: String,
    #[schema(inline)]
    r#type: NotebookType,
    type_keywords: Vec<&'static str>,
    tags: Vec<String>,
    /// Always empty: not stored.
    snippet: &'static str,
    /// Always empty: not stored.
    description: &'static str,
    /// Always `private`: an item is seen by its owner and administrators.
    access: &'static str,
    /// Always null: a notebook is a file, not a service.
    #[schema(value_type = Option<String>)]
    url: Option<String>,
    /// Always null: no thumbnails.
    #[schema(value_type = Option<String>)]
    thumbnail: Option<String>,
    /// Always null: every item is in its owner's root folder.
    #[schema(value_type = Option<String>)]
    owner_folder: Option<String>,
    created: i64,
    modified: i64,
    size: i64,
}

impl From<&Item> for ItemOut {
    fn from(item: &Item) -> Self {
        Self {
            id: item.id.as_str().to_string(),
            owner: item.owner.as_str().to_string(),
            org_id: PORTAL_ID,
            title: item.title.as_str().to_string(),
            name: item.file_name(),
            r#type: NotebookType::Notebook,
            type_keywords: TYPE_KEYWORDS.to_vec(),
            tags: item.tags.as_slice().to_vec(),
            snippet: "",
            description: "",
            access: "private",
            url: None,
            thumbnail: None,
            owner_folder: None,
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

/// A user's content: the root folder's items, and no other folders.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ItemList {
    username: String,
    total: usize,
    start: u32,
    num: usize,
    next_start: i64,
    /// Always null: the root folder.
    #[schema(value_type = Option<String>)]
    current_folder: Option<String>,
    items: Vec<ItemOut>,
    /// Always empty: there are no folders but the root.
    folders: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ItemAdded {
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

/// A notebook item's fields: its title and tags, and the notebook as the
/// file `file` or the field `text`; with `multipart=true` (on `addItem`),
/// no notebook: its parts follow (`addPart`, then `commit`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that the handlers read field by field.
#[serde(rename_all = "camelCase")]
struct ItemFields {
    #[serde(default)]
    title: String,
    /// Comma-separated.
    #[serde(default)]
    tags: String,
    #[serde(default)]
    r#type: String,
    /// `true`: the notebook comes in parts.
    #[serde(default)]
    multipart: String,
    /// The notebook's file name (its stem is the default title).
    #[serde(default)]
    file_name: String,
    /// `true`: an empty `tags` clears them (else an empty field changes nothing).
    #[serde(default)]
    clear_empty_fields: String,
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
        total: items.len(),
        start: 1,
        num: items.len(),
        next_start: -1,
        current_folder: None,
        items: items.iter().map(ItemOut::from).collect(),
        folders: Vec::new(),
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
    notebook_type(&params)?;
    let tags = tags_param(&params)?.unwrap_or_default();
    if flag(&params, "multipart")? {
        let stem = params.non_empty("fileName").map(file_stem);
        let title = title_param(&params, stem)?;
        let upload = service
            .start_upload(&caller, &username, title, tags)
            .await?;
        let answer = ItemAdded {
            success: true,
            id: upload.id.as_str().to_string(),
            folder: "",
        };
        return Reply::new(answer, async move {
            Ok(folder_page(&super::urls(&settings), &username))
        });
    }
    let (file, stem) = notebook_param(&params)?.ok_or_else(|| Error::Invalid {
        field: "file",
        problem: ParseError::new("a notebook is required, as the file 'file' or the field 'text'"),
    })?;
    let stem = stem.or_else(|| params.non_empty("fileName").map(file_stem));
    let title = title_param(&params, stem)?;
    let item = service
        .add_item(&caller, &username, title, tags, file)
        .await?;
    let answer = ItemAdded {
        success: true,
        id: item.id.as_str().to_string(),
        folder: "",
    };
    let (location, notice) = item_place(&settings, &item, "Added");
    Ok(Reply::new(answer, async move {
        Ok(item_page(&super::urls(&settings), &item))
    })?
    .then_see(location, notice))
}

/// Where an item's page is, and what a page says once it was `done`.
fn item_place(
    settings: &Settings,
    item: &crate::domain::notebook::Item,
    done: &str,
) -> (String, String) {
    (
        format!(
            "/{}/sharing/rest/content/items/{}",
            settings.context, item.id
        ),
        format!("{done} the notebook {}.", item.title.as_str()),
    )
}

/// Refuses a `type` other than Notebook, naming it.
pub(super) fn notebook_type(params: &Params) -> Result<()> {
    if let Some(kind) = params.non_empty("type") {
        if !kind.trim().eq_ignore_ascii_case("notebook") {
            return Err(Error::Invalid {
                field: "type",
                problem: ParseError::new(format!(
                    "is '{}': only Notebook items can be added",
                    kind.trim().escape_default()
                )),
            });
        }
    }
    Ok(())
}

/// `title`, else the file's name without `.ipynb`.
fn title_param(params: &Params, stem: Option<String>) -> Result<ItemTitle> {
    let title = params
        .non_empty("title")
        .map(str::to_string)
        .or(stem)
        .unwrap_or_default();
    ItemTitle::parse(&title).map_err(Error::invalid("title"))
}

fn file_stem(name: &str) -> String {
    name.trim_end_matches(".ipynb").to_string()
}

/// `tags`, comma-separated, when given (empty clears them).
pub(super) fn tags_param(params: &Params) -> Result<Option<Tags>> {
    params
        .get("tags")
        .map(Tags::parse)
        .transpose()
        .map_err(Error::invalid("tags"))
}

/// A true/false field (`true`, `false`, or absent: false).
fn flag(params: &Params, field: &'static str) -> Result<bool> {
    match params
        .non_empty(field)
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(_) => Err(Error::Invalid {
            field,
            problem: ParseError::new("must be true or false"),
        }),
    }
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
        let (item, bytes) = service.item_data(&caller, &item.id).await?;
        let notebook = super::notebook_cells(bytes).await?;
        Ok(
            item_page(&super::urls(&settings), &item).block(Block::Notebook {
                heading: "Notebook".into(),
                cells: notebook.unwrap_or_default(),
            }),
        )
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

/// The notebook file itself: with `f=json` (or `pjson`) as the JSON
/// answer it is (what the ArcGIS API for Python's `get_data` reads as a
/// dict), else as a file to save.
#[utoipa::path(get, path = "/sharing/rest/content/items/{id}/data", tag = "sharing",
    summary = "The notebook file",
    params(Format, Caller, Id<ItemId>),
    responses(
        (status = 200, description = "The notebook",
            content((Object = "application/json"), (Object = "application/x-ipynb+json"))),
        (status = "default", response = SharingError),
    ),
)]
async fn data(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    Id(id): Id<ItemId>,
    params: Params,
) -> Result<axum::response::Response> {
    use axum::http::header::CONTENT_TYPE;
    use axum::http::HeaderValue;
    use axum::response::IntoResponse as _;
    let (item, bytes) = service.item_data(&caller, &id).await?;
    if params.format() == Format::Html {
        let name = item.title.as_str().to_string();
        return Ok(super::Ipynb { bytes, name }.into_response());
    }
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(response)
}

#[utoipa::path(post, path = "/sharing/rest/content/users/{username}/items/{id}/update", tag = "sharing",
    summary = "Replace an item's title, tags or file",
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
    // An empty field changes nothing unless `clearEmptyFields` says so
    // (the portal's rule, which the ArcGIS API for Python follows).
    let clear = flag(&params, "clearEmptyFields")?;
    let tags = tags_param(&params)?.filter(|t| clear || !t.as_slice().is_empty());
    let update = ItemUpdate {
        title,
        tags,
        file: notebook_param(&params)?.map(|(file, _)| file),
    };
    let item = service.update_item(&caller, &username, &id, update).await?;
    let answer = ItemChanged {
        success: true,
        id: item.id.as_str().to_string(),
    };
    let (location, notice) = item_place(&settings, &item, "Saved");
    Ok(Reply::new(answer, async move {
        Ok(item_page(&super::urls(&settings), &item))
    })?
    .then_see(location, notice))
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
    let location = format!(
        "/{}/sharing/rest/content/users/{username}",
        settings.context
    );
    Ok(Reply::new(answer, async move {
        Ok(folder_page(&super::urls(&settings), &username))
    })?
    .then_see(location, format!("Deleted the notebook {id}.")))
}
