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
use crate::error::Result;
use crate::service::auth::SignIn;
use crate::service::Settings;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/oauth2/authorize", get(authorize))
        .route("/sharing/oauth2/signin", post(sign_in))
        .route("/sharing/rest/oauth2/signin", post(sign_in))
}

/// The page of an authorization request: its `oauth_state` in a script
/// object on one line, as ArcGIS's sign-in page carries it.
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
