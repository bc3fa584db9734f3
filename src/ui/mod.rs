//! HTML pages for people: every admin and sharing resource rendered as a
//! page of its fields with a form for each of its operations. Templates are
//! auto-escaping (minijinja); no HTML is built by hand.

mod page;
mod render;

pub use page::{Field, FieldKind, Form, Link, Page};
pub use render::{render_error, render_page};
