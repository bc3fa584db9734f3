//! `/C/rest/events/webhooks/{id}`: where senders post. The body is read as
//! raw bytes, with the size limit enforced while reading, and answered in
//! JSON whatever `f` says.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt as _;
use tracing::Instrument as _;

use super::schema::{AdminError, Execution};
use crate::domain::ids::ReceiverId;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::intake::{Gate, Incoming, Intake};
use crate::service::Settings;

/// `POST` delivers; `GET` and `HEAD` answer a sender's connection check
/// with a fixed text. There is no CRC challenge (an answer computed with
/// the secret over text the caller chose would sign forged deliveries);
/// other methods answer as an unknown resource does.
pub fn routes() -> Router<super::Site> {
    Router::new().route(
        "/rest/events/webhooks/{id}",
        post(receive)
            .get(check)
            .head(check)
            .fallback(super::unrouted::unknown_resource),
    )
}

/// The answer to a connection check.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Ready {
    /// Always `"ready"`.
    status: &'static str,
    message: &'static str,
}

#[utoipa::path(get, path = "/rest/events/webhooks/{id}", tag = "events",
    summary = "Check that the receiver takes deliveries",
    description = "ArcGIS queries a payload URL when a webhook is created, to confirm the connection. The answer is the same fixed text for every receiver that takes deliveries: nothing in it is computed from the request or with the secret.",
    params(("id" = String, Path, description = "The receiver id.")),
    responses(
        (status = 200, description = "The receiver exists and is enabled", body = Ready),
        (status = "default", description = "Refused: 403 disabled, 404 unknown receiver, 503 the database unavailable", body = AdminError),
    ),
    security(()),
)]
async fn check(State(intake): State<Arc<Intake>>, Path(id): Path<String>) -> Result<Json<Ready>> {
    intake.check_connection(&id).await?;
    Ok(Json(Ready {
        status: "ready",
        message: "This webhook receiver takes POST deliveries signed with its secret.",
    }))
}

/// A delivery's body: any bytes, read as they come and signed as they are.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
struct Payload(Vec<u8>);

#[utoipa::path(post, path = "/rest/events/webhooks/{id}", tag = "events",
    summary = "Deliver a signed event",
    params(("id" = String, Path, description = "The receiver id.")),
    request_body(content = inline(Option<Payload>), content_type = "*/*"),
    responses(
        (status = 200, description = "Stored durably; a job was queued (or the delivery id was seen before)", body = Execution),
        (status = "default", description = "Refused: 401 bad or missing signature, 403 disabled, 404 unknown receiver, 413 too large, 429 over the rate limit, 503 queue full or the database unavailable (with Retry-After; answered within 10 s)", body = AdminError),
    ),
    security(()),
)]
async fn receive(
    State(settings): State<Arc<Settings>>,
    State(intake): State<Arc<Intake>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Json<Execution>> {
    // Every line logged for this delivery names its receiver (when the
    // path holds a receiver's id at all: the caller chose that text).
    let receiver = ReceiverId::parse(&id).ok();
    let span = tracing::info_span!("delivery", receiver = receiver.map(tracing::field::display));
    deliver(settings, intake, id, request)
        .instrument(span)
        .await
}

async fn deliver(
    settings: Arc<Settings>,
    intake: Arc<Intake>,
    id: String,
    request: Request,
) -> Result<Json<Execution>> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let gate = intake.open_delivery(&id, declared).await?;
    let Payload(body) = read_body(&intake, &gate, body).await?;
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    let delivered = intake.deliver(gate, Incoming { headers, body }).await?;
    let s = &settings;
    Ok(Json(Execution::new(
        delivered.job_id.to_string(),
        format!(
            "{}/{}/admin/notebooks/jobs/{}",
            s.public_url, s.context, delivered.job_id
        ),
    )))
}

/// Reads the body, refusing as soon as it grows past the limit (chunked
/// bodies have no length to check beforehand).
async fn read_body(intake: &Intake, gate: &Gate, body: Body) -> Result<Payload> {
    let limit = intake.max_payload_bytes();
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Error::Invalid {
            field: "body",
            problem: ParseError::new("the request body could not be read to its end"),
        })?;
        let size = (bytes.len() + chunk.len()) as u64;
        if size > limit {
            return Err(intake.refuse_too_large(gate, size));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Payload(bytes))
}
