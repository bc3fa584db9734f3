//! Replays of many jobs under a receiver: `POST
//! /C/admin/notebooks/webhookReceivers/{id}/replay` runs its jobs a
//! selection holds again as one batch, and `.../replays/{batch}/cancel`
//! undoes a batch by cancelling its replays still waiting.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::{AdminError, Succeeded};
use crate::domain::ids::{BatchId, ReceiverId};
use crate::domain::job::JobStatus;
use crate::domain::time::Millis;
use crate::error::{Error, Result};
use crate::service::jobs::Jobs;
use crate::service::jobs::ReplaySelection;
use crate::service::receivers::Receivers;
use crate::service::Settings;

pub fn routes() -> Router<super::Site> {
    let root = "/admin/notebooks/webhookReceivers/{id}";
    Router::new()
        .route(&format!("{root}/replay"), post(replay))
        .route(&format!("{root}/replays/{{batch}}/cancel"), post(cancel))
}

// The answers and the form, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReplayBatch {
    #[schema(inline)]
    status: Succeeded,
    batch_id: String,
    jobs: u64,
    already_replayed: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CancelledReplays {
    #[schema(inline)]
    status: Succeeded,
    cancelled: u64,
}

/// Which jobs to run again.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that `selection` reads field by field.
struct SelectionFields {
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// `status` (final states, given once each or joined by commas, as a
/// page's boxes post them; `FAILED` unless given), `from` and `to` (epoch
/// milliseconds of submission, inclusive; from the start to now unless
/// given).
fn selection(params: &Params) -> Result<ReplaySelection> {
    let mut statuses = Vec::new();
    for name in params.all("status").flat_map(|v| v.split(',')) {
        if name.trim().is_empty() {
            continue;
        }
        let status = JobStatus::parse(name).map_err(Error::invalid("status"))?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    if statuses.is_empty() {
        statuses.push(JobStatus::Failed);
    }
    let time = |field: &'static str, default: Millis| -> Result<Millis> {
        params.non_empty(field).map_or(Ok(default), |t| {
            let at = Millis::parse(t).map_err(Error::invalid(field))?;
            if at.0 < 0 {
                return Err(Error::Invalid {
                    field,
                    problem: crate::domain::ParseError::new("must not be before 1970"),
                });
            }
            Ok(at)
        })
    };
    Ok(ReplaySelection {
        statuses,
        from: time("from", Millis(0))?,
        to: time("to", Millis::now())?,
    })
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/replay", tag = "admin",
    summary = "Run a receiver's jobs again, as one batch",
    description = "Owners of the receiver and administrators. Runs again the receiver's webhook jobs (not replays themselves) that ended in `status` (FAILED by default; COMPLETED or CANCELLED; several joined by commas or given once each) and were submitted from `from` to `to` (epoch milliseconds or a UTC date and time such as 2026-12-07T13:05, inclusive; from the start to now by default), at most 10,000 at once. Each replay runs the stored event with the receiver's notebook, owner and parameters as they are now. `alreadyReplayed` counts selected jobs that had been replayed before.",
    params(Format, Caller, Id<ReceiverId>),
    request_body(content = inline(Option<SelectionFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((ReplayBatch = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn replay(
    State(service): State<Arc<Jobs>>,
    State(receivers): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
    params: Params,
) -> Result<Reply> {
    let done = service
        .replay_jobs(&caller, &id, selection(&params)?)
        .await?;
    let answer = ReplayBatch {
        status: Succeeded::Success,
        batch_id: done.batch.to_string(),
        jobs: done.jobs,
        already_replayed: done.already,
    };
    let location = format!(
        "{}/jobs?receiverId={id}",
        super::urls(&settings).notebooks()
    );
    let notice = format!("{} jobs run again.", done.jobs);
    Ok(Reply::new(
        answer,
        super::receivers::receiver_page_of(receivers, settings, caller, id),
    )?
    .then_see(location, notice))
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/replays/{batch}/cancel", tag = "admin",
    summary = "Cancel the waiting jobs of a replay batch",
    description = "Owners of the receiver and administrators. Cancels the batch's replays that have not started; `cancelled` says how many.",
    params(Format, Caller, Id<ReceiverId>,
        ("batch" = String, Path, description = "A replay batch id (a UUID), as the replay answered."),),
    responses(
        (status = 200, description = "Done",
            content((CancelledReplays = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn cancel(
    State(service): State<Arc<Jobs>>,
    State(receivers): State<Arc<Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
    Path((_, batch)): Path<(String, String)>,
) -> Result<Reply> {
    let batch = BatchId::parse(&batch).map_err(Error::invalid("batch"))?;
    let cancelled = service.cancel_replay(&caller, &id, &batch).await?;
    let answer = CancelledReplays {
        status: Succeeded::Success,
        cancelled,
    };
    let location = format!("{}/{id}", super::urls(&settings).receivers());
    Ok(Reply::new(
        answer,
        super::receivers::receiver_page_of(receivers, settings, caller, id),
    )?
    .then_see(location, format!("Cancelled {cancelled} waiting jobs.")))
}
