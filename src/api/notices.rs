//! Failure notices: `GET /C/admin/notebooks/notices/destination` (where
//! the caller's notices go, or `username`'s for administrators), `POST
//! .../destination/update` (`url`, `email`, `rotateSecret`; an empty
//! field removes it), and `GET /C/admin/notebooks/notices` (what became of
//! them, newest first).

use crate::domain::notice::{self, Notice, NoticeStatus};

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply};
use super::schema::{AdminError, Succeeded};
use crate::domain::notice::{Destination, EmailAddress};
use crate::domain::outbound::NoticeUrl;
use crate::domain::receiver::parse_flag;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::service::notices::DestinationChange;
use crate::service::notices::Notices;
use crate::service::Settings;
use crate::ui::pages::notices::{destination_page, notices_page};
use crate::ui::Page;

/// Notices an answer lists unless `num` says otherwise.
const DEFAULT_NOTICES: u32 = 100;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/notebooks/notices", get(list))
        .route("/admin/notebooks/notices/destination", get(destination))
        .route("/admin/notebooks/notices/destination/update", post(update))
}

// The answers and the form, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
struct NoticeDestination {
    username: String,
    #[schema(required)]
    url: Option<String>,
    #[schema(required)]
    email: Option<String>,
    /// The Standard Webhooks signing secret (whsec_...).
    #[schema(required)]
    secret: Option<String>,
    #[schema(required)]
    modified: Option<i64>,
}

impl NoticeDestination {
    /// `username`'s destination; all null when notices go nowhere.
    fn new(username: &Username, d: Option<&Destination>) -> Self {
        Self {
            username: username.as_str().to_string(),
            url: d
                .and_then(|d| d.url.as_ref())
                .map(|u| u.as_str().to_string()),
            email: d
                .and_then(|d| d.email.as_ref())
                .map(|e| e.as_str().to_string()),
            secret: d.map(|d| d.secret.expose().to_string()),
            modified: d.map(|d| d.modified.0),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct NoticeDestinationChanged {
    #[serde(flatten)]
    destination: NoticeDestination,
    #[schema(inline)]
    status: Succeeded,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Notices)]
struct NoticeList {
    #[schema(inline)]
    notices: Vec<NoticeOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct NoticeOut {
    job_id: String,
    #[schema(inline)]
    channel: Channel,
    username: String,
    #[schema(inline)]
    status: NoticeState,
    attempts: i64,
    created: i64,
    #[schema(required)]
    last_time: Option<i64>,
    last_outcome: String,
}

impl From<&Notice> for NoticeOut {
    fn from(n: &Notice) -> Self {
        Self {
            job_id: n.job_id.to_string(),
            channel: n.channel.into(),
            username: n.username.as_str().to_string(),
            status: n.status.into(),
            attempts: n.attempts,
            created: n.created.0,
            last_time: n.last_time.map(|t| t.0),
            last_outcome: n.last_outcome.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Channel {
    Webhook,
    Email,
}

impl From<notice::Channel> for Channel {
    fn from(channel: notice::Channel) -> Self {
        match channel {
            notice::Channel::Webhook => Channel::Webhook,
            notice::Channel::Email => Channel::Email,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum NoticeState {
    Pending,
    Delivered,
    Failed,
}

impl From<NoticeStatus> for NoticeState {
    fn from(status: NoticeStatus) -> Self {
        match status {
            NoticeStatus::Pending => NoticeState::Pending,
            NoticeStatus::Delivered => NoticeState::Delivered,
            NoticeStatus::Failed => NoticeState::Failed,
        }
    }
}

/// Where notices go; an empty field removes it, one left out keeps it.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `update` reads field by field.
struct DestinationFields {
    #[serde(default)]
    username: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    rotate_secret: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// `username` if given, else the caller.
fn whose(params: &Params, caller: &User) -> Result<Username> {
    match params.non_empty("username") {
        Some(name) => Username::parse(name).map_err(Error::invalid("username")),
        None => Ok(caller.username.clone()),
    }
}

async fn page_of(
    service: Arc<Notices>,
    settings: Arc<Settings>,
    caller: User,
    username: Username,
) -> Result<Page> {
    let d = service.notice_destination(&caller, &username).await?;
    Ok(destination_page(
        &super::urls(&settings),
        &username,
        d.as_ref(),
        settings.email_notices,
    ))
}

#[utoipa::path(get, path = "/admin/notebooks/notices/destination", tag = "admin",
    summary = "Where a user's failure notices go",
    description = "The user and administrators. `url` (posted to, signed the Standard Webhooks way with `secret`), `email` (sent through the server's SMTP server); all null when notices go nowhere.",
    params(Format, Caller,
        ("username" = Option<String>, Query, description = "Whose (administrators only, for another user); the caller by default."),),
    responses(
        (status = 200, description = "Done",
            content((NoticeDestination = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn destination(
    State(service): State<Arc<Notices>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let username = whose(&params, &caller)?;
    let d = service.notice_destination(&caller, &username).await?;
    Reply::new(
        NoticeDestination::new(&username, d.as_ref()),
        page_of(service, settings.clone(), caller, username),
    )
}

/// A field given empty removes what it names; a field left out keeps it.
fn change(params: &Params) -> Result<DestinationChange> {
    let url = params
        .get("url")
        .map(|text| match text.trim() {
            "" => Ok(None),
            given => NoticeUrl::parse(given).map(Some),
        })
        .transpose()
        .map_err(Error::invalid("url"))?;
    let email = params
        .get("email")
        .map(|text| match text.trim() {
            "" => Ok(None),
            given => EmailAddress::parse(given).map(Some),
        })
        .transpose()
        .map_err(Error::invalid("email"))?;
    let new_secret = params
        .non_empty("rotateSecret")
        .map(parse_flag)
        .transpose()
        .map_err(Error::invalid("rotateSecret"))?
        .unwrap_or(false);
    Ok(DestinationChange {
        url,
        email,
        new_secret,
    })
}

#[utoipa::path(post, path = "/admin/notebooks/notices/destination/update", tag = "admin",
    summary = "Change where a user's failure notices go",
    description = "The user and administrators. `url`: an http or https URL whose host the operator allows (--notice-allow); `email`: an address, only where an SMTP server is configured; an empty field removes it, a field left out keeps it; `rotateSecret=true` makes a new signing secret. A destination left with neither is removed.",
    params(Format, Caller),
    request_body(content = inline(Option<DestinationFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((NoticeDestinationChanged = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn update(
    State(service): State<Arc<Notices>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let username = whose(&params, &caller)?;
    let d = service
        .set_notice_destination(&caller, &username, change(&params)?)
        .await?;
    let answer = NoticeDestinationChanged {
        destination: NoticeDestination::new(&username, d.as_ref()),
        status: Succeeded::Success,
    };
    Reply::new(answer, page_of(service, settings.clone(), caller, username))
}

#[utoipa::path(get, path = "/admin/notebooks/notices", tag = "admin",
    summary = "Failure notices and what became of them",
    description = "The caller's notices; an administrator's without `username` are everyone's. Each notice is tried up to 8 times (waits of 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h); `lastOutcome` says what the last attempt came to.",
    params(Format, Caller,
        ("username" = Option<String>, Query, description = "Whose (administrators only, for another user); the caller by default."),
        ("num" = Option<String>, Query, description = "How many, newest first (1 to 1000; 100 by default)."),),
    responses(
        (status = 200, description = "Done",
            content((NoticeList = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn list(
    State(service): State<Arc<Notices>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let username = params
        .non_empty("username")
        .map(Username::parse)
        .transpose()
        .map_err(Error::invalid("username"))?;
    let num = match params.non_empty("num") {
        None => DEFAULT_NOTICES,
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=crate::service::notices::MAX_NOTICES).contains(n))
            .ok_or_else(|| Error::Invalid {
                field: "num",
                problem: crate::domain::ParseError::new("must be a whole number from 1 to 1000"),
            })?,
    };
    let notices = service.notices(&caller, username.as_ref(), num).await?;
    let answer = NoticeList {
        notices: notices.iter().map(NoticeOut::from).collect(),
    };
    let page = notices_page(&super::urls(&settings), &notices);
    Reply::new(answer, async move { Ok(page) })
}
