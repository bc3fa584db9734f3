//! Who is calling: the token from the `token` field, `X-Esri-Authorization`
//! or `Authorization`, or else the session cookie of the pages, resolved to
//! a user. A request that changes something on the strength of the cookie
//! alone must carry the session's CSRF token.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;

use super::credentials::{header_token, session_of};
use super::negotiate::Params;
use crate::domain::user::User;
use crate::error::Error;
use crate::security::token::Token;
use crate::service::auth::SignIn;

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

/// `token`, the way a GET carries a token in its URL, as
/// `#[utoipa::path(params(Caller))]` gives it; the headers and the cookie
/// are the description's security schemes.
impl utoipa::IntoParams for Caller {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name("token")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some("An access token from generateToken."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()]
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Arc<SignIn>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let sign_in = Arc::<SignIn>::from_ref(state);
        let params = parts.extensions.get::<Params>();
        if let Some(token) = token_of(params, &parts.headers, &parts.method) {
            return sign_in.authenticate(Some(token)).await.map(Caller);
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
        sign_in.authenticate(Some(session)).await.map(Caller)
    }
}
