//! The sign-in the ArcGIS API for Python makes for `GIS(url, username,
//! password)`: `sharing/rest/oauth2/authorize` answers a page carrying the
//! `oauth_state` (the package reads it from the page), and
//! `sharing/oauth2/signin` checks the password and redirects to the
//! client's address with the token in the fragment. The checks are in
//! `service/oauth.rs`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::caller::ClientAddress;
use super::negotiate::Params;
use super::schema::SharingError;
use crate::error::Result;
use crate::service::auth::SignIn;
use crate::service::Settings;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/oauth2/authorize", get(authorize))
        .route("/sharing/oauth2/signin", post(sign_in))
        .route("/sharing/rest/oauth2/signin", post(sign_in_rest))
}

/// The sign-in form's fields, as the description gives them.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that `sign_in` reads field by field.
struct SignInFields {
    oauth_state: String,
    username: String,
    password: String,
    #[serde(default)]
    expiration: String,
}

/// The page of an authorization request: its `oauth_state` in a script
/// object on one line, as ArcGIS's sign-in page carries it.
#[utoipa::path(get, path = "/sharing/rest/oauth2/authorize", tag = "sharing",
    summary = "Start signing in as the ArcGIS API for Python does (OAuth 2 implicit grant)",
    params(("client_id" = String, Query, description = "pythonapi, arcgisonline or arcgisnotebooks"),
        ("response_type" = String, Query, description = "token"),
        ("redirect_uri" = String, Query, description = "This site's own https origin, or urn:ietf:wg:oauth:2.0:oob"),
        ("state" = Option<String>, Query),
        ("expiration" = Option<String>, Query, description = "Minutes"),),
    responses(
        (status = 200, description = "A page carrying the oauth_state", body = String, content_type = "text/html"),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn authorize(
    State(service): State<Arc<SignIn>>,
    State(settings): State<Arc<Settings>>,
    params: Params,
) -> Result<Response> {
    let field = |name: &str| params.get(name).unwrap_or("");
    let oauth_state = service.authorize(
        field("client_id"),
        field("response_type"),
        field("redirect_uri"),
        params.non_empty("state"),
        params.non_empty("expiration"),
    )?;
    let info = json!({
        "oauth_state": oauth_state,
        "client_id": field("client_id"),
        "appTitle": "hookbook",
        "signinUrl": format!("/{}/sharing/oauth2/signin", settings.context),
    });
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in</title></head>\
         <body><p>Sign in by posting username, password and oauth_state to the sign-in URL.</p>\
         <script>var oAuthInfo = {};</script></body></html>",
        // Safe inside a script element: serde_json escapes no `<`, so it is
        // escaped here.
        info.to_string().replace('<', "\\u003c")
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// Checks the password; a redirect to the client's address with the token.
#[utoipa::path(post, path = "/sharing/oauth2/signin", tag = "sharing",
    summary = "Finish signing in: the password checked, a redirect with the token in its fragment",
    request_body(content = inline(SignInFields), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 302, description = "To the client's address, with access_token, expires_in, username and state in the fragment"),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn sign_in(
    State(service): State<Arc<SignIn>>,
    ClientAddress(from): ClientAddress,
    params: Params,
) -> Result<Response> {
    let location = service
        .oauth_sign_in(
            params.get("oauth_state").unwrap_or(""),
            params.get("username").unwrap_or(""),
            params.get("password").unwrap_or(""),
            from,
        )
        .await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// The same sign-in under `sharing/rest`, where some clients post it.
#[utoipa::path(post, path = "/sharing/rest/oauth2/signin", tag = "sharing",
    summary = "Finish signing in: the password checked, a redirect with the token in its fragment",
    request_body(content = inline(SignInFields), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 302, description = "To the client's address, with access_token, expires_in, username and state in the fragment"),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn sign_in_rest(
    service: State<Arc<SignIn>>,
    from: ClientAddress,
    params: Params,
) -> Result<Response> {
    sign_in(service, from, params).await
}
