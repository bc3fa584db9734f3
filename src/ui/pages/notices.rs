//! The pages of failure notices: where a user's go, with the form that
//! changes it, and what became of them.

use crate::domain::notice::Notice;

use super::Urls;
use crate::domain::notice::Destination;
use crate::domain::user::Username;
use crate::ui::{Block, Cell, FieldKind, Form, Page};

pub fn destination_page(
    urls: &Urls,
    username: &Username,
    d: Option<&Destination>,
    email: bool,
) -> Page {
    let base = format!("{}/notices", urls.notebooks());
    let action = format!("{base}/destination/update");
    let url = d.and_then(|d| d.url.as_ref()).map_or("", |u| u.as_str());
    let mut form = Form::post("Change where notices go", action.clone())
        .field(FieldKind::Hidden, "username", "", username.as_str())
        .field(
            FieldKind::Text,
            "url",
            "URL that notices are posted to (signed with the secret; empty: none)",
            url,
        );
    if email {
        let address = d.and_then(|d| d.email.as_ref()).map_or("", |e| e.as_str());
        form = form.field(
            FieldKind::Text,
            "email",
            "Email address (empty: none)",
            address,
        );
    }
    let mut page = Page::new(format!("Failure notices of {}", username.as_str()))
        .link(
            "Notices sent",
            format!("{base}?username={}", username.as_str()),
        )
        .form(form);
    if let Some(d) = d {
        page = page
            .block(Block::Copy {
                label: "Signing secret (Standard Webhooks)".into(),
                text: d.secret.expose().to_string(),
            })
            .form(
                Form::post("Make a new signing secret", action)
                    .field(FieldKind::Hidden, "username", "", username.as_str())
                    .field(FieldKind::Hidden, "rotateSecret", "", "true"),
            );
    }
    page
}

pub fn notices_page(urls: &Urls, notices: &[Notice]) -> Page {
    let jobs = format!("{}/jobs", urls.notebooks());
    let rows = notices
        .iter()
        .map(|n| {
            vec![
                Cell::time(n.created),
                Cell::link(n.job_id.to_string(), format!("{jobs}/{}", n.job_id)),
                Cell::text(n.channel.as_str()),
                Cell::text(n.status.as_str()).class(n.status.as_str()),
                Cell::text(n.attempts.to_string()),
                Cell::text(n.last_outcome.clone()),
            ]
        })
        .collect();
    Page::new("Failure notices")
        .block(Block::Table {
            heading: "Notices, newest first".into(),
            columns: [
                "Made",
                "Job",
                "Channel",
                "Status",
                "Attempts",
                "Last attempt",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            empty: "No notices yet.".into(),
        })
        .link(
            "Where notices go",
            format!("{}/notices/destination", urls.notebooks()),
        )
        .without_value()
}
