//! The pages of webhook receivers: the list with its create form, and one
//! receiver with its URL, test commands, latest deliveries and operations.

use crate::domain::delivery::{DeliveryOutcome, LoggedDelivery};

use crate::domain::notebook::Item;
use crate::domain::receiver::Receiver;
use crate::ui::{shell_quote, Block, Cell, FieldKind, Form, Page};

use super::Urls;

/// All receivers the reader may see, each with its latest delivery and
/// what its run became, and the form that creates one.
pub fn list_page(
    urls: &Urls,
    receivers: &[Receiver],
    latest: &[Vec<LoggedDelivery>],
    notebooks: &[Item],
) -> Page {
    let root = urls.receivers();
    let c = &urls.context;
    let rows = receivers
        .iter()
        .zip(latest)
        .map(|(r, recent)| {
            let state = if r.disabled { "disabled" } else { "enabled" };
            let delivered = recent.first().map(|l| &l.delivery);
            let run = recent.iter().find_map(|l| l.run.as_ref());
            vec![
                Cell::link(r.name.as_str(), format!("{root}/{}", r.id)),
                Cell::link(
                    r.item_id.as_str(),
                    format!("/{c}/sharing/rest/content/items/{}", r.item_id),
                ),
                Cell::text(state).class(if r.disabled { "rejected" } else { "accepted" }),
                delivered.map_or(Cell::text("none yet"), |d| {
                    Cell::text(d.outcome.as_str())
                        .class(d.outcome.as_str())
                        .at(d.time)
                }),
                run.map_or(Cell::text(""), |r| {
                    Cell::text(r.status.as_str()).class(r.status.as_str())
                }),
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
            columns: [
                "Name",
                "Notebook item",
                "State",
                "Last delivery",
                "Latest run",
                "Owner",
                "Jobs",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            empty: "No webhook receivers yet: create one below.".into(),
        });
    page.form(create_form(&root, notebooks))
}

/// What each sender signs with, as a receiver's choice of headers.
fn senders() -> Vec<(String, String)> {
    [
        (
            "x-esrihook-signature",
            "ArcGIS (feature services, ArcGIS Online and Enterprise webhooks)",
        ),
        ("x-hub-signature-256", "GitHub"),
        (
            "webhook-signature",
            "Standard Webhooks (Svix and others; needs a whsec_ secret)",
        ),
        (
            "x-esrihook-signature,x-hub-signature-256,webhook-signature",
            "Any of them",
        ),
    ]
    .map(|(value, says)| (value.to_string(), says.to_string()))
    .to_vec()
}

/// The form that makes a receiver: its notebook chosen by title (typed by
/// id when the reader has none), a secret generated for it (shown here,
/// before it is saved, and never again), and its sender.
fn create_form(root: &str, notebooks: &[Item]) -> Form {
    let form =
        Form::post("Create", format!("{root}/create")).field(FieldKind::Text, "name", "Name", "");
    let form = if notebooks.is_empty() {
        form.field(
            FieldKind::Text,
            "itemId",
            "Notebook item id (none yet: upload one under Notebooks first)",
            "",
        )
    } else {
        let choices: Vec<(String, String)> = notebooks
            .iter()
            .map(|i| (i.id.as_str().to_string(), i.title.as_str().to_string()))
            .collect();
        form.choose("itemId", "Notebook", &choices[0].0, &choices)
    };
    form.field(
        FieldKind::Text,
        "secret",
        "Secret (generated: copy it to the sender now; pages never show it again)",
        uuid::Uuid::new_v4().simple().to_string(),
    )
    .choose(
        "signatureHeaders",
        "Sender",
        "x-esrihook-signature",
        &senders(),
    )
    .field(FieldKind::Password, "apiToken", "API token (optional)", "")
    .field(
        FieldKind::Textarea,
        "parameters",
        "Parameters (a JSON object)",
        "{}",
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
    // The page never shows the secret: the commands read it from $SECRET.
    let secret = "\"$SECRET\"";
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
        label: "Send a signed event from a terminal (SECRET: the receiver's secret)".into(),
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
pub fn receiver_page(urls: &Urls, r: &Receiver, log: &[LoggedDelivery]) -> Page {
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
        columns: [
            "Time", "Delivery", "Run", "Error", "Took", "Job", "Bytes", "Actions",
        ]
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
    .form(Form::post(
        "Send a test event",
        format!("{base}/sendTestEvent"),
    ))
    .form(update_form(&base, r))
    .form(rotate_form(&base, r))
    .form(Form::post("Validate", format!("{base}/validate")))
    .form(
        Form::post("Run its jobs again", format!("{base}/replay"))
            .checkboxes(
                "status",
                "Jobs that ended (none ticked: FAILED)",
                &["FAILED"],
                &["FAILED", "CANCELLED", "COMPLETED"],
            )
            .field(
                FieldKind::DateTime,
                "from",
                "Submitted from, UTC (empty: the start)",
                "",
            )
            .field(
                FieldKind::DateTime,
                "to",
                "Submitted until, UTC (empty: now)",
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

/// The delivery log's lines as table rows: what the delivery was, and
/// what its run became (its state in the jobs' colours, its error's first
/// line, how long it took), each job linked, and a button that runs an
/// accepted delivery's ended job again.
pub fn delivery_rows(log: &[LoggedDelivery], jobs: &str) -> Vec<Vec<Cell>> {
    log.iter()
        .map(|line| {
            let d = &line.delivery;
            let run = line.run.as_ref();
            let delivery = if d.reason.is_empty() {
                d.outcome.as_str().to_string()
            } else {
                format!("{}: {}", d.outcome.as_str(), d.reason)
            };
            vec![
                Cell::time(d.time),
                Cell::text(delivery).class(d.outcome.as_str()),
                run.map_or(Cell::text(""), |r| {
                    Cell::text(r.status.as_str()).class(r.status.as_str())
                }),
                Cell::text(run.and_then(|r| r.error.clone()).unwrap_or_default()),
                Cell::text(
                    run.and_then(|r| r.duration_ms())
                        .map(took)
                        .unwrap_or_default(),
                ),
                d.job_id.map_or(Cell::text(""), |j| {
                    Cell::link(j.to_string(), format!("{jobs}/{j}"))
                }),
                Cell::text(d.size.to_string()),
                run_again(line, jobs),
            ]
        })
        .collect()
}

/// *Run again* for a delivery whose run has ended (a duplicate's run is
/// the first delivery's, which has its own button).
fn run_again(line: &LoggedDelivery, jobs: &str) -> Cell {
    let ended = line.run.as_ref().is_some_and(|r| !r.status.is_live());
    let d = &line.delivery;
    match d.job_id {
        Some(job) if ended && d.outcome == DeliveryOutcome::Accepted => Cell::form(
            Form::post("Run again", format!("{jobs}/{job}/replay"))
                .labelled(format!("Run again: job {job}")),
        ),
        _ => Cell::text(""),
    }
}

/// A run's length for people: milliseconds under a second, else seconds.
fn took(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// The form that gives a receiver a new secret, generated in the kind it
/// has (a `whsec_` one for Standard Webhooks); the old one keeps verifying
/// for the grace period, while the sender is changed.
fn rotate_form(base: &str, r: &Receiver) -> Form {
    let generated = if r.secret.is_standard() {
        let bytes: Vec<u8> = uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .chain(uuid::Uuid::new_v4().as_bytes().iter().take(8))
            .copied()
            .collect();
        format!(
            "whsec_{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
        )
    } else {
        uuid::Uuid::new_v4().simple().to_string()
    };
    Form::post("Rotate the secret", format!("{base}/update")).field(
        FieldKind::Text,
        "secret",
        "New secret (generated: copy it to the sender; the old one keeps working for the grace period)",
        generated,
    )
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
