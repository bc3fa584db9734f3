//! The one error type of every operation. `api` maps it to HTTP in one
//! `match`; nothing here knows about HTTP.

use crate::domain::refusal::Refusal;
use crate::domain::ParseError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token came with a request that needs one.
    #[error("Token Required.")]
    TokenRequired,
    /// A change was asked for with its token only in the URL.
    #[error("Token Required: on a POST the token belongs in the request body or in an Authorization header, never in the URL (where proxies, logs and browser history keep it).")]
    TokenInUrl,
    /// A token came but is unknown, expired or belongs to no user.
    #[error("The token is not valid: it expired, was revoked, or was not issued by this site. Sign in again for a new one.")]
    InvalidToken,
    /// The caller is known but may not do this.
    #[error("You do not have permissions to access this resource or perform this operation.")]
    Forbidden,
    /// A form posted with a session cookie lacks the session's CSRF token.
    #[error("The form's CSRF token is missing or does not match your session; reload the page and try again.")]
    BadCsrf,
    /// A sign-in posted from another site's page (login CSRF).
    #[error("A sign-in must come from this server's own pages; this one came from another site ({origin}).")]
    CrossSiteSignIn { origin: String },
    /// The named resource does not exist; the text says which.
    #[error("{0}")]
    NotFound(String),
    /// The resource exists, but not with this method.
    #[error("{0}")]
    WrongMethod(String),
    /// A parameter was missing or wrong.
    #[error("Invalid parameter '{field}': {source}")]
    Invalid {
        field: &'static str,
        #[source]
        source: ParseError,
    },
    /// A request body past the size read from anyone came before its
    /// caller was known.
    #[error("Token Required: a request body over {limit} bytes is read only from a known caller; send the token in the Authorization header (or, in a multipart body, in a field before the file).")]
    LargeBodyNeedsCaller { limit: usize },
    /// Too many password checks for one user or from one address, or too
    /// many at once.
    #[error("Too many sign-in attempts; retry in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    /// `generateToken` with a wrong user name or password.
    #[error("Unable to generate token.")]
    BadCredentials,
    /// Event intake refused a delivery.
    #[error("{}", .0.message())]
    Refused(Refusal),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("internal failure")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// Builds the `map_err` for a parser reading `field`.
    pub fn invalid(field: &'static str) -> impl FnOnce(ParseError) -> Error {
        move |source| Error::Invalid { field, source }
    }

    pub fn missing(field: &'static str) -> Error {
        Error::Invalid {
            field,
            source: ParseError::new("is required"),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
