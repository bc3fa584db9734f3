//! The webhook receiver admin API: list, create, get, update, delete,
//! validate, enable and disable, in the exact shapes of the seed pages.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::{AdminError, Flag, Succeeded, Success};
use crate::domain::delivery::{self, DeliveryRun, LoggedDelivery};
use crate::domain::ids::{ItemId, ReceiverId};
use crate::domain::receiver::{
    parse_flag, Parameters, Receiver, ReceiverName, Secret, SignatureHeaders,
};
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::security::token::Token;
use crate::service::deliveries::{DEFAULT_DELIVERIES, MAX_DELIVERIES};
use crate::service::items::Items;
use crate::service::receivers::Receivers;
use crate::service::receivers::{NewReceiver, ReceiverChanges};
use crate::service::Settings;
use crate::ui::pages::receivers::{list_page, receiver_page};
use crate::ui::Page;
use utoipa::ToSchema;

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

/// A webhook receiver.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Receiver)]
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
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReceiverList {
    webhook_receivers: Vec<ReceiverOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReceiverChanged {
    webhook_receiver: ReceiverOut,
    #[schema(inline)]
    status: Succeeded,
}

impl ReceiverChanged {
    fn new(settings: &Settings, r: &Receiver) -> Self {
        Self {
            webhook_receiver: ReceiverOut::new(settings, r),
            status: Succeeded::Success,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct Validation {
    #[schema(inline)]
    success: Flag,
    id: String,
    /// What keeps the receiver from running, when it cannot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<String>,
}

#[derive(Serialize, ToSchema)]
struct Deliveries {
    #[schema(inline)]
    deliveries: Vec<DeliveryOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeliveryOut {
    time: i64,
    #[schema(inline)]
    outcome: DeliveryOutcome,
    reason: String,
    #[schema(required)]
    job_id: Option<String>,
    size: i64,
    /// Where the run the delivery made (for a duplicate, the first
    /// delivery's) is now: `SUBMITTED`, `EXECUTING`, `COMPLETED`, `FAILED`
    /// or `CANCELLED`; null without a run.
    #[schema(required)]
    job_status: Option<&'static str>,
    /// The first line of a failed run's error.
    #[schema(required)]
    job_error: Option<String>,
    /// How long the run took, in milliseconds, once it ended.
    #[schema(required)]
    job_duration: Option<i64>,
}

impl From<&LoggedDelivery> for DeliveryOut {
    fn from(line: &LoggedDelivery) -> Self {
        let d = &line.delivery;
        let run = line.run.as_ref();
        Self {
            time: d.time.0,
            outcome: d.outcome.into(),
            reason: d.reason.clone(),
            job_id: d.job_id.map(|j| j.to_string()),
            size: d.size,
            job_status: run.map(|r| r.status.as_str()),
            job_error: run.and_then(|r| r.error.clone()),
            job_duration: run.and_then(DeliveryRun::duration_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum DeliveryOutcome {
    Accepted,
    Duplicate,
    Rejected,
}

impl From<delivery::DeliveryOutcome> for DeliveryOutcome {
    fn from(outcome: delivery::DeliveryOutcome) -> Self {
        match outcome {
            delivery::DeliveryOutcome::Accepted => DeliveryOutcome::Accepted,
            delivery::DeliveryOutcome::Duplicate => DeliveryOutcome::Duplicate,
            delivery::DeliveryOutcome::Rejected => DeliveryOutcome::Rejected,
        }
    }
}

/// The fields of a new receiver.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `create` reads field by field.
struct NewReceiverFields {
    name: String,
    item_id: String,
    secret: String,
    signature_headers: String,
    #[serde(default)]
    api_token: String,
    #[serde(default)]
    parameters: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// The fields to change; an empty one keeps its value.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `update` reads field by field.
struct ReceiverFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    signature_headers: String,
    #[serde(default)]
    api_token: String,
    #[serde(default)]
    parameters: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    disabled: String,
}

fn api_token(params: &Params) -> Option<Token> {
    params.non_empty("apiToken").map(Token::from_client)
}

#[utoipa::path(get, path = "/admin/notebooks/webhookReceivers", tag = "admin",
    summary = "List webhook receivers",
    params(Format, Caller),
    responses(
        (status = 200, description = "The receivers the caller manages",
            content((ReceiverList = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn list(
    State(service): State<Arc<Receivers>>,
    State(items): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let receivers = service.receivers(&caller).await?;
    let answer = ReceiverList {
        webhook_receivers: receivers
            .iter()
            .map(|r| ReceiverOut::new(&settings, r))
            .collect(),
    };
    Reply::new(
        answer,
        list_of(service, items, caller, settings, Some(receivers)),
    )
}

/// The receivers' page: each with its latest delivery and run, and the
/// form that makes one, offering the reader's notebooks by title.
async fn list_of(
    service: Arc<Receivers>,
    items: Arc<Items>,
    caller: User,
    settings: Arc<Settings>,
    receivers: Option<Vec<Receiver>>,
) -> Result<Page> {
    let receivers = match receivers {
        Some(receivers) => receivers,
        None => service.receivers(&caller).await?,
    };
    let latest = service.latest_deliveries(&receivers).await?;
    // A reader who may not list notebooks types the item's id.
    let notebooks = items
        .items_of(&caller, &caller.username)
        .await
        .unwrap_or_default();
    Ok(list_page(
        &super::urls(&settings),
        &receivers,
        &latest,
        &notebooks,
    ))
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/create", tag = "admin",
    summary = "Create a webhook receiver",
    params(Format, Caller),
    request_body(content = inline(NewReceiverFields), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The new receiver",
            content((ReceiverChanged = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
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
    let (location, notice) = receiver_place(&settings, &receiver, "Created");
    Ok(
        Reply::new(ReceiverChanged::new(&settings, &receiver), async move {
            Ok(receiver_page(&super::urls(&settings), &receiver, &[]))
        })?
        .then_see(location, notice),
    )
}

/// Where a receiver's page is, and what a page says once it was `done`.
fn receiver_place(settings: &Settings, receiver: &Receiver, done: &str) -> (String, String) {
    (
        format!("{}/{}", super::urls(settings).receivers(), receiver.id),
        format!("{done} the webhook receiver {}.", receiver.name.as_str()),
    )
}

#[utoipa::path(get, path = "/admin/notebooks/webhookReceivers/{id}", tag = "admin",
    summary = "A webhook receiver",
    params(Format, Caller, Id<ReceiverId>),
    responses(
        (status = 200, description = "The receiver",
            content((ReceiverOut = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn fetch(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let receiver = service.receiver(&caller, &id).await?;
    Reply::new(ReceiverOut::new(&settings, &receiver), async move {
        let log = service.deliveries(&caller, &receiver.id, RECENT).await?;
        Ok(receiver_page(&super::urls(&settings), &receiver, &log))
    })
}

/// Fields left out or empty keep their value (a page's form sends every
/// field); `parameters` set to `{}` clears the parameters.
#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/update", tag = "admin",
    summary = "Update a webhook receiver; empty fields keep their value",
    params(Format, Caller, Id<ReceiverId>),
    request_body(content = inline(Option<ReceiverFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The receiver",
            content((ReceiverChanged = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
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
    let (location, notice) = receiver_place(&settings, &receiver, "Saved");
    Ok(
        Reply::new(ReceiverChanged::new(&settings, &receiver), async move {
            let log = service.deliveries(&caller, &id, RECENT).await?;
            Ok(receiver_page(&super::urls(&settings), &receiver, &log))
        })?
        .then_see(location, notice),
    )
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/delete", tag = "admin",
    summary = "Delete a webhook receiver",
    params(Format, Caller, Id<ReceiverId>),
    responses(
        (status = 200, description = "Deleted",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn delete(
    State(service): State<Arc<Receivers>>,
    State(items): State<Arc<Items>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let name = service.receiver(&caller, &id).await?.name;
    service.delete_receiver(&caller, &id).await?;
    let location = super::urls(&settings).receivers();
    Ok(Reply::new(
        Success::DONE,
        list_of(service, items, caller, settings, None),
    )?
    .then_see(
        location,
        format!("Deleted the webhook receiver {}.", name.as_str()),
    ))
}

#[utoipa::path(method(get, post), path = "/admin/notebooks/webhookReceivers/{id}/validate", tag = "admin",
    summary = "Check that the receiver can run",
    params(Format, Caller, Id<ReceiverId>),
    responses(
        (status = 200, description = "The outcome",
            content((Validation = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn validate(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let validation = service.validate_receiver(&caller, &id).await?;
    let notice = if validation.problems.is_empty() {
        "Validated: the receiver can run.".to_string()
    } else {
        format!(
            "Validation found problems: {}",
            validation.problems.join(" ")
        )
    };
    let location = format!("{}/{id}", super::urls(&settings).receivers());
    let answer = Validation {
        success: Flag::from(validation.problems.is_empty()),
        id: id.to_string(),
        messages: validation.problems,
    };
    Ok(Reply::new(
        answer,
        receiver_page_of(service, settings.clone(), caller, id),
    )?
    .then_see(location, notice))
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
    let location = format!("{}/{id}", super::urls(&settings).receivers());
    let notice = if disabled {
        "Disabled: deliveries to this receiver are refused."
    } else {
        "Enabled: this receiver takes deliveries."
    };
    Ok(Reply::new(
        Success::DONE,
        receiver_page_of(service, settings, caller, id),
    )?
    .then_see(location, notice))
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

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/enable", tag = "admin",
    summary = "Enable a webhook receiver",
    params(Format, Caller, Id<ReceiverId>),
    responses(
        (status = 200, description = "Enabled",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn enable(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    set_disabled(service, settings.clone(), caller, id, false).await
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/disable", tag = "admin",
    summary = "Disable a webhook receiver",
    params(Format, Caller, Id<ReceiverId>),
    responses(
        (status = 200, description = "Disabled",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn disable(
    State(service): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    set_disabled(service, settings.clone(), caller, id, true).await
}

/// The receiver's delivery log, newest first (`num` lines, 100 by default).
#[utoipa::path(get, path = "/admin/notebooks/webhookReceivers/{id}/deliveries", tag = "admin",
    summary = "A receiver's delivery log, newest first",
    params(Format, Caller, Id<ReceiverId>,
        ("num" = Option<String>, Query, description = "Lines, 1 to 1000 (100 by default)."),),
    responses(
        (status = 200, description = "The log",
            content((Deliveries = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
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
    let answer = Deliveries {
        deliveries: lines.iter().map(DeliveryOut::from).collect(),
    };
    Reply::new(answer, async move {
        let receiver = service.receiver(&caller, &id).await?;
        Ok(receiver_page(&super::urls(&settings), &receiver, &lines).without_value())
    })
}
