//! What a page shows besides the resource itself: links and operation forms.

use serde::{Deserialize, Serialize};

use crate::domain::time::Millis;

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
    /// Work still under way that the page shows: no page reloads itself,
    /// it says so and offers a *Refresh* link.
    pub live: Option<Live>,
    /// A form that narrows what the page shows (a `GET`), shown first.
    pub filter: Option<Form>,
    /// Whether a browser keeps the page up to date in place, from the
    /// page's event stream (`Accept: text/event-stream`).
    pub updates: bool,
}

/// What is still under way on a page. `job` is the hook for live updates:
/// the page carries it as `data-live-job`, so that a script subscribing to
/// the job's events can find it.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    pub text: String,
    pub job: Option<String>,
    /// Since when the work runs (epoch milliseconds): the page shows the
    /// time it has taken, ticking.
    pub since: Option<i64>,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            title: String::new(),
            links: Vec::new(),
            forms: Vec::new(),
            blocks: Vec::new(),
            show_value: true,
            filter: None,
            live: None,
            updates: false,
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

/// A moment as pages show it: a `<time>` element whose text is UTC (the
/// page's script rewrites it in the reader's time zone) and whose title
/// keeps the UTC.
#[derive(Debug, Clone, Serialize)]
pub struct Time {
    /// `2026-12-07T15:04:05Z`.
    pub iso: String,
    /// `2026-12-07 15:04:05 UTC`.
    pub utc: String,
}

impl From<Millis> for Time {
    fn from(at: Millis) -> Self {
        Self {
            iso: at.iso(),
            utc: at.utc(),
        }
    }
}

/// One cell of a [`Block::Table`].
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    /// A CSS class, e.g. the status of a job (shown as a badge).
    pub class: Option<String>,
    /// A moment, shown after the text.
    pub time: Option<Time>,
    /// An operation on the row: a small form of a button alone.
    pub form: Option<Form>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: None,
            class: None,
            time: None,
            form: None,
        }
    }

    /// A moment alone.
    pub fn time(at: Millis) -> Self {
        Self::text("").at(at)
    }

    /// The text followed by a moment (`next at 2026-12-07 15:04:05 UTC`).
    pub fn at(mut self, at: Millis) -> Self {
        self.time = Some(at.into());
        self
    }

    /// A button that posts `form` (its fields hidden ones), in the row.
    pub fn form(form: Form) -> Self {
        Self {
            form: Some(form),
            ..Self::text("")
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Form {
    pub title: String,
    pub action: String,
    /// `get` or `post`.
    #[serde(skip_deserializing, default = "post_method")]
    pub method: &'static str,
    #[serde(default)]
    pub multipart: bool,
    pub fields: Vec<Field>,
    /// The question a second step asks before the form is posted (Delete,
    /// Disable): the page shows a button leading to that step instead.
    #[serde(default)]
    pub confirm: Option<String>,
    /// Whether its button looks dangerous (what a confirmation guards).
    #[serde(default)]
    pub danger: bool,
    /// What its button is called for assistive technology, when its title
    /// alone does not say which one it is (a button per table row).
    #[serde(default)]
    pub label: Option<String>,
}

fn post_method() -> &'static str {
    "post"
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub options: Vec<String>,
    /// What each option says, when not its value.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Why the value was refused, shown beside the field.
    #[serde(default)]
    pub error: Option<String>,
}

impl Field {
    /// A field whose value is never sent back to the browser.
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, FieldKind::Password | FieldKind::File)
            || matches!(
                self.name.as_str(),
                "password" | "secret" | "apiToken" | "token" | "csrf"
            )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Password,
    Textarea,
    File,
    Select,
    Hidden,
    /// A date and time (`datetime-local`).
    #[serde(rename = "datetime-local")]
    DateTime,
    /// A box per option, any number ticked; the value is the ticked
    /// options joined by commas (the form posts the field once per box).
    Checkboxes,
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

    /// The form that narrows what the page lists, shown above it.
    pub fn filter(mut self, form: Form) -> Self {
        self.filter = Some(form);
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

    /// Says what is still under way, with a *Refresh* link; `job` names
    /// the running job. The page updates itself in place.
    pub fn live(mut self, text: impl Into<String>, job: Option<String>) -> Self {
        self.live = Some(Live {
            text: text.into(),
            job,
            since: None,
        });
        self.updates = true;
        self
    }

    /// The work under way began at `since` (epoch milliseconds).
    pub fn running_since(mut self, since: i64) -> Self {
        if let Some(live) = &mut self.live {
            live.since = Some(since);
        }
        self
    }

    /// Keeps the page up to date in place while it is open, though
    /// nothing on it is under way now (a list new jobs join).
    pub fn updating(mut self) -> Self {
        self.updates = true;
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
            confirm: None,
            danger: false,
            label: None,
        }
    }

    pub fn get(title: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            method: "get",
            ..Self::post(title, action)
        }
    }

    /// Asks `question` on a second page before the form is posted; its
    /// buttons look dangerous.
    pub fn confirm(mut self, question: impl Into<String>) -> Self {
        self.confirm = Some(question.into());
        self.danger = true;
        self
    }

    /// Names its button for assistive technology (`aria-label`).
    pub fn labelled(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
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
            labels: Vec::new(),
            error: None,
        });
        self
    }

    /// A choice among `(value, what it says)` pairs.
    pub fn choose(
        mut self,
        name: &str,
        label: &str,
        value: &str,
        choices: &[(String, String)],
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            label: label.into(),
            kind: FieldKind::Select,
            value: value.into(),
            options: choices.iter().map(|(v, _)| v.clone()).collect(),
            labels: choices.iter().map(|(_, l)| l.clone()).collect(),
            error: None,
        });
        self
    }

    /// A box per option; `ticked` are those ticked.
    pub fn checkboxes(
        mut self,
        name: &str,
        label: &str,
        ticked: &[&str],
        options: &[&str],
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            label: label.into(),
            kind: FieldKind::Checkboxes,
            value: ticked.join(","),
            options: options.iter().map(|o| o.to_string()).collect(),
            labels: Vec::new(),
            error: None,
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
            labels: Vec::new(),
            error: None,
        });
        self
    }
}
