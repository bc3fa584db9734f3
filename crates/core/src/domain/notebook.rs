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

    #[test]
    fn tags_are_split_trimmed_and_kept_once() {
        let tags = Tags::parse(" ops, nightly,,OPS , x ").unwrap();
        assert_eq!(tags.as_slice(), ["ops", "nightly", "x"]);
        assert_eq!(Tags::parse(&tags.joined()).unwrap(), tags);
        assert!(Tags::parse("").unwrap().as_slice().is_empty());
    }

    #[test]
    fn the_tag_bounds_hold_at_the_bound() {
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(
            Tags::parse(&many(MAX_TAGS)).unwrap().as_slice().len(),
            MAX_TAGS
        );
        assert!(Tags::parse(&many(MAX_TAGS + 1))
            .unwrap_err()
            .0
            .contains("more than"));
        assert!(Tags::parse(&"a".repeat(MAX_TAG_CHARS)).is_ok());
        assert!(Tags::parse(&"a".repeat(MAX_TAG_CHARS + 1))
            .unwrap_err()
            .0
            .contains("longer"));
        // A field of repeats is read once, and refused past the room every
        // tag at its longest takes, before it is split.
        let most = MAX_TAGS * (MAX_TAG_CHARS + 2) * 4;
        let repeats = "t,".repeat(most / 2);
        assert_eq!(Tags::parse(&repeats).unwrap().as_slice(), ["t"]);
        assert!(Tags::parse(&format!("{repeats}t"))
            .unwrap_err()
            .0
            .contains(&format!("longer than {most} bytes")));
    }

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
    pub tags: Tags,
    pub created: Millis,
    pub modified: Millis,
    pub size: i64,
}

impl Item {
    /// The item's file name, as the portal's `name` gives it: its title
    /// with the characters a file name cannot hold replaced, and `.ipynb`.
    pub fn file_name(&self) -> String {
        let stem: String = self
            .title
            .as_str()
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        format!("{stem}.ipynb")
    }
}

/// The type keywords of every notebook item.
pub const TYPE_KEYWORDS: [&str; 3] = ["Notebook", "Jupyter Notebook", "Python 3"];

/// The most tags an item may have.
pub const MAX_TAGS: usize = 128;
/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 256;

/// An item's tags: each trimmed, not empty, without commas, at most
/// [`MAX_TAG_CHARS`] characters; at most [`MAX_TAGS`] of them; repeats
/// (in any case) kept once, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    /// Tags as the portal takes them: comma-separated (also how they are
    /// stored).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // Room for every tag at its longest, in four-byte characters, with
        // its comma and a space: anything longer has too many or too long.
        let most = MAX_TAGS * (MAX_TAG_CHARS + 2) * 4;
        if input.len() > most {
            return Err(ParseError::new(format!("is longer than {most} bytes")));
        }
        let mut tags: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for tag in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag.chars().count() > MAX_TAG_CHARS {
                return Err(ParseError::new(format!(
                    "has a tag longer than {MAX_TAG_CHARS} characters"
                )));
            }
            if seen.insert(tag.to_lowercase()) {
                tags.push(tag.to_string());
            }
            if tags.len() > MAX_TAGS {
                return Err(ParseError::new(format!("has more than {MAX_TAGS} tags")));
            }
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The tags comma-joined, as they are stored.
    pub fn joined(&self) -> String {
        self.0.join(",")
    }
}
