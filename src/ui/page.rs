//! What a page shows besides the resource itself: links and operation forms.

use serde::Serialize;

/// The description of one resource page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Page {
    pub title: String,
    pub links: Vec<Link>,
    pub forms: Vec<Form>,
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
