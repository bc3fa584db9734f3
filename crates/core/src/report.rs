//! How an error is reported: with its causes, each once, on one line.

use std::error::Error;

/// An error and its causes on one line, for the log and for a job's
/// message. A cause whose text the line already ends with (an error that
/// repeats its source in its own text, as some libraries' do) is not
/// printed again.
pub fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// The first error in `error`'s chain whose own text already holds its
/// cause's, with that cause: what the tests of every error type ask to be
/// `None`, so that no cause is printed twice.
pub fn repeated_cause(error: &dyn Error) -> Option<(String, String)> {
    let mut level = error;
    while let Some(cause) = level.source() {
        let (said, cause_said) = (level.to_string(), cause.to_string());
        if !cause_said.is_empty() && said.contains(&cause_said) {
            return Some((said, cause_said));
        }
        level = cause;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading the file failed")]
    struct Reading(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("reading the file failed: {0}")]
    struct Repeating(#[source] std::io::Error);

    fn missing() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
    }

    #[test]
    fn a_chain_says_each_cause_once_after_its_error() {
        assert_eq!(
            chain(&Reading(missing())),
            "reading the file failed: no such file"
        );
        assert_eq!(repeated_cause(&Reading(missing())), None);
    }

    #[test]
    fn an_error_that_repeats_its_cause_is_found_and_printed_once() {
        let e = Repeating(missing());
        assert_eq!(chain(&e), "reading the file failed: no such file");
        assert_eq!(
            repeated_cause(&e),
            Some((
                "reading the file failed: no such file".into(),
                "no such file".into()
            ))
        );
    }
}
