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
use crate::service::receivers::Receivers;
use crate::service::receivers::{NewReceiver, ReceiverChanges};
use crate::service::Settings;
use crate::ui::pages::receivers::{list_page, receiver_page};
use crate::ui::Page;

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
    fn new(settings: &Settings, r: &Receiver) -> Self {
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
            url: super::urls(settings).receiver_url(&r.id),
        }
    }

    fn value(settings: &Settings, r: &Receiver) -> serde_json::Value {
        serde_json::to_value(Self::new(settings, r)).unwrap_or_default()
    }
}

fn api_token(params: &Params) -> Option<Token> {
    params.non_empty("apiToken").map(Token::from_client)
}

async fn list(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let receivers = service.receivers(&caller).await?;
    let out: Vec<_> = receivers
        .iter()
        .map(|r| ReceiverOut::value(&settings, r))
        .collect();
    Ok(Reply::new(json!({"webhookReceivers": out}), async move {
        Ok(list_page(&super::urls(&settings), &receivers))
    }))
}

async fn create(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
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
    let receiver = service.create_receiver(&caller, new).await?;
    let value =
        json!({"webhookReceiver": ReceiverOut::value(&settings, &receiver), "status": "success"});
    Ok(Reply::new(value, async move {
        Ok(receiver_page(&super::urls(&settings), &receiver, &[]))
    }))
}

async fn fetch(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let receiver = service.receiver(&caller, &id).await?;
    let value = ReceiverOut::value(&settings, &receiver);
    Ok(Reply::new(value, async move {
        let log = service.deliveries(&caller, &receiver.id, RECENT).await?;
        Ok(receiver_page(&super::urls(&settings), &receiver, &log))
    }))
}

/// Fields left out or empty keep their value (a page's form sends every
/// field); `parameters` set to `{}` clears the parameters.
async fn update(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
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
    let receiver = service.update_receiver(&caller, &id, changes).await?;
    let value =
        json!({"webhookReceiver": ReceiverOut::value(&settings, &receiver), "status": "success"});
    Ok(Reply::new(value, async move {
        let log = service.deliveries(&caller, &id, RECENT).await?;
        Ok(receiver_page(&super::urls(&settings), &receiver, &log))
    }))
}

async fn delete(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    service.delete_receiver(&caller, &id).await?;
    Ok(Reply::new(json!({"status": "success"}), async move {
        let receivers = service.receivers(&caller).await?;
        Ok(list_page(&super::urls(&settings), &receivers))
    }))
}

async fn validate(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let validation = service.validate_receiver(&caller, &id).await?;
    let value = if validation.problems.is_empty() {
        json!({"success": "true", "id": id.to_string()})
    } else {
        json!({"success": "false", "id": id.to_string(), "messages": validation.problems})
    };
    Ok(Reply::new(
        value,
        receiver_page_of(service, settings.clone(), caller, id),
    ))
}

async fn set_disabled(
    service: Arc<Receivers>,
    settings: Arc<Settings>,
    caller: User,
    id: ReceiverId,
    disabled: bool,
) -> Result<Reply> {
    service
        .set_receiver_disabled(&caller, &id, disabled)
        .await?;
    Ok(Reply::new(
        json!({"status": "success"}),
        receiver_page_of(service, settings, caller, id),
    ))
}

/// A receiver's page with its latest deliveries, read for the page only.
pub(super) async fn receiver_page_of(
    service: Arc<Receivers>,
    settings: Arc<Settings>,
    caller: User,
    id: ReceiverId,
) -> Result<Page> {
    let receiver = service.receiver(&caller, &id).await?;
    let log = service.deliveries(&caller, &id, RECENT).await?;
    Ok(receiver_page(&super::urls(&settings), &receiver, &log))
}

async fn enable(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    set_disabled(service, settings.clone(), caller, id, false).await
}

async fn disable(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    set_disabled(service, settings.clone(), caller, id, true).await
}

/// The receiver's delivery log, newest first (`num` lines, 100 by default).
async fn deliveries(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
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
                problem: crate::domain::ParseError::new(format!(
                    "must be a whole number from 1 to {MAX_DELIVERIES}"
                )),
            })?,
    };
    let lines = service.deliveries(&caller, &id, num).await?;
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
        let receiver = service.receiver(&caller, &id).await?;
        Ok(receiver_page(&super::urls(&settings), &receiver, &lines).without_value())
    }))
}
