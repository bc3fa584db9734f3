//! The webhook receiver admin API: list, create, get, update, delete,
//! validate, enable and disable, in the exact shapes of the seed pages.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::json;

use super::caller::Caller;
use super::negotiate::{Params, Reply};
use super::path::Id;
use crate::domain::ids::{ItemId, ReceiverId};
use crate::domain::receiver::{
    parse_flag, Parameters, Receiver, ReceiverName, Secret, SignatureHeaders,
};
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::security::token::Token;
use crate::service::deliveries::{DEFAULT_DELIVERIES, MAX_DELIVERIES};
use crate::service::receivers::{NewReceiver, ReceiverChanges};
use crate::service::App;
use crate::store::DeliveryRecord;
use crate::ui::{shell_quote, Block, Cell, FieldKind, Form, Page};

/// Delivery-log lines a receiver's page shows.
const RECENT: u32 = 20;

pub fn routes() -> Router<super::Site> {
    let root = "/admin/notebooks/webhookReceivers";
    Router::new()
        .route(root, get(list))
        .route(&format!("{root}/create"), post(create))
        .route(&format!("{root}/{{id}}"), get(fetch))
        .route(&format!("{root}/{{id}}/update"), post(update))
        .route(&format!("{root}/{{id}}/delete"), post(delete))
        .route(
            &format!("{root}/{{id}}/validate"),
            get(validate).post(validate),
        )
        .route(&format!("{root}/{{id}}/enable"), post(enable))
        .route(&format!("{root}/{{id}}/disable"), post(disable))
        .route(&format!("{root}/{{id}}/deliveries"), get(deliveries))
}

/// `<receiver>` of the contract: exactly these fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiverOut {
    id: String,
    name: String,
    item_id: String,
    signature_headers: String,
    disabled: bool,
    secret: String,
    /// Write-only: always empty.
    api_token: &'static str,
    /// A JSON string, `"{}"` when there are none.
    parameters: String,
    message: String,
    username: String,
    url: String,
}

impl ReceiverOut {
    fn new(app: &App, r: &Receiver) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.as_str().to_string(),
            item_id: r.item_id.as_str().to_string(),
            signature_headers: r.signature_headers.joined(),
            disabled: r.disabled,
            secret: r.secret.expose().to_string(),
            api_token: "",
            parameters: r.parameters.to_json(),
            message: r.message.clone(),
            username: r.owner.as_str().to_string(),
            url: format!(
                "{}/{}/rest/events/webhooks/{}",
                app.settings.public_url, app.settings.context, r.id
            ),
        }
    }

    fn value(app: &App, r: &Receiver) -> serde_json::Value {
        serde_json::to_value(Self::new(app, r)).unwrap_or_default()
    }
}

fn root(app: &App) -> String {
    format!("/{}/admin/notebooks/webhookReceivers", app.settings.context)
}

fn list_page(app: &App, receivers: &[Receiver]) -> Page {
    let root = root(app);
    let c = &app.settings.context;
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

fn receiver_page(app: &App, r: &Receiver, log: &[DeliveryRecord]) -> Page {
    let base = format!("{}/{}", root(app), r.id);
    let c = &app.settings.context;
    let url = ReceiverOut::new(app, r).url;
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
    .link("All webhook receivers", root(app))
    .link("Delivery log", format!("{base}/deliveries"))
    .link(
        "Jobs of this receiver",
        format!("{jobs}?receiverId={}", r.id),
    )
    .form(update_form(&base, r))
    .form(Form::post("Validate", format!("{base}/validate")))
    .form(if r.disabled {
        Form::post("Enable", format!("{base}/enable"))
    } else {
        Form::post("Disable", format!("{base}/disable"))
    })
    .form(Form::post("Delete", format!("{base}/delete")))
}

/// The delivery log's lines as table rows, each job linked.
fn delivery_rows(log: &[DeliveryRecord], jobs: &str) -> Vec<Vec<Cell>> {
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

fn api_token(params: &Params) -> Option<Token> {
    params.non_empty("apiToken").map(Token::from_client)
}

async fn list(State(app): State<Arc<App>>, Caller(caller): Caller) -> Result<Reply> {
    let receivers = app.receivers(&caller).await?;
    let out: Vec<_> = receivers
        .iter()
        .map(|r| ReceiverOut::value(&app, r))
        .collect();
    Ok(Reply::new(json!({"webhookReceivers": out}), async move {
        Ok(list_page(&app, &receivers))
    }))
}

async fn create(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let field = |name| params.get(name).unwrap_or("");
    let new = NewReceiver {
        name: ReceiverName::parse(field("name")).map_err(Error::invalid("name"))?,
        item_id: ItemId::parse(field("itemId")).map_err(Error::invalid("itemId"))?,
        secret: Secret::parse(field("secret")).map_err(Error::invalid("secret"))?,
        signature_headers: SignatureHeaders::parse(field("signatureHeaders"))
            .map_err(Error::invalid("signatureHeaders"))?,
        api_token: api_token(&params),
        parameters: Parameters::parse(field("parameters")).map_err(Error::invalid("parameters"))?,
    };
    let receiver = app.create_receiver(&caller, new).await?;
    let value =
        json!({"webhookReceiver": ReceiverOut::value(&app, &receiver), "status": "success"});
    Ok(Reply::new(value, async move {
        Ok(receiver_page(&app, &receiver, &[]))
    }))
}

async fn fetch(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let receiver = app.receiver(&caller, &id).await?;
    let value = ReceiverOut::value(&app, &receiver);
    Ok(Reply::new(value, async move {
        let log = app.deliveries(&caller, &receiver.id, RECENT).await?;
        Ok(receiver_page(&app, &receiver, &log))
    }))
}

/// Fields left out or empty keep their value (a page's form sends every
/// field); `parameters` set to `{}` clears the parameters.
async fn update(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
    params: Params,
) -> Result<Reply> {
    let changes = ReceiverChanges {
        name: params
            .non_empty("name")
            .map(ReceiverName::parse)
            .transpose()
            .map_err(Error::invalid("name"))?,
        item_id: params
            .non_empty("itemId")
            .map(ItemId::parse)
            .transpose()
            .map_err(Error::invalid("itemId"))?,
        secret: params
            .non_empty("secret")
            .map(Secret::parse)
            .transpose()
            .map_err(Error::invalid("secret"))?,
        signature_headers: params
            .non_empty("signatureHeaders")
            .map(SignatureHeaders::parse)
            .transpose()
            .map_err(Error::invalid("signatureHeaders"))?,
        api_token: api_token(&params),
        parameters: params
            .non_empty("parameters")
            .map(Parameters::parse)
            .transpose()
            .map_err(Error::invalid("parameters"))?,
        disabled: params
            .non_empty("disabled")
            .map(parse_flag)
            .transpose()
            .map_err(Error::invalid("disabled"))?,
    };
    let receiver = app.update_receiver(&caller, &id, changes).await?;
    let value =
        json!({"webhookReceiver": ReceiverOut::value(&app, &receiver), "status": "success"});
    Ok(Reply::new(value, async move {
        let log = app.deliveries(&caller, &id, RECENT).await?;
        Ok(receiver_page(&app, &receiver, &log))
    }))
}

async fn delete(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    app.delete_receiver(&caller, &id).await?;
    Ok(Reply::new(json!({"status": "success"}), async move {
        let receivers = app.receivers(&caller).await?;
        Ok(list_page(&app, &receivers))
    }))
}

async fn validate(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let validation = app.validate_receiver(&caller, &id).await?;
    let value = if validation.problems.is_empty() {
        json!({"success": "true", "id": id.to_string()})
    } else {
        json!({"success": "false", "id": id.to_string(), "messages": validation.problems})
    };
    Ok(Reply::new(value, receiver_page_of(app, caller, id)))
}

async fn set_disabled(
    app: Arc<App>,
    caller: User,
    id: ReceiverId,
    disabled: bool,
) -> Result<Reply> {
    app.set_receiver_disabled(&caller, &id, disabled).await?;
    Ok(Reply::new(
        json!({"status": "success"}),
        receiver_page_of(app, caller, id),
    ))
}

/// A receiver's page with its latest deliveries, read for the page only.
async fn receiver_page_of(app: Arc<App>, caller: User, id: ReceiverId) -> Result<Page> {
    let receiver = app.receiver(&caller, &id).await?;
    let log = app.deliveries(&caller, &id, RECENT).await?;
    Ok(receiver_page(&app, &receiver, &log))
}

async fn enable(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    set_disabled(app, caller, id, false).await
}

async fn disable(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    set_disabled(app, caller, id, true).await
}

/// The receiver's delivery log, newest first (`num` lines, 100 by default).
async fn deliveries(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
    params: Params,
) -> Result<Reply> {
    let num = match params.non_empty("num") {
        None => DEFAULT_DELIVERIES,
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_DELIVERIES).contains(n))
            .ok_or_else(|| Error::Invalid {
                field: "num",
                source: crate::domain::ParseError::new(format!(
                    "must be a whole number from 1 to {MAX_DELIVERIES}"
                )),
            })?,
    };
    let lines = app.deliveries(&caller, &id, num).await?;
    let out: Vec<_> = lines
        .iter()
        .map(|d| {
            json!({
                "time": d.time.0,
                "outcome": d.outcome.as_str(),
                "reason": d.reason,
                "jobId": d.job_id.map(|j| j.to_string()),
                "size": d.size,
            })
        })
        .collect();
    Ok(Reply::new(json!({"deliveries": out}), async move {
        let receiver = app.receiver(&caller, &id).await?;
        Ok(receiver_page(&app, &receiver, &lines).without_value())
    }))
}
