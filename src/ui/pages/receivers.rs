//! The pages of webhook receivers: the list with its create form, and one
//! receiver with its URL, test commands, latest deliveries and operations.

use crate::domain::delivery::Delivery;

use crate::domain::receiver::Receiver;
use crate::ui::{shell_quote, Block, Cell, FieldKind, Form, Page};

use super::Urls;

/// All receivers the reader may see, and the form that creates one.
pub fn list_page(urls: &Urls, receivers: &[Receiver]) -> Page {
    let root = urls.receivers();
    let c = &urls.context;
    let rows = receivers
        .iter()
        .map(|r| {
            let state = if r.disabled { "disabled" } else { "enabled" };
            vec![
                Cell::link(r.name.as_str(), format!("{root}/{}", r.id)),
                Cell::link(
                    r.item_id.as_str(),
                    format!("/{c}/sharing/rest/content/items/{}", r.item_id),
                ),
                Cell::text(state).class(if r.disabled { "rejected" } else { "accepted" }),
                Cell::text(r.owner.as_str()),
                Cell::link(
                    "jobs",
                    format!("/{c}/admin/notebooks/jobs?receiverId={}", r.id),
                ),
            ]
        })
        .collect();
    let page = Page::new("Webhook receivers")
        .without_value()
        .block(Block::Table {
            heading: String::new(),
            columns: ["Name", "Notebook item", "State", "Owner", "Jobs"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "No webhook receivers yet: create one below.".into(),
        });
    page.form(
        Form::post("Create", format!("{root}/create"))
            .field(FieldKind::Text, "name", "Name", "")
            .field(FieldKind::Text, "itemId", "Notebook item id", "")
            .field(
                FieldKind::Password,
                "secret",
                "Secret (32 characters, or whsec_ and 32 base64 characters)",
                "",
            )
            .field(
                FieldKind::Text,
                "signatureHeaders",
                "Signature headers (comma-separated)",
                "x-esrihook-signature",
            )
            .field(FieldKind::Password, "apiToken", "API token (optional)", "")
            .field(
                FieldKind::Textarea,
                "parameters",
                "Parameters (a JSON object)",
                "{}",
            ),
    )
}

/// How to send a signed test event to `r`, with `hookbook send` and, for
/// the schemes a shell can sign, with curl and openssl.
fn send_commands(url: &str, r: &Receiver) -> Vec<Block> {
    let header = r
        .signature_headers
        .joined()
        .split(',')
        .next()
        .unwrap_or("x-esrihook-signature")
        .trim()
        .to_string();
    let (scheme, rename) = match header.as_str() {
        "x-hub-signature-256" => ("github", false),
        "webhook-signature" => ("standard", false),
        "x-esrihook-signature" => ("esri", false),
        _ => ("esri", true),
    };
    let secret = shell_quote(r.secret.expose());
    let body = r#"{"hello": "world"}"#;
    let mut send = format!(
        "hookbook send {} --secret {secret} --scheme {scheme} --data {}",
        shell_quote(url),
        shell_quote(body)
    );
    if rename {
        send.push_str(&format!(" --header {}", shell_quote(&header)));
    }
    let mut blocks = vec![Block::Code {
        label: "Send a signed test event".into(),
        text: send,
    }];
    let digest = match scheme {
        "github" => Some("openssl dgst -sha256 -hmac \"$secret\" -r | cut -d' ' -f1"),
        "esri" => Some("openssl dgst -sha256 -hmac \"$secret\" -binary | base64"),
        _ => None,
    };
    if let Some(digest) = digest {
        blocks.push(Block::Code {
            label: "The same with curl".into(),
            text: format!(
                "secret={secret}\nbody={}\nsig=$(printf %s \"$body\" | {digest})\n\
                 curl -X POST {} -H 'Content-Type: application/json' \\\n  -H \"{header}: sha256=$sig\" --data-binary \"$body\"",
                shell_quote(body),
                shell_quote(url)
            ),
        });
    }
    blocks
}

/// A receiver: its URL, how to send it a test event, its latest
/// deliveries, and its operations.
pub fn receiver_page(urls: &Urls, r: &Receiver, log: &[Delivery]) -> Page {
    let base = format!("{}/{}", urls.receivers(), r.id);
    let c = &urls.context;
    let url = urls.receiver_url(&r.id);
    let jobs = format!("/{c}/admin/notebooks/jobs");
    let rows = delivery_rows(log, &jobs);
    let mut page = Page::new(r.name.as_str().to_string()).block(Block::Copy {
        label: if r.disabled {
            "Receiver URL (disabled: deliveries are refused)".into()
        } else {
            "Receiver URL".into()
        },
        text: url.clone(),
    });
    for block in send_commands(&url, r) {
        page = page.block(block);
    }
    page.block(Block::Table {
        heading: "Latest deliveries, newest first".into(),
        columns: ["Time", "Outcome", "Reason", "Job", "Bytes"]
            .map(String::from)
            .to_vec(),
        rows,
        empty: "No deliveries yet.".into(),
    })
    .link("All webhook receivers", urls.receivers())
    .link("Delivery log", format!("{base}/deliveries"))
    .link("Retry policy", format!("{base}/retryPolicy"))
    .link("Dashboard", format!("{base}/dashboard"))
    .link(
        "Jobs of this receiver",
        format!("{jobs}?receiverId={}", r.id),
    )
    .form(update_form(&base, r))
    .form(Form::post("Validate", format!("{base}/validate")))
    .form(
        Form::post("Run its jobs again", format!("{base}/replay"))
            .select(
                "status",
                "Jobs that ended",
                "FAILED",
                &["FAILED", "COMPLETED", "CANCELLED"],
            )
            .field(
                FieldKind::Text,
                "from",
                "Submitted from (ms since 1970, empty: the start)",
                "",
            )
            .field(
                FieldKind::Text,
                "to",
                "Submitted until (ms since 1970, empty: now)",
                "",
            ),
    )
    .form(if r.disabled {
        Form::post("Enable", format!("{base}/enable"))
    } else {
        Form::post("Disable", format!("{base}/disable")).confirm(format!(
            "Disable the webhook receiver {}? Deliveries to it will be refused until it is enabled again.",
            r.name.as_str()
        ))
    })
    .form(Form::post("Delete", format!("{base}/delete")).confirm(format!(
        "Delete the webhook receiver {}? Senders' deliveries to its URL will be refused.",
        r.name.as_str()
    )))
}

/// The delivery log's lines as table rows, each job linked.
fn delivery_rows(log: &[Delivery], jobs: &str) -> Vec<Vec<Cell>> {
    log.iter()
        .map(|d| {
            vec![
                Cell::text(d.time.utc()),
                Cell::text(d.outcome.as_str()).class(d.outcome.as_str()),
                Cell::text(d.reason.clone()),
                d.job_id.map_or(Cell::text(""), |j| {
                    Cell::link(j.to_string(), format!("{jobs}/{j}"))
                }),
                Cell::text(d.size.to_string()),
            ]
        })
        .collect()
}

/// The form that updates a receiver, filled with its current values
/// (secrets left empty: empty keeps them).
fn update_form(base: &str, r: &Receiver) -> Form {
    Form::post("Update", format!("{base}/update"))
        .field(FieldKind::Text, "name", "Name", r.name.as_str())
        .field(
            FieldKind::Text,
            "itemId",
            "Notebook item id",
            r.item_id.as_str(),
        )
        .field(
            FieldKind::Password,
            "secret",
            "New secret (leave empty to keep)",
            "",
        )
        .field(
            FieldKind::Text,
            "signatureHeaders",
            "Signature headers",
            r.signature_headers.joined(),
        )
        .field(
            FieldKind::Password,
            "apiToken",
            "New API token (leave empty to keep)",
            "",
        )
        .field(
            FieldKind::Textarea,
            "parameters",
            "Parameters (a JSON object)",
            r.parameters.to_json(),
        )
        .select(
            "disabled",
            "Disabled",
            if r.disabled { "true" } else { "false" },
            &["false", "true"],
        )
}
