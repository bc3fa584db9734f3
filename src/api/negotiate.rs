//! The format layer of the admin and sharing surfaces: it gathers a
//! request's parameters (query string, form or multipart body) once, and
//! renders each answer as compact JSON, indented JSON or an HTML page
//! according to `f`, in the error shape of the surface.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::Required;

use super::error::ErrorAnswer;
use super::forms::{self, Posted, Then};
use crate::domain::notebook::MAX_NOTEBOOK_BYTES;
use crate::domain::ParseError;
use crate::error::Error;
use crate::security::token::Token;
use crate::ui;

/// The largest admin or sharing request body: a notebook and its fields.
const MAX_FORM_BYTES: usize = MAX_NOTEBOOK_BYTES + 64 * 1024;
/// Bodies up to this size are read before the caller is known; larger
/// ones only from a caller whose token checked out.
pub(super) const SMALL_BODY: usize = 64 * 1024;

/// Which API a route belongs to; each has its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `{"status": "error", "messages": [...], "code": N}`
    Admin,
    /// `{"error": {"code": N, "message": "...", "details": [...]}}`
    Sharing,
}

/// The `f` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Format {
    Json,
    Pjson,
    Html,
}

/// `f`, which every resource but the downloads reads (through [`Params`]),
/// as `#[utoipa::path(params(Format))]` gives it.
impl utoipa::IntoParams for Format {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name("f")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some("The answer's format; html by default."))
            .schema(Some(<Format as utoipa::PartialSchema>::schema()))
            .build()]
    }
}

impl Format {
    pub fn parse(input: Option<&str>) -> Result<Self, ParseError> {
        match input.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("html") => Ok(Format::Html),
            Some("json") => Ok(Format::Json),
            Some("pjson") => Ok(Format::Pjson),
            Some(_) => Err(ParseError::new("must be json, pjson or html")),
        }
    }
}

/// An uploaded file from a multipart body.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: Option<String>,
    pub bytes: Bytes,
}

/// All parameters of a request: query string first, then the body, so a
/// body field wins over a query field of the same name.
#[derive(Debug, Clone)]
pub struct Params {
    fields: Vec<(String, String)>,
    /// How many of `fields` came from the query string (they come first).
    query_fields: usize,
    files: Vec<(String, Upload)>,
    format: Format,
}

impl Params {
    /// The answer's format (`f`).
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field given more than once (a page's boxes), in
    /// order: the body's, or the query string's when the body has none.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let in_body = self.body_field(name).is_some();
        let fields = if in_body {
            &self.fields[self.query_fields..]
        } else {
            &self.fields[..self.query_fields]
        };
        fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field's value, or `None` when absent or empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// A field of the body only, never of the query string.
    pub fn body_field(&self, name: &str) -> Option<&str> {
        self.fields[self.query_fields..]
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field of the query string only.
    pub fn query_field(&self, name: &str) -> Option<&str> {
        self.fields[..self.query_fields]
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body's fields, in order.
    pub fn body_fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields[self.query_fields..]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn file(&self, name: &str) -> Option<&Upload> {
        self.files
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, u)| u)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Params>()
            .cloned()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a route is missing the format layer")))
    }
}

/// How a page is made: run only when a page is asked for (`f=html`), so
/// JSON answers never pay for page-only queries or rendering.
type PageBuild = Pin<Box<dyn Future<Output = Result<ui::Page, Error>> + Send>>;

/// A successful answer: the resource, and how to make its page. Without
/// the format layer it answers its JSON.
#[derive(Clone)]
pub struct Reply {
    value: Value,
    page: Arc<Mutex<Option<PageBuild>>>,
    /// Where a page's form leads once the operation is done.
    then: Option<Then>,
    /// The answer is shown where it was asked (it shows what no other
    /// page can show again, such as a new token).
    in_place: bool,
}

impl Reply {
    /// `answer` is the resource as its wire type, the one the handler's
    /// `#[utoipa::path]` names, so that the description is what is sent.
    /// `page` is awaited only when a page is asked for; it may read what
    /// only the page shows.
    pub fn new(
        answer: impl Serialize,
        page: impl Future<Output = Result<ui::Page, Error>> + Send + 'static,
    ) -> Result<Self, Error> {
        let value = serde_json::to_value(answer)
            .map_err(|e| Error::Internal(anyhow::Error::new(e).context("an answer is not JSON")))?;
        Ok(Self {
            value,
            page: Arc::new(Mutex::new(Some(Box::pin(page)))),
            then: None,
            in_place: false,
        })
    }

    /// A form posted from a page is answered by a redirect to `location`
    /// (the resource made or changed), whose page then says `notice` once.
    /// JSON answers are not changed.
    pub fn then_see(mut self, location: impl Into<String>, notice: impl Into<String>) -> Self {
        self.then = Some(Then {
            location: location.into(),
            notice: notice.into(),
        });
        self
    }

    /// The page is the answer to the form itself, never a redirect: it
    /// shows what cannot be shown again.
    pub fn shown_in_place(mut self) -> Self {
        self.in_place = true;
        self
    }

    async fn page(&self) -> Result<ui::Page, Error> {
        let build = self.page.lock().unwrap_or_else(|p| p.into_inner()).take();
        match build {
            Some(build) => build.await,
            None => Err(Error::Internal(anyhow::anyhow!(
                "a page was asked for twice"
            ))),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = json_response(StatusCode::OK, self.value.to_string());
        response.extensions_mut().insert(self);
        response
    }
}

/// The state of the layer: its surface, where people sign in, and the
/// application (to know the caller of a large body).
#[derive(Clone)]
pub struct Negotiation {
    pub callers: Arc<crate::service::auth::SignIn>,
    pub surface: Surface,
    pub sign_in: Arc<str>,
    pub context: Arc<str>,
    /// Whether cookies are `Secure` (the public URL is https).
    pub secure: bool,
}

/// How an answer is written: JSON, or a page with what only pages need
/// (gathered only when a page is asked for).
enum Answer {
    Json,
    Pjson,
    /// JSON with the error's real HTTP status: the format was not known.
    Raw,
    Page {
        chrome: ui::Chrome,
        /// The form posted from a page, if this is one.
        posted: Option<Box<Posted>>,
    },
}

impl Answer {
    fn new(n: &Negotiation, params: &Params, parts: &Parts) -> Self {
        match params.format {
            Format::Json => Answer::Json,
            Format::Pjson => Answer::Pjson,
            Format::Html => {
                let token = params.get("token").filter(|t| !t.is_empty());
                let auth = match token {
                    Some(token) => ui::PageAuth::Token(token.to_string()),
                    None => match super::credentials::session_of(&parts.headers) {
                        Some(session) => ui::PageAuth::Session {
                            csrf: Token::from_client(session).csrf(),
                        },
                        None => ui::PageAuth::Anonymous,
                    },
                };
                let path = original_path(parts);
                let reads = matches!(parts.method, Method::GET | Method::HEAD);
                let mut chrome =
                    ui::Chrome::new(n.context.to_string(), auth, forms::here(&path, parts));
                if reads {
                    chrome.notice = forms::notice_of(&parts.headers);
                    chrome.confirm = params.query_field("confirm").and_then(|c| c.parse().ok());
                }
                let posted = (parts.method == Method::POST)
                    .then(|| Box::new(Posted::read(params.body_fields(), &n.context, &path)));
                Answer::Page { chrome, posted }
            }
        }
    }

    /// A page for a request whose parameters could not be read: a
    /// browser's (it accepts HTML and named no JSON format) gets one.
    fn unread(context: &str, parts: &Parts) -> Option<Self> {
        if query_format(parts).is_some() || !forms::wants_html(&parts.headers) {
            return None;
        }
        let auth = match super::credentials::session_of(&parts.headers) {
            Some(session) => ui::PageAuth::Session {
                csrf: Token::from_client(session).csrf(),
            },
            None => ui::PageAuth::Anonymous,
        };
        let path = original_path(parts);
        let here = if matches!(parts.method, Method::GET | Method::HEAD) {
            forms::here(&path, parts)
        } else {
            String::new()
        };
        Some(Answer::Page {
            chrome: ui::Chrome::new(context, auth, here),
            posted: None,
        })
    }
}

pub async fn negotiate(State(n): State<Negotiation>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let params = match read_params(&n, &parts, body).await {
        Ok(params) => params,
        // The body was not read to its end, so only a query-string `f`
        // is known: without one the answer keeps its real HTTP status.
        Err(error) => {
            let answer = match query_format(&parts) {
                Some(Format::Pjson) => Answer::Pjson,
                Some(_) => Answer::Json,
                None => Answer::unread(&n.context, &parts).unwrap_or(Answer::Raw),
            };
            return render_failure(&n, &answer, ErrorAnswer::from(error));
        }
    };
    let mut answer = Answer::new(&n, &params, &parts);
    if let Answer::Page { chrome, .. } = &mut answer {
        chrome.admin = reads_as_admin(&n, &params, &parts).await;
    }
    if parts.method == Method::POST {
        if let Err(error) = refuse_secrets_in_url(&params) {
            return render_failure(&n, &answer, ErrorAnswer::from(error));
        }
    }
    parts.extensions.insert(params);
    let mut response = next.run(Request::from_parts(parts, Body::empty())).await;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(reply) = response.extensions_mut().remove::<Reply>() {
        return render_reply(&n, &answer, reply).await;
    }
    if let Some(failure) = response.extensions_mut().remove::<ErrorAnswer>() {
        return render_failure(&n, &answer, failure);
    }
    response
}

/// Whether a page's reader is an administrator (its navigation then leads
/// to the site's dashboard): by the token or session it came with.
async fn reads_as_admin(n: &Negotiation, params: &Params, parts: &Parts) -> bool {
    let token = params
        .get("token")
        .filter(|t| !t.is_empty())
        .or_else(|| super::credentials::header_token(&parts.headers))
        .or_else(|| super::credentials::session_of(&parts.headers));
    match token {
        Some(token) => n
            .callers
            .authenticate(Some(token))
            .await
            .is_ok_and(|user| user.is_admin()),
        None => false,
    }
}

/// The path as the client sent it (nested routers see it without the
/// context path).
fn original_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |u| u.path())
        .to_string()
}

async fn read_params(n: &Negotiation, parts: &Parts, body: Body) -> Result<Params, Error> {
    let mut fields: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut files = Vec::new();
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut gate = SizeGate {
        negotiation: n,
        parts,
        query_fields: fields.len(),
        known: false,
    };
    if essence == "multipart/form-data" {
        read_multipart(&content_type, body, &mut gate, &mut fields, &mut files).await?;
    } else {
        let bytes = read_body(body, &mut gate, &fields).await?;
        if essence == "application/x-www-form-urlencoded" {
            fields.extend(form_urlencoded::parse(&bytes).into_owned());
        }
    }
    let format = Format::parse(
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == "f")
            .map(|(_, v)| v.as_str()),
    )
    .map_err(Error::invalid("f"))?;
    Ok(Params {
        query_fields: gate.query_fields,
        fields,
        files,
        format,
    })
}

/// The fields that carry a credential or a secret: in the URL of a
/// `POST` they would end up in proxies' and servers' access logs and in
/// browser history, so they are refused there (a token has its own
/// answer, [`Error::TokenInUrl`], given where the caller is read).
const SECRET_FIELDS: [&str; 3] = ["password", "secret", "apiToken"];

fn refuse_secrets_in_url(params: &Params) -> Result<(), Error> {
    for (name, _) in &params.fields[..params.query_fields] {
        if let Some(field) = SECRET_FIELDS.iter().find(|f| **f == name.as_str()) {
            return Err(Error::Invalid {
                field,
                problem: ParseError::new(
                    "belongs in the request body of the POST, never in the URL (where proxies, logs and browser history keep it)",
                ),
            });
        }
    }
    Ok(())
}

/// Lets a body grow past [`SMALL_BODY`] only once its caller is known, and
/// never past [`MAX_FORM_BYTES`]: an unknown client can make the server
/// read and parse little.
struct SizeGate<'a> {
    negotiation: &'a Negotiation,
    parts: &'a Parts,
    /// How many of the fields came from the query string.
    query_fields: usize,
    known: bool,
}

impl SizeGate<'_> {
    /// Checks that `total` bytes may be read, given the body fields read so
    /// far (a token field before a file counts).
    async fn allow(&mut self, total: usize, fields: &[(String, String)]) -> Result<(), Error> {
        if total > MAX_FORM_BYTES {
            return Err(Error::Invalid {
                field: "body",
                problem: ParseError::new(format!(
                    "the request is larger than {MAX_FORM_BYTES} bytes"
                )),
            });
        }
        if total <= SMALL_BODY || self.known {
            return Ok(());
        }
        // A token in the body itself (read before this point), else one in
        // a header or a session cookie; a query-string token counts only
        // on the reading methods.
        let body_token = fields[self.query_fields..]
            .iter()
            .rev()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.as_str())
            .filter(|t| !t.is_empty());
        let reads = matches!(self.parts.method, Method::GET | Method::HEAD);
        let query_token = fields[..self.query_fields]
            .iter()
            .rev()
            .find(|(k, _)| k == "token" && reads)
            .map(|(_, v)| v.as_str())
            .filter(|t| !t.is_empty());
        let token = body_token
            .or(query_token)
            .or_else(|| super::credentials::header_token(&self.parts.headers))
            .or_else(|| super::credentials::session_of(&self.parts.headers));
        let Some(token) = token else {
            return Err(Error::LargeBodyNeedsCaller { limit: SMALL_BODY });
        };
        self.negotiation.callers.authenticate(Some(token)).await?;
        self.known = true;
        Ok(())
    }
}

/// The whole body, read chunk by chunk through the gate.
async fn read_body(
    body: Body,
    gate: &mut SizeGate<'_>,
    fields: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Error::Invalid {
            field: "body",
            problem: ParseError::new("the request body could not be read to its end"),
        })?;
        gate.allow(bytes.len() + chunk.len(), fields).await?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

async fn read_multipart(
    content_type: &str,
    body: Body,
    gate: &mut SizeGate<'_>,
    fields: &mut Vec<(String, String)>,
    files: &mut Vec<(String, Upload)>,
) -> Result<(), Error> {
    let malformed = |e: multer::Error| Error::Invalid {
        field: "body",
        problem: ParseError::new(format!("the multipart body is malformed: {e}")),
    };
    let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let mut data = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            total += chunk.len();
            gate.allow(total, fields).await?;
            data.extend_from_slice(&chunk);
        }
        if filename.is_some() || name == "file" {
            files.push((
                name,
                Upload {
                    filename,
                    bytes: Bytes::from(data),
                },
            ));
        } else {
            let text = String::from_utf8(data).map_err(|_| Error::Invalid {
                field: "body",
                problem: ParseError::new(format!(
                    "the field '{}' is not UTF-8 text",
                    name.escape_default()
                )),
            })?;
            fields.push((name, text));
        }
    }
    Ok(())
}

async fn render_reply(n: &Negotiation, answer: &Answer, reply: Reply) -> Response {
    match answer {
        Answer::Json | Answer::Raw => json_response(StatusCode::OK, reply.value.to_string()),
        Answer::Pjson => json_response(
            StatusCode::OK,
            serde_json::to_string_pretty(&reply.value).unwrap_or_default(),
        ),
        Answer::Page { chrome, posted } => {
            let then = match posted {
                Some(_) if reply.in_place => None,
                Some(posted) => reply.then.clone().or_else(|| posted.back()),
                None => None,
            };
            if let Some(mut then) = then {
                // A reader signed in by a token in the URL (ArcGIS style)
                // keeps it, as the page's links do.
                then.location = ui::with_token(&then.location, chrome.token());
                return forms::see_other(&then, &n.context, n.secure);
            }
            match reply.page().await {
                Ok(page) => {
                    let html = ui::render_page(&page, &reply.value, chrome);
                    let mut response = html_response(StatusCode::OK, html);
                    if chrome.notice.is_some() {
                        forms::clear_notice(&mut response, &n.context, n.secure);
                    }
                    response
                }
                Err(error) => render_failure(n, answer, ErrorAnswer::from(error)),
            }
        }
    }
}

fn render_failure(n: &Negotiation, answer: &Answer, failure: ErrorAnswer) -> Response {
    let retry_after = failure.retry_after;
    let mut response = render_failure_body(n, answer, failure);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn render_failure_body(n: &Negotiation, answer: &Answer, failure: ErrorAnswer) -> Response {
    if let Answer::Page { chrome, posted } = answer {
        return render_failure_page(n, chrome, posted.as_deref(), &failure);
    }
    let pretty = matches!(answer, Answer::Pjson);
    let text = match n.surface {
        Surface::Admin => json_text(&failure.admin_body(), pretty),
        Surface::Sharing => json_text(&failure.sharing_body(), pretty),
    };
    // Esri's convention: an error asked for as JSON is HTTP 200 with the
    // code in the body (the ArcGIS API for Python takes any HTTP 4xx for
    // a token problem and repeats the request without its token).
    let status = match answer {
        Answer::Raw => failure.status,
        _ => StatusCode::OK,
    };
    json_response(status, text)
}

/// A failure as a page: a refused form comes back as the form; else an
/// error page, whose sign-in link (when signed out) returns to the page
/// the person was on.
fn render_failure_page(
    n: &Negotiation,
    chrome: &ui::Chrome,
    posted: Option<&Posted>,
    failure: &ErrorAnswer,
) -> Response {
    let status = failure.status;
    let gives_form_back = status.is_client_error()
        && !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND);
    if let Some(posted) = posted.filter(|_| gives_form_back) {
        if let Some((form, problems)) = posted.refused(failure) {
            let mut chrome = chrome.clone();
            chrome.here = posted.from.clone().unwrap_or_default();
            return html_response(status, ui::render_refused(form, &problems, &chrome));
        }
    }
    let mut messages = vec![failure.message.clone()];
    messages.extend(failure.details.iter().cloned());
    let back = match posted {
        Some(posted) => posted.from.clone(),
        None => Some(chrome.here.clone()).filter(|h| !h.is_empty()),
    };
    let sign_in = (status == StatusCode::UNAUTHORIZED).then(|| match back {
        Some(back) => {
            let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
            format!("{}?next={next}", n.sign_in)
        }
        None => n.sign_in.to_string(),
    });
    html_response(
        status,
        ui::render_error(
            status.as_u16(),
            failure.code,
            &messages,
            sign_in.as_deref(),
            chrome,
        ),
    )
}

/// `f` of the query string, when it names a JSON format.
pub(super) fn query_format(parts: &Parts) -> Option<Format> {
    let query = parts.uri.query()?;
    let f = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "f")
        .last()?
        .1;
    Format::parse(Some(&f))
        .ok()
        .filter(|format| *format != Format::Html)
}

/// An error page for a request asked with no JSON format by a browser
/// (`Accept: text/html`), before any route read it.
pub(super) fn error_page(context: &str, parts: &Parts, failure: &ErrorAnswer) -> Option<Response> {
    let Some(Answer::Page { chrome, .. }) = Answer::unread(context, parts) else {
        return None;
    };
    let mut messages = vec![failure.message.clone()];
    messages.extend(failure.details.iter().cloned());
    Some(html_response(
        failure.status,
        ui::render_error(
            failure.status.as_u16(),
            failure.code,
            &messages,
            None,
            &chrome,
        ),
    ))
}

/// An error's body as JSON text, indented for `pjson`.
pub(super) fn json_text(body: &impl Serialize, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(body)
    } else {
        serde_json::to_string(body)
    };
    text.unwrap_or_default()
}

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn an_answer_is_its_json_and_its_page_is_made_only_when_asked() {
        let built = Arc::new(AtomicBool::new(false));
        let flag = built.clone();
        let reply = Reply::new(serde_json::json!({"id": 1}), async move {
            flag.store(true, Ordering::SeqCst);
            Ok(ui::Page::new("a page"))
        })
        .unwrap();
        let response = reply.clone().into_response();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 10)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"id":1}"#, "without the format layer: JSON");
        assert!(!built.load(Ordering::SeqCst), "no page was asked for");
        let page = reply.page().await.unwrap();
        assert!(built.load(Ordering::SeqCst));
        assert!(reply.page().await.is_err(), "a page is made once");
        drop(page);
    }
}
