//! The one mapping of [`Error`] to HTTP status and ArcGIS error codes.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};

use crate::domain::refusal::Refusal;
use axum::response::{IntoResponse, Response};

use super::schema::{AdminError, SharingError};
use crate::error::Error;

/// An error answer before it is given its surface's shape and format by
/// the negotiate layer.
#[derive(Debug, Clone)]
pub struct ErrorAnswer {
    pub status: StatusCode,
    pub code: u16,
    pub message: String,
    pub details: Vec<String>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// The parameter refused and why, for a page to show beside its field.
    pub field: Option<(&'static str, String)>,
}

impl ErrorAnswer {
    /// `{"status": "error", "messages": [...], "code": N}`.
    pub fn admin_body(&self) -> AdminError {
        let messages = std::iter::once(&self.message)
            .chain(&self.details)
            .cloned()
            .collect();
        AdminError::new(messages, self.code)
    }

    /// `{"error": {"code": N, "message": "...", "details": [...]}}`.
    pub fn sharing_body(&self) -> SharingError {
        SharingError::new(self.code, self.message.clone(), self.details.clone())
    }
}

impl IntoResponse for ErrorAnswer {
    fn into_response(self) -> Response {
        // The body is the admin shape; the negotiate layer re-renders it
        // for the sharing surface or as a page.
        let mut response = (self.status, axum::Json(self.admin_body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl From<Error> for ErrorAnswer {
    fn from(error: Error) -> Self {
        let (status, details) = match &error {
            Error::TokenRequired
            | Error::InvalidToken
            | Error::TokenInUrl
            | Error::LargeBodyNeedsCaller { .. } => (StatusCode::UNAUTHORIZED, vec![]),
            Error::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, vec![]),
            Error::Forbidden | Error::BadCsrf | Error::CrossSiteSignIn { .. } => {
                (StatusCode::FORBIDDEN, vec![])
            }
            Error::NotFound(_) => (StatusCode::NOT_FOUND, vec![]),
            Error::WrongMethod(_) => (StatusCode::METHOD_NOT_ALLOWED, vec![]),
            Error::Invalid { .. } => (StatusCode::BAD_REQUEST, vec![]),
            Error::Refused(refusal) => (
                match refusal {
                    Refusal::UnknownReceiver => StatusCode::NOT_FOUND,
                    Refusal::Disabled => StatusCode::FORBIDDEN,
                    Refusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                    Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    Refusal::NoSignature | Refusal::BadSignature | Refusal::StaleTimestamp => {
                        StatusCode::UNAUTHORIZED
                    }
                    Refusal::QueueFull { .. } | Refusal::Unavailable { .. } => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                },
                vec![],
            ),
            Error::BadCredentials => (
                StatusCode::BAD_REQUEST,
                vec!["Invalid username or password.".to_string()],
            ),
            Error::Store(_) | Error::Internal(_) => {
                tracing::error!(error = %crate::report::chain(&error), "request failed");
                return ErrorAnswer {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: 500,
                    message: "An internal error occurred; the server log has the details.".into(),
                    details: vec![],
                    retry_after: None,
                    field: None,
                };
            }
        };
        let code = match &error {
            Error::TokenRequired | Error::TokenInUrl | Error::LargeBodyNeedsCaller { .. } => 499,
            Error::InvalidToken => 498,
            _ => status.as_u16(),
        };
        let retry_after = match &error {
            Error::Refused(refusal) => refusal.retry_after(),
            Error::Throttled { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let field = match &error {
            Error::Invalid { field, problem } => Some((*field, problem.to_string())),
            _ => None,
        };
        ErrorAnswer {
            status,
            code,
            message: error.to_string(),
            details,
            retry_after,
            field,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ErrorAnswer::from(self).into_response()
    }
}
