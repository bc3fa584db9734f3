//! The wire shapes several resources share, as the OpenAPI description
//! (`openapi.rs`) gives them: the parameters every resource reads, the two
//! error shapes, and the small answers. The answers are built with
//! `json!`, so these types describe and are never made (`dead_code`).

use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, ToResponse, ToSchema};

use super::negotiate::Format;

/// `f`, which every resource but the downloads reads.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FormatQuery {
    /// The answer's format; html by default.
    #[param(inline)]
    f: Option<Format>,
}

/// `token`, the way a GET carries a token in its URL.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TokenQuery {
    /// An access token from generateToken.
    token: Option<String>,
}

/// `{id}` of `/admin/notebooks/webhookReceivers/{id}/...`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ReceiverPath {
    /// A webhook receiver id (a UUID).
    id: String,
}

/// `{id}` of `/admin/notebooks/jobs/{id}/...`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct JobPath {
    /// A job id (a UUID).
    id: String,
}

/// `{username}` of the sharing API's content and community paths.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct UserPath {
    /// A user name.
    username: String,
}

/// `{id}` of `/sharing/rest/content/.../items/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ItemPath {
    /// A notebook item id (32 lowercase hex characters).
    id: String,
}

/// An error of the admin API: its messages, and the HTTP status or
/// ArcGIS's code (498: invalid token, 499: token required).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AdminError {
    #[schema(inline)]
    status: Failed,
    messages: Vec<String>,
    code: i64,
}

/// `"error"`, the only status of an admin error.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Failed {
    Error,
}

/// An error of the sharing API, in the portal's shape.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SharingError {
    #[schema(inline)]
    error: SharingProblem,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct SharingProblem {
    code: i64,
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
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Success {
    #[schema(inline)]
    status: Succeeded,
}

/// `"success"`, the status of a change that was made.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Succeeded {
    Success,
}

/// A directory's resources and operations, or the sharing directory's
/// version.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Directory {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    operations: Vec<String>,
    #[serde(default)]
    current_version: String,
    #[serde(default)]
    version: String,
}

/// How to call an operation that a GET only describes.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Operation {
    #[serde(default)]
    operation: String,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    parameters: Vec<String>,
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

/// A file in a multipart body, or any bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Binary(String);

/// An `.ipynb` file: a JSON object.
#[derive(ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)]
pub struct Notebook(serde_json::Value);

/// A job that was queued: by `executeNotebook`, or by a delivery.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Execution {
    #[schema(inline)]
    status: Succeeded,
    job_id: String,
    #[serde(default)]
    job_url: String,
}

/// The fields of a POST that changes nothing: the answer's format and the
/// caller's token.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CallerFields {
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// `true` or `false`, as a string.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Flag {
    True,
    False,
}
