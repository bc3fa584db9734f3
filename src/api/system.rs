//! Esri's notebook server jobs at `/C/admin/system/jobs`: the same jobs as
//! `/C/admin/notebooks/jobs`, in the shape Esri documents for the
//! Notebook Server's administrative jobs (`asyncJobs`; a job with
//! `inputs.notebookParameters` as a string, `customAttributes`, and
//! `PROCESSING` for a job that runs), and its `cancel` operation.

use crate::domain::job::Job;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::caller::Caller;
use super::negotiate::Params;
use super::negotiate::Reply;
use super::path::Id;
use super::schema::{AdminError, CallerFields, Directory, FormatQuery, Success, TokenQuery};
use crate::domain::ids::JobId;
use crate::domain::job::{JobKind, JobStatus};
use crate::domain::receiver::parse_flag;
use crate::error::{Error, Result};
use crate::service::jobs::Jobs;
use crate::service::Settings;
use crate::ui::Page;

/// The most jobs one answer lists.
const MAX_NUM: u32 = 10_000;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/system", get(system))
        .route("/admin/system/jobs", get(list))
        .route("/admin/system/jobs/{id}", get(fetch))
        .route("/admin/system/jobs/{id}/cancel", post(cancel))
}

#[utoipa::path(get, path = "/admin/system", tag = "admin",
    summary = "The system directory",
    params(FormatQuery, TokenQuery),
    responses(
        (status = 200, description = "Its resources",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn system(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    let c = settings.context.clone();
    Ok(Reply::new(json!({"resources": ["jobs"]}), async move {
        Ok(Page::new("System").link("jobs", format!("/{c}/admin/system/jobs")))
    }))
}

// The answers, as the description gives them; they are built with
// `json!`, so these types are never made.

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SystemJob {
    job_id: String,
    r#type: String,
    #[serde(default)]
    username: String,
    #[schema(inline)]
    status: EsriState,
    #[schema(inline)]
    inputs: SystemInputs,
    #[serde(default)]
    start_time: i64,
    end_time: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Object)]
    results: Value,
    #[serde(default)]
    messages: Vec<String>,
    #[schema(inline)]
    custom_attributes: CustomAttributes,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[allow(dead_code)]
enum EsriState {
    Submitted,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SystemInputs {
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    notebook_parameters: String,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct CustomAttributes {
    #[serde(default)]
    is_cancelled: bool,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AsyncJobs {
    #[schema(inline)]
    async_jobs: Vec<AsyncJob>,
}

/// A job in the list: its id, and the rest with `detail=true`.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AsyncJob {
    job_id: String,
}

/// Esri's status names: a running job is `PROCESSING`.
fn status(job: &Job) -> &'static str {
    match job.status {
        JobStatus::Executing => "PROCESSING",
        other => other.as_str(),
    }
}

/// The abbreviated entry of the list.
fn entry(job: &Job) -> Value {
    json!({
        "jobId": job.id.to_string(),
        "startTime": job.start_time.unwrap_or(job.submitted).0,
        "type": job.kind.as_str(),
        "username": job.username.as_str(),
    })
}

/// The whole job, as Esri's job resource has it.
fn job_json(settings: &Settings, job: &Job) -> Value {
    let parameters = match (job.kind, &job.inputs) {
        (JobKind::ExecuteNotebook, Some(inputs)) => {
            Value::Object(inputs.notebook_parameters.clone()).to_string()
        }
        _ => job.parameters.to_json(),
    };
    let mut inputs = json!({"itemId": job.item_id.as_str(), "notebookParameters": parameters});
    if let Some(given) = &job.inputs {
        inputs["updatePortalItem"] = json!(given.update_portal_item);
        inputs["saveInjectedParameters"] = json!(given.save_injected_parameters);
        inputs["executionTimeoutInMinutes"] = json!(given.execution_timeout_in_minutes);
    }
    let mut results = json!({});
    if job.has_notebook {
        results["notebookUrl"] = json!(format!(
            "{}{}/jobs/{}/notebook",
            settings.public_url,
            super::urls(settings).notebooks(),
            job.id
        ));
    }
    json!({
        "jobId": job.id.to_string(),
        "type": job.kind.as_str(),
        "status": status(job),
        "username": job.username.as_str(),
        "inputs": inputs,
        "startTime": job.start_time.unwrap_or(job.submitted).0,
        "endTime": job.end_time.map(|t| t.0),
        "results": results,
        "messages": job.messages,
        "customAttributes": {
            "isCancelled": job.status == JobStatus::Cancelled,
            "attempts": job.attempts,
            "receiverId": job.receiver_id.map(|r| r.to_string()),
        },
    })
}

/// `detail=true` for whole jobs; `num` of them (100 by default), the most
/// recent first (`sortByDate` is accepted; the order is always by date).
#[utoipa::path(get, path = "/admin/system/jobs", tag = "admin",
    summary = "Jobs, as Esri's notebook server lists them",
    params(FormatQuery, TokenQuery,
        ("detail" = inline(Option<super::schema::Flag>), Query),
        ("num" = Option<String>, Query),
        ("sortByDate" = Option<String>, Query),),
    responses(
        (status = 200, description = "The jobs",
            content((AsyncJobs = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn list(
    State(service): State<Arc<Jobs>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let detail = params
        .non_empty("detail")
        .map(parse_flag)
        .transpose()
        .map_err(Error::invalid("detail"))?
        .unwrap_or(false);
    let num = super::jobs::number(&params, "num", 100, MAX_NUM)?;
    let (jobs, _) = service.jobs(&caller, None, None, 0, num).await?;
    let listed: Vec<Value> = jobs
        .iter()
        .map(|j| {
            if detail {
                job_json(&settings, j)
            } else {
                entry(j)
            }
        })
        .collect();
    Ok(Reply::new(json!({ "asyncJobs": listed }), async move {
        Ok(Page::new("Jobs"))
    }))
}

#[utoipa::path(get, path = "/admin/system/jobs/{id}", tag = "admin",
    summary = "A job, as Esri's notebook server describes one",
    params(FormatQuery, TokenQuery,
        ("id" = String, Path, description = "A job id."),),
    responses(
        (status = 200, description = "The job",
            content((SystemJob = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn fetch(
    State(service): State<Arc<Jobs>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<JobId>,
) -> Result<Reply> {
    let job = service.job(&caller, &id).await?;
    Ok(Reply::new(job_json(&settings, &job), async move {
        Ok(Page::new("Job"))
    }))
}

#[utoipa::path(post, path = "/admin/system/jobs/{id}/cancel", tag = "admin",
    summary = "Cancel a job",
    params(FormatQuery, TokenQuery,
        ("id" = String, Path, description = "A job id."),),
    request_body(content = inline(Option<CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn cancel(
    State(service): State<Arc<Jobs>>,
    Caller(caller): Caller,
    Id(id): Id<JobId>,
) -> Result<Reply> {
    service.cancel_job(&caller, &id).await?;
    Ok(Reply::new(json!({"status": "success"}), async move {
        Ok(Page::new("Job cancelled"))
    }))
}
