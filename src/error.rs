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
    /// (The problem is a leaf: its text is all there is, said here once.)
    #[error("Invalid parameter '{field}': {problem}")]
    Invalid {
        field: &'static str,
        problem: ParseError,
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
        move |problem| Error::Invalid { field, problem }
    }

    pub fn missing(field: &'static str) -> Error {
        Error::Invalid {
            field,
            problem: ParseError::new("is required"),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    //! No error of ours prints its cause twice: each level's text leaves
    //! its source to `report::chain`.

    use std::io;

    use super::*;
    use crate::report::{chain, repeated_cause};
    use crate::runner::build::BuildError;
    use crate::runner::kernel::KernelError;
    use crate::store::{Corrupt, StoreError};

    fn io_error() -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, "permission denied")
    }

    fn corrupt() -> StoreError {
        StoreError::Corrupt(Box::new(Corrupt {
            table: "jobs",
            key: "j1".into(),
            column: "status",
            problem: Box::new(ParseError::new("'DONE' is not a job status")),
        }))
    }

    fn every_kind() -> Vec<Box<dyn std::error::Error>> {
        let not_json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        vec![
            Box::new(Error::invalid("name")(ParseError::new("is required"))),
            Box::new(Error::Store(StoreError::Database(Box::new(io_error())))),
            Box::new(Error::Store(corrupt())),
            Box::new(Error::Internal(
                anyhow::Error::new(io_error()).context("reading the key"),
            )),
            Box::new(KernelError::Spawn {
                python: "/bin/python".into(),
                source: io_error(),
            }),
            Box::new(KernelError::Dir(io_error())),
            Box::new(KernelError::Limit(io_error())),
            Box::new(KernelError::Channel {
                channel: "shell",
                source: jupyter_zmq_client::RuntimeError::MissingDelimiter,
            }),
            Box::new(KernelError::ForkServerPipe(io_error())),
            Box::new(KernelError::ForkServerAnswer(not_json)),
            Box::new(BuildError::Run(io_error())),
            Box::new(BuildError::Store(corrupt())),
        ]
    }

    #[test]
    fn no_error_of_ours_says_its_cause_twice() {
        for error in every_kind() {
            assert_eq!(
                repeated_cause(error.as_ref()),
                None,
                "{}",
                chain(error.as_ref())
            );
        }
    }

    #[test]
    fn a_corrupt_row_is_named_by_table_key_and_column_with_the_parse_error() {
        assert_eq!(
            chain(&Error::Store(corrupt())),
            "storage failed: the status of the jobs row 'j1' could not be read back: \
             'DONE' is not a job status"
        );
    }
}
