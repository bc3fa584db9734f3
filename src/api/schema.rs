//! The wire shapes several resources share, as the OpenAPI description
//! (`openapi.rs`) gives them and as the answers are written: the two error
//! shapes and the small answers. Each derives both `Serialize` and
//! `ToSchema`, which read the same `serde` attributes.

use serde::Serialize;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{ToResponse, ToSchema};

/// An error of the admin API: its messages, and the HTTP status or
/// ArcGIS's code (498: invalid token, 499: token required).
#[derive(Serialize, ToSchema)]
pub struct AdminError {
    #[schema(inline)]
    status: Failed,
    messages: Vec<String>,
    code: u16,
}

impl AdminError {
    pub fn new(messages: Vec<String>, code: u16) -> Self {
        Self {
            status: Failed::Error,
            messages,
            code,
        }
    }
}

/// `"error"`, the only status of an admin error.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Failed {
    Error,
}

/// An error of the sharing API, in the portal's shape.
#[derive(Serialize, ToSchema)]
pub struct SharingError {
    #[schema(inline)]
    error: SharingProblem,
}

impl SharingError {
    pub fn new(code: u16, message: String, details: Vec<String>) -> Self {
        Self {
            error: SharingProblem {
                code,
                message,
                details,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
struct SharingProblem {
    code: u16,
    message: String,
    details: Vec<String>,
}

/// Every admin error, as JSON in the admin shape or as a page.
impl<'s> ToResponse<'s> for AdminError {
    fn response() -> (&'s str, RefOr<Response>) {
        let answer = ResponseBuilder::new()
            .description("An error in the admin shape (400, 401, 403, 404, 413, 429, 500, 503)")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("AdminError")))
                    .build(),
            )
            .content("text/html", page());
        ("AdminError", answer.build().into())
    }
}

/// Every sharing error: the sharing shape, or the admin shape for the
/// refusals the format layer answers before a route is reached.
impl<'s> ToResponse<'s> for SharingError {
    fn response() -> (&'s str, RefOr<Response>) {
        let either = AnyOfBuilder::new()
            .item(Ref::from_schema_name("SharingError"))
            .item(Ref::from_schema_name("AdminError"));
        let answer = ResponseBuilder::new()
            .description("An error in the sharing shape")
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(either)).build(),
            )
            .content("text/html", page());
        ("SharingError", answer.build().into())
    }
}

/// A page: HTML text.
fn page() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// `{"status": "success"}`, the answer of a change that says nothing more.
#[derive(Serialize, ToSchema)]
pub struct Success {
    #[schema(inline)]
    status: Succeeded,
}

impl Success {
    pub const DONE: Success = Success {
        status: Succeeded::Success,
    };
}

/// `"success"`, the status of a change that was made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Succeeded {
    Success,
}

/// A directory's resources and operations, or the sharing directory's
/// version; what a directory does not have is left out.
#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub resources: &'static [&'static str],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub operations: &'static [&'static str],
    #[serde(skip_serializing_if = "str::is_empty")]
    pub current_version: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub version: &'static str,
}

/// How to call an operation that a GET only describes.
#[derive(Serialize, ToSchema)]
pub struct Operation {
    pub operation: &'static str,
    pub methods: &'static [&'static str],
    pub parameters: &'static [&'static str],
}

/// `true`, the only `success` of the sharing API's changes.
pub fn always_true() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
}

/// `null`, for Esri's fields that have no meaning here.
pub fn always_null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// A job that was queued: by `executeNotebook`, or by a delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    #[schema(inline)]
    status: Succeeded,
    job_id: String,
    job_url: String,
}

impl Execution {
    pub fn new(job_id: String, job_url: String) -> Self {
        Self {
            status: Succeeded::Success,
            job_id,
            job_url,
        }
    }
}

/// The fields of a POST that changes nothing: the answer's format and the
/// caller's token.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form whose fields the format layer and `Caller` read.
pub struct CallerFields {
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// `true` or `false`, as a string.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Flag {
    True,
    False,
}

impl From<bool> for Flag {
    fn from(value: bool) -> Self {
        if value {
            Flag::True
        } else {
            Flag::False
        }
    }
}
