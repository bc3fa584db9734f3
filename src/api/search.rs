//! The portal's searches, as the ArcGIS API for Python calls them:
//! `search` (items: `gis.content.search`), `community/users` (users:
//! `gis.users.search` with a query) and `portals/self/users` (the
//! organization's users: `gis.users.search()` without one). Each answers
//! one page (`start`, 1-based; `num`, 1 to 100, 10 by default) of what the
//! caller may see.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::items::ItemOut;
use super::jobs::number;
use super::negotiate::{Format, Params, Reply};
use super::portal::PortalUser;
use super::schema::SharingError;
use crate::domain::search::{ItemQuery, SortField, SortOrder, UserQuery};
use crate::error::{Error, Result};
use crate::service::auth::SignIn;
use crate::service::items::{Found, Items, Paging};
use crate::store::UserRecord;
use crate::ui::Page;

/// The most results one page may hold.
const MAX_NUM: u32 = 100;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/search", get(search).post(search_posted))
        .route(
            "/sharing/rest/community/users",
            get(users).post(users_posted),
        )
        .route(
            "/sharing/rest/portals/self/users",
            get(org_users).post(org_users_posted),
        )
}

/// One page of items.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ItemResults {
    query: String,
    total: u64,
    start: u32,
    /// The page size asked for (ArcGIS's meaning), not how many came.
    num: u32,
    /// Where the next page starts; -1 on the last.
    next_start: i64,
    results: Vec<ItemOut>,
}

/// A user as a search finds one.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserHit {
    #[serde(flatten)]
    user: PortalUser,
    created: i64,
}

impl From<&UserRecord> for UserHit {
    fn from(record: &UserRecord) -> Self {
        Self {
            user: PortalUser::from(&record.user),
            created: record.created.0,
        }
    }
}

/// One page of users.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserResults {
    query: String,
    total: u64,
    start: u32,
    num: u32,
    next_start: i64,
    results: Vec<UserHit>,
}

/// One page of the organization's users.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct OrgUsers {
    total: u64,
    start: u32,
    num: u32,
    next_start: i64,
    users: Vec<UserHit>,
}

/// The order and page asked for, and the 1-based `start`.
fn paging(params: &Params) -> Result<(Paging, u32)> {
    let start = number(params, "start", 1, u32::MAX)?;
    let num = number(params, "num", 10, MAX_NUM)?;
    let sort = params
        .non_empty("sortField")
        .map(SortField::parse_list)
        .transpose()
        .map_err(Error::invalid("sortField"))?
        .unwrap_or_default();
    let order = SortOrder::parse(params.get("sortOrder").unwrap_or(""))
        .map_err(Error::invalid("sortOrder"))?;
    let paging = Paging {
        sort,
        order,
        start: start - 1,
        num,
    };
    Ok((paging, start))
}

/// Where the page after `start` begins, or -1 when this is the last.
fn next_start<T>(found: &Found<T>, start: u32, num: u32) -> i64 {
    let next = u64::from(start) + u64::from(num);
    if next <= found.total {
        next as i64
    } else {
        -1
    }
}

#[utoipa::path(get, path = "/sharing/rest/search", tag = "sharing",
    summary = "Search the items the caller may see",
    description = "q: free text, *, title:, type:, owner:, id:, tags:, typekeywords:, accountid:, with AND, OR, NOT, -, parentheses and quoted values; terms with no operator between them are joined by AND. sortField: title, created, modified, owner, type (avgrating, numviews, numratings, numcomments keep the default order, oldest first); sortOrder: asc or desc.",
    params(Format, Caller,
        ("q" = Option<String>, Query),
        ("start" = Option<String>, Query),
        ("num" = Option<String>, Query),
        ("sortField" = Option<String>, Query),
        ("sortOrder" = Option<String>, Query),),
    responses(
        (status = 200, description = "One page of items",
            content((ItemResults = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn search(
    State(service): State<Arc<Items>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let query = ItemQuery::parse(params.get("q").unwrap_or("")).map_err(Error::invalid("q"))?;
    let (paging, start) = paging(&params)?;
    let found = service.search(&caller, &query, &paging).await?;
    let answer = ItemResults {
        query: query.as_str().to_string(),
        total: found.total,
        start,
        num: paging.num,
        next_start: next_start(&found, start, paging.num),
        results: found.page.iter().map(ItemOut::from).collect(),
    };
    let page = Page::new("Search");
    Reply::new(answer, async move { Ok(page) })
}

#[utoipa::path(post, path = "/sharing/rest/search", tag = "sharing",
    summary = "Search the items the caller may see (POST, as the ArcGIS API for Python asks)",
    params(Format, Caller),
    request_body(content = inline(Option<SearchFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "One page of items",
            content((ItemResults = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn search_posted(
    service: State<Arc<Items>>,
    caller: Caller,
    params: Params,
) -> Result<Reply> {
    search(service, caller, params).await
}

/// A search's fields.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that the handlers read field by field.
#[serde(rename_all = "camelCase")]
struct SearchFields {
    #[serde(default)]
    q: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    num: String,
    #[serde(default)]
    sort_field: String,
    #[serde(default)]
    sort_order: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

#[utoipa::path(get, path = "/sharing/rest/community/users", tag = "sharing",
    summary = "Search users: all of them for an administrator, oneself for anyone else",
    description = "q: free text, *, username:, fullname:, role:, accountid:, with AND, OR, NOT and parentheses. sortField: username, fullname, created.",
    params(Format, Caller,
        ("q" = Option<String>, Query),
        ("start" = Option<String>, Query),
        ("num" = Option<String>, Query),
        ("sortField" = Option<String>, Query),
        ("sortOrder" = Option<String>, Query),),
    responses(
        (status = 200, description = "One page of users",
            content((UserResults = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn users(
    State(service): State<Arc<SignIn>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let query = UserQuery::parse(params.get("q").unwrap_or("")).map_err(Error::invalid("q"))?;
    let (paging, start) = paging(&params)?;
    let found = service.search_users(&caller, &query, &paging).await?;
    let answer = UserResults {
        query: query.as_str().to_string(),
        total: found.total,
        start,
        num: paging.num,
        next_start: next_start(&found, start, paging.num),
        results: found.page.iter().map(UserHit::from).collect(),
    };
    let page = Page::new("Users");
    Reply::new(answer, async move { Ok(page) })
}

#[utoipa::path(post, path = "/sharing/rest/community/users", tag = "sharing",
    summary = "Search users (POST, as the ArcGIS API for Python asks)",
    params(Format, Caller),
    request_body(content = inline(Option<SearchFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "One page of users",
            content((UserResults = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn users_posted(
    service: State<Arc<SignIn>>,
    caller: Caller,
    params: Params,
) -> Result<Reply> {
    users(service, caller, params).await
}

#[utoipa::path(get, path = "/sharing/rest/portals/self/users", tag = "sharing",
    summary = "The organization's users: all of them for an administrator, oneself for anyone else",
    params(Format, Caller,
        ("start" = Option<String>, Query),
        ("num" = Option<String>, Query),),
    responses(
        (status = 200, description = "One page of users",
            content((OrgUsers = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn org_users(
    State(service): State<Arc<SignIn>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let everyone = UserQuery::parse("").map_err(Error::invalid("q"))?;
    let (paging, start) = paging(&params)?;
    let found = service.search_users(&caller, &everyone, &paging).await?;
    let answer = OrgUsers {
        total: found.total,
        start,
        num: paging.num,
        next_start: next_start(&found, start, paging.num),
        users: found.page.iter().map(UserHit::from).collect(),
    };
    let page = Page::new("Users");
    Reply::new(answer, async move { Ok(page) })
}

#[utoipa::path(post, path = "/sharing/rest/portals/self/users", tag = "sharing",
    summary = "The organization's users (POST, as the ArcGIS API for Python asks)",
    params(Format, Caller),
    request_body(content = inline(Option<SearchFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "One page of users",
            content((OrgUsers = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn org_users_posted(
    service: State<Arc<SignIn>>,
    caller: Caller,
    params: Params,
) -> Result<Reply> {
    org_users(service, caller, params).await
}
