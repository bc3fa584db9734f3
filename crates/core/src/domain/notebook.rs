//! Notebook files: only valid nbformat v4 notebooks are accepted as items.

use super::ids::ItemId;
use super::time::Millis;
use super::user::Username;
use super::ParseError;

/// The largest notebook file hookbook stores.
pub const MAX_NOTEBOOK_BYTES: usize = 16 * 1024 * 1024;

/// The bytes of a notebook file known to parse as nbformat v4.
#[derive(Debug, Clone)]
pub struct NotebookFile(Vec<u8>);

impl NotebookFile {
    pub fn parse(bytes: Vec<u8>) -> Result<Self, ParseError> {
        if bytes.len() > MAX_NOTEBOOK_BYTES {
            return Err(ParseError::new(format!(
                "is larger than {MAX_NOTEBOOK_BYTES} bytes"
            )));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ParseError::new("is not a notebook: it is not UTF-8 text"))?;
        if text.trim().is_empty() {
            return Err(ParseError::new("is empty"));
        }
        match nbformat::parse_notebook(text) {
            Ok(nbformat::Notebook::V4(_))
            | Ok(nbformat::Notebook::V4QuirksMode(_))
            | Ok(nbformat::Notebook::Legacy(_)) => Ok(Self(bytes)),
            Ok(_) => Err(ParseError::new(
                "is an nbformat v3 notebook; only nbformat v4 is accepted",
            )),
            Err(nbformat::NotebookError::UnsupportedVersion(major, minor)) => Err(ParseError::new(
                format!("is not an nbformat v4 notebook (nbformat {major}.{minor})"),
            )),
            Err(nbformat::NotebookError::JsonError(e)) => Err(ParseError::new(format!(
                "is not a valid nbformat v4 notebook: {e}"
            ))),
            Err(e) => Err(ParseError::new(format!(
                "is not a valid nbformat v4 notebook: {e}"
            ))),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// An item title: required, at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTitle(String);

impl ItemTitle {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::new("is required"));
        }
        if s.chars().count() > 256 {
            return Err(ParseError::new("must be at most 256 characters"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"cells": [{"cell_type": "code", "id": "a1", "metadata": {}, "source": "print(1)", "outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;

    #[test]
    fn a_minimal_v4_notebook_is_accepted() {
        assert!(NotebookFile::parse(MINIMAL.as_bytes().to_vec()).is_ok());
    }

    #[test]
    fn an_older_v4_minor_is_accepted() {
        let nb = r#"{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 2}"#;
        assert!(NotebookFile::parse(nb.as_bytes().to_vec()).is_ok());
    }

    #[test]
    fn non_notebooks_are_refused_with_a_reason() {
        let v3 = r#"{"worksheets": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}"#;
        for (bad, want) in [
            ("", "empty"),
            ("{", "not a valid"),
            ("[]", "not an nbformat v4"),
            (r#"{"nbformat": 5, "nbformat_minor": 0}"#, "nbformat 5.0"),
            (v3, "v3"),
            (
                r#"{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
                "not a valid",
            ),
        ] {
            let err = NotebookFile::parse(bad.as_bytes().to_vec()).unwrap_err();
            assert!(err.0.contains(want), "{bad}: {err}");
        }
        assert!(NotebookFile::parse(vec![0xff, 0xfe]).is_err());
    }
}

/// A notebook item's description, without its file.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: ItemId,
    pub owner: Username,
    pub title: ItemTitle,
    pub created: Millis,
    pub modified: Millis,
    pub size: i64,
}
