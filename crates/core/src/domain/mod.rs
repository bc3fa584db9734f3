//! Domain types and rules: parsed, validated values with no I/O.
//!
//! Every value that enters from outside (a form field, a stored row) becomes
//! one of these types through its `parse` function, so code further in never
//! checks it again.

pub mod access;
pub mod dashboard;
pub mod delivery;
pub mod event;
pub mod ids;
pub mod job;
pub mod notebook;
pub mod notice;
pub mod outbound;
pub mod properties;
pub mod receiver;
pub mod refusal;
pub mod retry;
pub mod runtime;
pub mod search;
pub mod sensitive;
pub mod time;
pub mod upload;
pub mod user;

/// Why a piece of input was refused; `api` names the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
