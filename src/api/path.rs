//! Ids in paths, parsed once by the extractor [`Id`]: a malformed id names
//! no resource, so it gets the same not-found answer as an unknown one,
//! on every route. `Id<T>` also describes its parameter to the OpenAPI
//! description (`params(Id<ReceiverId>)`), so the two cannot drift apart.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use crate::domain::ids::{ItemId, JobId, ReceiverId};
use crate::domain::user::Username;
use crate::error::Error;

/// A path parameter parsed into `T`.
pub struct Id<T>(pub T);

/// What a path parameter can name.
pub trait PathId: Sized {
    /// The parameter's name in the route (`{id}`, `{username}`).
    const PARAM: &'static str;
    /// What is said of an id that names nothing.
    const WHAT: &'static str;
    /// What the parameter is, as the description says.
    const DESCRIPTION: &'static str;
    fn parse_path(text: &str) -> Option<Self>;
}

impl PathId for ReceiverId {
    const PARAM: &'static str = "id";
    const WHAT: &'static str = "Webhook receiver '{}' does not exist.";
    const DESCRIPTION: &'static str = "A webhook receiver id (a UUID).";
    fn parse_path(text: &str) -> Option<Self> {
        ReceiverId::parse(text).ok()
    }
}

impl PathId for JobId {
    const PARAM: &'static str = "id";
    const WHAT: &'static str = "Job '{}' does not exist.";
    const DESCRIPTION: &'static str = "A job id (a UUID).";
    fn parse_path(text: &str) -> Option<Self> {
        JobId::parse(text).ok()
    }
}

impl PathId for ItemId {
    const PARAM: &'static str = "id";
    const WHAT: &'static str = "Item '{}' does not exist or is inaccessible.";
    const DESCRIPTION: &'static str = "A notebook item id (32 lowercase hex characters).";
    fn parse_path(text: &str) -> Option<Self> {
        ItemId::parse(text).ok()
    }
}

impl PathId for Username {
    const PARAM: &'static str = "username";
    const WHAT: &'static str = "User '{}' does not exist.";
    const DESCRIPTION: &'static str = "A user name.";
    fn parse_path(text: &str) -> Option<Self> {
        Username::parse(text).ok()
    }
}

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for Id<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(params)| params)
            .unwrap_or_default();
        let text = params.get(T::PARAM).map_or("", String::as_str);
        T::parse_path(text).map(Id).ok_or_else(|| {
            Error::NotFound(T::WHAT.replace("{}", &text.escape_default().to_string()))
        })
    }
}

impl PathId for crate::domain::runtime::RuntimeId {
    const PARAM: &'static str = "id";
    const WHAT: &'static str = "Runtime '{}' does not exist.";
    const DESCRIPTION: &'static str = "A runtime id (32 hexadecimal characters).";
    fn parse_path(text: &str) -> Option<Self> {
        Self::parse(text).ok()
    }
}

/// The path parameter, as `#[utoipa::path(params(Id<T>))]` gives it.
impl<T: PathId> IntoParams for Id<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name(T::PARAM)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(T::DESCRIPTION))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()]
    }
}
