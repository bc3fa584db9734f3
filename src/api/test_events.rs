//! `POST .../webhookReceivers/{id}/sendTestEvent`: the server signs a test
//! event of its own with the receiver's secret and delivers it, so that a
//! receiver can be tried from a page without a terminal; a page then
//! shows the job it made.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::Router;

use super::caller::Caller;
use super::jobs::{job_path, job_url};
use super::negotiate::{Format, Reply};
use super::path::Id;
use super::schema::{AdminError, Execution};
use crate::domain::ids::ReceiverId;
use crate::error::Result;
use crate::intake::Intake;
use crate::service::jobs::Jobs;
use crate::service::receivers::Receivers;
use crate::service::Settings;
use crate::ui::pages::jobs::job_page;

pub fn routes() -> Router<super::Site> {
    Router::new().route(
        "/admin/notebooks/webhookReceivers/{id}/sendTestEvent",
        post(send_test_event),
    )
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/sendTestEvent", tag = "admin",
    summary = "Send the receiver a test event, signed by the server",
    description = "The server signs `{\"hookbook\": \"test event\", \"sentAt\": <ms>}` with the receiver's secret, the way the receiver checks (Standard Webhooks for a whsec_ secret, else its first signature header), and delivers it as a sender would: the signature is checked, the event stored and a job queued. The payload is the server's own; no signature is ever answered.",
    params(Format, Caller, Id<ReceiverId>),
    request_body(content = inline(Option<super::schema::CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The job the test event made",
            content((Execution = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn send_test_event(
    State(receivers): State<Arc<Receivers>>,
    State(jobs): State<Arc<Jobs>>,
    State(intake): State<Arc<Intake>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let receiver = receivers.receiver(&caller, &id).await?;
    let delivered = intake.send_test_event(&receiver.id).await?;
    let job_id = delivered.job_id;
    let answer = Execution::new(job_id.to_string(), job_url(&settings, &job_id));
    let location = job_path(&settings, &job_id);
    Ok(Reply::new(answer, async move {
        let job = jobs.job(&caller, &job_id).await?;
        Ok(job_page(&super::urls(&settings), &job, None))
    })?
    .then_see(
        location,
        format!(
            "Sent a test event to {}; this is its job.",
            receiver.name.as_str()
        ),
    ))
}
