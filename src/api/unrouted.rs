//! Answers for what no route takes (an unknown path, a method a resource
//! does not take): in the shape of the API the path is under, HTTP 200
//! when JSON is asked for (Esri's convention), a page for a browser, and
//! the real status outside the admin and sharing APIs (intake).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;

use super::error::ErrorAnswer;
use super::negotiate::{
    error_page, json_response, json_text, query_format, Format, Surface, SMALL_BODY,
};
use crate::error::Error;
use crate::service::Settings;

/// Paths that name no resource get an error shape rather than an empty
/// body: the sharing API's under its path, the admin API's elsewhere.
pub(super) async fn unknown_resource(
    axum::extract::State(settings): axum::extract::State<Arc<Settings>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let path = request.uri().path().to_string();
    if path == format!("/{}/", settings.context) && request.method() == axum::http::Method::GET {
        // The context with a slash is where a person starts, as without.
        let headers = request.headers().clone();
        return axum::response::IntoResponse::into_response(
            super::session::home(axum::extract::State(settings), headers).await,
        );
    }
    let error =
        crate::error::Error::NotFound(format!("'{path}' is not a resource of this server."));
    unrouted(
        surface_of(&settings, &path),
        &settings.context,
        request,
        error,
    )
    .await
}

/// A resource asked with a method it does not take gets the error shape
/// too, never an empty body.
pub(super) async fn wrong_method(
    axum::extract::State(settings): axum::extract::State<Arc<Settings>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let path = request.uri().path().to_string();
    let error =
        crate::error::Error::WrongMethod(format!("'{path}' does not take {}.", request.method()));
    unrouted(
        surface_of(&settings, &path),
        &settings.context,
        request,
        error,
    )
    .await
}

/// The API a path belongs to, by its prefix: none for intake and the
/// rest, which keep real HTTP statuses.
fn surface_of(settings: &Settings, path: &str) -> Option<Surface> {
    let under = |api: &str| {
        let root = format!("/{}/{api}", settings.context);
        path == root || path.starts_with(&format!("{root}/"))
    };
    if under("sharing") {
        Some(Surface::Sharing)
    } else if under("admin") {
        Some(Surface::Admin)
    } else {
        None
    }
}

/// An error of a path no route matched (an unknown resource, a method it
/// does not take): in the shape of its surface, HTTP 200 when `f` (of the
/// query string, or of a small form body) asks for JSON, as the routes
/// answer; outside the admin and sharing APIs (intake), the admin shape
/// with the real status.
/// A browser that named no JSON format gets an error page.
async fn unrouted(
    surface: Option<Surface>,
    context: &str,
    request: Request,
    error: Error,
) -> Response {
    let failure = ErrorAnswer::from(error);
    let (parts, body) = request.into_parts();
    let format = match surface {
        None => None,
        Some(_) => match query_format(&parts) {
            Some(format) => Some(format),
            None => body_format(&parts, body).await,
        },
    };
    if format.is_none() {
        if let Some(page) = error_page(context, &parts, &failure) {
            return page;
        }
    }
    let pretty = format == Some(Format::Pjson);
    let text = match surface {
        Some(Surface::Sharing) => json_text(&failure.sharing_body(), pretty),
        _ => json_text(&failure.admin_body(), pretty),
    };
    let status = if format.is_some() {
        StatusCode::OK
    } else {
        failure.status
    };
    json_response(status, text)
}

/// `f` of a form body of at most [`SMALL_BODY`] bytes, when it names a
/// JSON format (the ArcGIS API for Python posts `f` in the body).
async fn body_format(parts: &Parts, body: Body) -> Option<Format> {
    let form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    let bytes = axum::body::to_bytes(body, SMALL_BODY).await.ok()?;
    let f = form_urlencoded::parse(&bytes)
        .filter(|(k, _)| k == "f")
        .last()?
        .1;
    Format::parse(Some(&f))
        .ok()
        .filter(|format| *format != Format::Html)
}
