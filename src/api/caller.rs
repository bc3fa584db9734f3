//! Who is calling: the token from the `token` field, `X-Esri-Authorization`
//! or `Authorization`, or else the session cookie of the pages, resolved to
//! a user. A request that changes something on the strength of the cookie
//! alone must carry the session's CSRF token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::negotiate::Params;
use crate::domain::user::User;
use crate::error::Error;
use crate::security::token::Token;
use crate::service::App;

/// The cookie that holds a session of the pages.
pub const SESSION_COOKIE: &str = "hookbook_session";

/// The authenticated user of a request.
pub struct Caller(pub User);

/// The client's address: the TCP peer (behind a proxy, the proxy's; a
/// forwarded-for header is not trusted).
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The token a request carries, in the order ArcGIS looks for it: a
/// `token` field, then the headers. On a request that may change something
/// (anything but GET and HEAD) only a body field counts: a token in a URL
/// ends up in proxy logs, browser history and `Referer` headers.
pub fn token_of<'a>(
    params: Option<&'a Params>,
    headers: &'a HeaderMap,
    method: &Method,
) -> Option<&'a str> {
    let reads = *method == Method::GET || *method == Method::HEAD;
    let field = params
        .and_then(|p| {
            if reads {
                p.get("token")
            } else {
                p.body_field("token")
            }
        })
        .filter(|t| !t.is_empty());
    field.or_else(|| header_token(headers))
}

/// A bearer token in `X-Esri-Authorization` or `Authorization`.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    ["x-esri-authorization", "authorization"]
        .iter()
        .find_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?.trim();
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
}

/// The session token in the request's cookies, if any.
pub fn session_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
        })
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let params = parts.extensions.get::<Params>();
        if let Some(token) = token_of(params, &parts.headers, &parts.method) {
            return app.authenticate(Some(token)).await.map(Caller);
        }
        let in_url = params
            .and_then(|p| p.query_field("token"))
            .is_some_and(|t| !t.is_empty());
        let Some(session) = session_of(&parts.headers) else {
            return Err(if in_url {
                Error::TokenInUrl
            } else {
                Error::TokenRequired
            });
        };
        let reads_only = parts.method == Method::GET || parts.method == Method::HEAD;
        let given = params.and_then(|p| p.get("csrf")).unwrap_or("");
        if !reads_only && !Token::from_client(session).csrf_matches(given) {
            return Err(Error::BadCsrf);
        }
        app.authenticate(Some(session)).await.map(Caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; hookbook_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_of(&headers), Some("abc"));
        headers.insert(
            axum::http::header::COOKIE,
            "hookbook_session=".parse().unwrap(),
        );
        assert_eq!(session_of(&headers), None);
        assert_eq!(session_of(&HeaderMap::new()), None);
    }
}
