//! What a page shows besides the resource itself: links and operation forms.

use serde::Serialize;

/// The description of one resource page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub title: String,
    pub links: Vec<Link>,
    pub forms: Vec<Form>,
    /// What the page shows first, above the resource's own fields.
    pub blocks: Vec<Block>,
    /// Whether the resource's fields are shown as tables (lists whose
    /// blocks show everything leave them out).
    pub show_value: bool,
    /// Seconds after which the page reloads itself (a job still running).
    pub refresh: Option<u32>,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            title: String::new(),
            links: Vec::new(),
            forms: Vec::new(),
            blocks: Vec::new(),
            show_value: true,
            refresh: None,
        }
    }
}

/// A part of a page beyond the resource's fields.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Block {
    /// A value to copy: a read-only box with a copy button.
    Copy { label: String, text: String },
    /// A command or other preformatted text.
    Code { label: String, text: String },
    /// A table with column headings; a cell may link somewhere.
    Table {
        heading: String,
        columns: Vec<String>,
        rows: Vec<Vec<Cell>>,
        /// Shown instead of an empty table.
        empty: String,
    },
    /// Messages, as a list.
    Messages { heading: String, lines: Vec<String> },
    /// A notebook, as Jupyter shows it.
    Notebook {
        heading: String,
        cells: Vec<super::notebook::NotebookCell>,
    },
    /// A chart drawn as SVG.
    Chart { chart: super::charts::Chart },
    /// Links to the pages before and after this one.
    Pager {
        summary: String,
        previous: Option<String>,
        next: Option<String>,
    },
}

/// One cell of a [`Block::Table`].
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    /// A CSS class, e.g. the status of a job.
    pub class: Option<String>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: None,
            class: None,
        }
    }

    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            href: Some(href.into()),
            ..Self::text(text)
        }
    }

    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub href: String,
}

/// A form for one operation of the resource.
#[derive(Debug, Clone, Serialize)]
pub struct Form {
    pub title: String,
    pub action: String,
    /// `get` or `post`.
    pub method: &'static str,
    pub multipart: bool,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub value: String,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Password,
    Textarea,
    File,
    Select,
    Hidden,
}

impl Page {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    pub fn link(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        self.links.push(Link {
            label: label.into(),
            href: href.into(),
        });
        self
    }

    pub fn form(mut self, form: Form) -> Self {
        self.forms.push(form);
        self
    }

    pub fn block(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    /// Leaves the resource's fields out: the blocks show them.
    pub fn without_value(mut self) -> Self {
        self.show_value = false;
        self
    }

    pub fn refresh_every(mut self, seconds: u32) -> Self {
        self.refresh = Some(seconds);
        self
    }
}

impl Form {
    pub fn post(title: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            action: action.into(),
            method: "post",
            multipart: false,
            fields: Vec::new(),
        }
    }

    pub fn get(title: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            method: "get",
            ..Self::post(title, action)
        }
    }

    pub fn multipart(mut self) -> Self {
        self.multipart = true;
        self
    }

    pub fn field(
        mut self,
        kind: FieldKind,
        name: &str,
        label: &str,
        value: impl Into<String>,
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            label: label.into(),
            kind,
            value: value.into(),
            options: Vec::new(),
        });
        self
    }

    pub fn select(mut self, name: &str, label: &str, value: &str, options: &[&str]) -> Self {
        self.fields.push(Field {
            name: name.into(),
            label: label.into(),
            kind: FieldKind::Select,
            value: value.into(),
            options: options.iter().map(|o| o.to_string()).collect(),
        });
        self
    }
}
