//! HTML pages for people: every admin and sharing resource rendered as a
//! page of its fields with a form for each of its operations. Templates are
//! auto-escaping (minijinja); no HTML is built by hand.

pub mod charts;
mod notebook;
mod page;
pub mod pages;
mod render;

pub use notebook::{notebook_cells, NotebookCell};
pub use page::{Block, Cell, Field, FieldKind, Form, Link, Live, Page};
pub use pages::Urls;
pub use render::{
    inline_hashes, render_error, render_page, render_refused, with_token, Chrome, PageAuth,
    FORM_FIELD, FROM_FIELD,
};

/// Text quoted for a POSIX shell: single quotes, with `'` written `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_and_shell_quotes() {
        assert_eq!(
            crate::domain::time::Millis(0).utc(),
            "1970-01-01 00:00:00 UTC"
        );
        assert_eq!(super::shell_quote("it's"), r"'it'\''s'");
    }
}
