//! Sessions of the pages: sign in with a user name and password for a
//! cookie (`HttpOnly`, `SameSite=Strict`, eight hours), sign out, and a
//! shortcut to the caller's own notebooks.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::caller::{Caller, ClientAddress};
use super::credentials::{session_of, SESSION_COOKIE};
use super::negotiate::{Format, Params, Reply};
use super::schema::{Operation, SharingError};
use crate::error::{Error, Result};
use crate::security::token::Token;
use crate::service::auth::SignIn;
use crate::service::auth::SESSION_MINUTES;
use crate::service::Settings;
use crate::ui::{FieldKind, Form, Page};

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/signin", get(sign_in_page).post(sign_in))
        .route("/signout", post(sign_out))
        .route("/content", get(my_content))
        .route("/", get(home))
}

/// The site's root (`/` and `/<context>`): a person's own notebooks when
/// signed in, else the sign-in page.
#[utoipa::path(get, path = "/", tag = "pages",
    summary = "Where a person starts: the sign-in page, or their notebooks when signed in (a redirect)",
    responses(
        (status = 303, description = "To the sign-in page or to the person's content", headers(("Location" = String))),
    ),
    security(()),
)]
pub(super) async fn home(
    State(settings): State<Arc<Settings>>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = &settings.context;
    match session_of(&headers) {
        Some(_) => see_other(&format!("/{c}/content"), None),
        None => see_other(&format!("/{c}/signin"), None),
    }
}

// The forms, as the description gives them.

/// A user name and password for a session.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that `sign_in` reads field by field.
struct SessionFields {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    f: String,
}

/// The session's CSRF token.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form whose fields `Caller` reads.
struct SignOutFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// Where to go after signing in: a path of this server, never elsewhere.
fn next_page(settings: &Settings, params: &Params) -> String {
    let home = format!("/{}/admin/notebooks/webhookReceivers", settings.context);
    params
        .non_empty("next")
        .filter(|n| {
            n.starts_with(&format!("/{}/", settings.context))
                && !n.starts_with("//")
                && !n.contains(['\\', '\r', '\n'])
        })
        .map_or(home, str::to_string)
}

fn cookie(settings: &Settings, value: &str, max_age: u64) -> Result<HeaderValue> {
    let secure = if settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/{}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        settings.context
    ))
    .map_err(|e| Error::Internal(anyhow::anyhow!("a session cookie is not a header: {e}")))
}

/// A 303 to `location`, setting `cookie` when given.
fn see_other(location: &str, cookie: Option<HeaderValue>) -> Result<Response> {
    let location = HeaderValue::from_str(location)
        .map_err(|e| Error::Internal(anyhow::anyhow!("a redirect is not a header: {e}")))?;
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/signin", tag = "pages",
    summary = "The sign-in page of the HTML interface",
    params(Format,
        ("next" = Option<String>, Query),),
    responses(
        (status = 200, description = "The form",
            content((Operation = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn sign_in_page(State(settings): State<Arc<Settings>>, params: Params) -> Result<Reply> {
    let next = next_page(&settings, &params);
    let answer = Operation {
        operation: "signin",
        methods: &["POST"],
        parameters: &["username", "password", "next"],
    };
    Reply::new(answer, async move {
        Ok(Page::new("Sign in").without_value().form(
            Form::post("Sign in", format!("/{}/signin", settings.context))
                .field(FieldKind::Text, "username", "Username", "")
                .field(FieldKind::Password, "password", "Password", "")
                .field(FieldKind::Hidden, "next", "", next),
        ))
    })
}

/// A browser names the page a form was posted from (`Origin`, else
/// `Referer`): a sign-in is refused unless that is this server (its public
/// URL or the host it was reached at), so another site cannot sign a
/// victim's browser in to the attacker's account. Clients that name no
/// page (curl, scripts) are not browsers and may sign in.
fn check_same_origin(settings: &Settings, headers: &HeaderMap) -> Result<()> {
    let named = headers
        .get(axum::http::header::ORIGIN)
        .or_else(|| headers.get(axum::http::header::REFERER))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(named) = named else {
        return Ok(());
    };
    let authority = |url: &str| -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Some(rest[..end].to_ascii_lowercase())
    };
    let from = authority(&named);
    let ours = [
        authority(&settings.public_url),
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase),
    ];
    if from.is_some() && ours.iter().any(|o| o.is_some() && *o == from) {
        return Ok(());
    }
    Err(Error::CrossSiteSignIn { origin: named })
}

#[utoipa::path(post, path = "/signin", tag = "pages",
    summary = "Sign in for a session cookie",
    request_body(content = inline(Option<SessionFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the next page", headers(("Location" = String))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn sign_in(
    State(service): State<Arc<SignIn>>,
    State(settings): State<Arc<Settings>>,
    ClientAddress(from): ClientAddress,
    headers: HeaderMap,
    params: Params,
) -> Result<Response> {
    check_same_origin(&settings, &headers)?;
    let issued = service
        .generate_token(
            params.get("username").unwrap_or(""),
            params.get("password").unwrap_or(""),
            Some(SESSION_MINUTES),
            from,
        )
        .await?;
    let value = cookie(&settings, issued.token.expose(), SESSION_MINUTES * 60)?;
    see_other(&next_page(&settings, &params), Some(value))
}

#[utoipa::path(post, path = "/signout", tag = "pages",
    summary = "End the session (needs the session's CSRF token)",
    request_body(content = inline(Option<SignOutFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the next page", headers(("Location" = String))),
        (status = "default", response = SharingError),
    ),
)]
async fn sign_out(
    State(service): State<Arc<SignIn>>,
    State(settings): State<Arc<Settings>>,
    Caller(_): Caller,
    headers: HeaderMap,
) -> Result<Response> {
    if let Some(session) = session_of(&headers) {
        service.sign_out(&Token::from_client(session)).await?;
    }
    see_other(
        &format!("/{}/signin", settings.context),
        Some(cookie(&settings, "", 0)?),
    )
}

/// The caller's own notebook items.
#[utoipa::path(get, path = "/content", tag = "pages",
    summary = "The caller's own notebook items (a redirect)",
    params(Caller),
    responses(
        (status = 303, description = "To the next page", headers(("Location" = String))),
        (status = "default", response = SharingError),
    ),
)]
async fn my_content(
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Response> {
    see_other(
        &format!(
            "/{}/sharing/rest/content/users/{}",
            settings.context, caller.username
        ),
        None,
    )
}
