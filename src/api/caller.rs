//! Who is calling: the token from the `token` field, `X-Esri-Authorization`
//! or `Authorization`, resolved to a user.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::negotiate::Params;
use crate::domain::user::User;
use crate::error::Error;
use crate::service::App;

/// The authenticated user of a request.
pub struct Caller(pub User);

/// The token a request carries, in the order ArcGIS looks for it.
pub fn token_of<'a>(params: Option<&'a Params>, headers: &'a HeaderMap) -> Option<&'a str> {
    let field = params
        .and_then(|p| p.get("token"))
        .filter(|t| !t.is_empty());
    field.or_else(|| {
        ["x-esri-authorization", "authorization"]
            .iter()
            .find_map(|name| {
                let value = headers.get(*name)?.to_str().ok()?.trim();
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
    })
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let token = token_of(parts.extensions.get::<Params>(), &parts.headers);
        app.authenticate(token).await.map(Caller)
    }
}
