//! The pages of notebook items: a user's folder and one item.

use crate::domain::notebook::Item;

use crate::domain::user::Username;
use crate::ui::{Block, Cell, FieldKind, Form, Page};

use super::Urls;

pub fn folder_page(urls: &Urls, username: &Username) -> Page {
    let c = urls.context.clone();
    Page::new(format!("Notebooks of {username}")).form(
        Form::post(
            "Add item",
            format!("/{c}/sharing/rest/content/users/{username}/addItem"),
        )
        .multipart()
        .field(FieldKind::Text, "title", "Title", "")
        .field(FieldKind::Hidden, "type", "", "Notebook")
        .field(FieldKind::File, "file", "Notebook file (.ipynb)", ""),
    )
}

pub fn item_page(urls: &Urls, item: &Item) -> Page {
    let c = urls.context.clone();
    let base = format!(
        "/{c}/sharing/rest/content/users/{}/items/{}",
        item.owner, item.id
    );
    Page::new(item.title.as_str().to_string())
        .link(
            "Download the notebook",
            format!("/{c}/sharing/rest/content/items/{}/data", item.id),
        )
        .link(
            "Content of the owner",
            format!("/{c}/sharing/rest/content/users/{}", item.owner),
        )
        .form(
            Form::post("Update", format!("{base}/update"))
                .multipart()
                .field(FieldKind::Text, "title", "Title", item.title.as_str())
                .field(FieldKind::File, "file", "Replace the notebook file", ""),
        )
        .form(
            Form::post("Delete", format!("{base}/delete")).confirm(format!(
                "Delete the notebook {} ({})?",
                item.title.as_str(),
                item.id.as_str()
            )),
        )
}

/// A user's items as a table, with the form that adds one.
pub fn items_page(urls: &Urls, username: &Username, items: &[Item]) -> Page {
    let c = &urls.context;
    let rows = items
        .iter()
        .map(|item| {
            vec![
                Cell::link(
                    item.title.as_str(),
                    format!("/{c}/sharing/rest/content/items/{}", item.id),
                ),
                Cell::text(item.id.as_str()),
                Cell::time(item.modified),
                Cell::text(item.size.to_string()),
                Cell::link(
                    "download",
                    format!("/{c}/sharing/rest/content/items/{}/data", item.id),
                ),
            ]
        })
        .collect();
    folder_page(urls, username)
        .without_value()
        .block(Block::Table {
            heading: String::new(),
            columns: ["Title", "Item id", "Modified", "Bytes", "File"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "No notebooks yet: add one below.".into(),
        })
}
