//! Jobs and `executeNotebook` under `/C/admin/notebooks`.

use crate::domain::job::Job;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{Map, Value};

use super::caller::Caller;
use super::negotiate::{Params, Reply};
use super::path::Id;
use super::schema::{AdminError, Execution, Succeeded, Success};
use super::Format;
use crate::domain::ids::{ItemId, JobId, ReceiverId};
use crate::domain::job::{JobInputs, JobKind, JobStatus};
use crate::domain::receiver::{parse_flag, Parameters};
use crate::domain::runtime::RuntimeId;
use crate::domain::time::{Millis, TimeRange};
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::service::jobs::Jobs;
use crate::service::jobs::{ExecuteRequest, JobRuntime};
use crate::service::Settings;
use crate::ui::pages::jobs::{job_page, jobs_page, JobFilterValues, Listing};

const MAX_NUM: u32 = 10_000;
/// The most jobs one page shows.
const PAGE_MAX: u32 = 500;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/notebooks/jobs", get(list))
        .route("/admin/notebooks/jobs/{id}", get(fetch))
        .route("/admin/notebooks/jobs/{id}/notebook", get(notebook))
        .route("/admin/notebooks/jobs/{id}/cancel", post(cancel))
        .route("/admin/notebooks/jobs/{id}/replay", post(replay))
        .route("/admin/notebooks/executeNotebook", post(execute))
}

/// A job in a list: hookbook's fields, and those of Esri's 11.4 notebook
/// jobs (`id`, `name`, `dateCreated`, `revision`, `url`, the runtime's).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct JobSummary {
    job_id: String,
    /// The job's id again, as Esri's job has it.
    id: String,
    r#type: &'static str,
    /// The same as `type`, as Esri's list names it.
    name: &'static str,
    #[schema(inline)]
    status: JobState,
    item_id: String,
    #[schema(required)]
    receiver_id: Option<String>,
    username: String,
    submitted: i64,
    #[schema(required)]
    start_time: Option<i64>,
    #[schema(required)]
    end_time: Option<i64>,
    /// When it was submitted, as Esri names it.
    date_created: i64,
    /// When it last changed: its end, else its start, else its submission.
    revision: i64,
    /// This job's resource.
    url: String,
    /// The runtime the job asks for (by `notebookRuntimeId`, else its notebook's `esriNotebookRuntime`, else `Default`), as the runtimes and the item are now; null for a runtime the site no longer has.
    #[schema(required)]
    notebook_runtime_name: Option<String>,
    /// Null for the default environment and for a runtime the site does not have.
    #[schema(required)]
    notebook_runtime_id: Option<String>,
    /// The runtime's version, or what the notebook asks for; null for the default environment.
    #[schema(required)]
    notebook_runtime_version: Option<String>,
}

impl JobSummary {
    fn new(settings: &Settings, job: &Job, runtime: JobRuntime) -> Self {
        Self {
            job_id: job.id.to_string(),
            id: job.id.to_string(),
            r#type: job.kind.as_str(),
            name: job.kind.as_str(),
            date_created: job.submitted.0,
            revision: job.end_time.or(job.start_time).unwrap_or(job.submitted).0,
            url: job_url(settings, &job.id),
            notebook_runtime_name: runtime.name,
            notebook_runtime_id: runtime.id,
            notebook_runtime_version: runtime.version,
            status: job.status.into(),
            item_id: job.item_id.as_str().to_string(),
            receiver_id: job.receiver_id.map(|r| r.to_string()),
            username: job.username.as_str().to_string(),
            submitted: job.submitted.0,
            start_time: job.start_time.map(|t| t.0),
            end_time: job.end_time.map(|t| t.0),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum JobState {
    Submitted,
    Executing,
    Completed,
    Failed,
    Cancelled,
}

impl From<JobStatus> for JobState {
    fn from(status: JobStatus) -> Self {
        match status {
            JobStatus::Submitted => JobState::Submitted,
            JobStatus::Executing => JobState::Executing,
            JobStatus::Completed => JobState::Completed,
            JobStatus::Failed => JobState::Failed,
            JobStatus::Cancelled => JobState::Cancelled,
        }
    }
}

/// A job, whole.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Job)]
struct JobOut {
    #[serde(flatten)]
    summary: JobSummary,
    messages: Vec<String>,
    #[schema(value_type = Object)]
    inputs: Inputs,
    results: JobResults,
    /// The job this one runs again (a replay), or null.
    #[schema(required)]
    replay_of: Option<String>,
    /// The replay batch that made this job, or null.
    #[schema(required)]
    replay_batch: Option<String>,
    /// Attempts begun so far.
    attempts: u32,
    /// The most attempts the job's retry policy gave it when its last attempt began; null before its first.
    #[schema(required)]
    max_attempts: Option<u32>,
    /// While the job waits for another attempt after a failed one: when that is due (epoch milliseconds); otherwise null.
    #[schema(required)]
    next_attempt_time: Option<i64>,
}

impl JobOut {
    fn new(settings: &Settings, job: &Job, runtime: JobRuntime) -> Self {
        let inputs = match (job.kind, &job.inputs) {
            (JobKind::Webhook, _) => Inputs::Webhook {
                item_id: job.item_id.as_str().to_string(),
                receiver_id: job.receiver_id.map(|r| r.to_string()),
                parameters: job.parameters.values().clone(),
            },
            (JobKind::ExecuteNotebook, Some(inputs)) => Inputs::Asked(inputs.clone()),
            (JobKind::ExecuteNotebook, None) => Inputs::None {},
        };
        // Set only while the job waits for its next attempt.
        let waiting = job.status == JobStatus::Submitted;
        Self {
            summary: JobSummary::new(settings, job, runtime),
            messages: job.messages.clone(),
            inputs,
            results: JobResults::new(settings, job),
            replay_of: job.replay_of.map(|r| r.to_string()),
            replay_batch: job.replay_batch.map(|b| b.to_string()),
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            next_attempt_time: job.retry_at.filter(|_| waiting).map(|t| t.0),
        }
    }
}

/// What a job runs with: a webhook job's notebook, receiver and
/// parameters, or what an `executeNotebook` job was asked with (under the
/// names of its request).
#[derive(Serialize)]
#[serde(untagged)]
enum Inputs {
    #[serde(rename_all = "camelCase")]
    Webhook {
        item_id: String,
        receiver_id: Option<String>,
        parameters: Map<String, Value>,
    },
    Asked(JobInputs),
    None {},
}

/// What a job made: the executed notebook, once there is one.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobResults {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    notebook_url: Option<String>,
}

impl JobResults {
    pub(super) fn new(settings: &Settings, job: &Job) -> Self {
        let notebook_url = job.has_notebook.then(|| {
            format!(
                "{}{}/jobs/{}/notebook",
                settings.public_url,
                super::urls(settings).notebooks(),
                job.id
            )
        });
        Self { notebook_url }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct JobList {
    jobs: Vec<JobSummary>,
    total: u64,
    start: u32,
    num: u64,
    next_start: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Replayed {
    #[schema(inline)]
    status: Succeeded,
    job_id: String,
    job_url: String,
    replay_of: String,
}

/// The fields of `executeNotebook`.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `execute` reads field by field.
struct ExecuteFields {
    item_id: String,
    /// A JSON object (`{"x": 1}`); also its pairs without braces, or a JSON list of `"x": 1` strings, of `{"name", "value"}` objects or of objects, as the ArcGIS API for Python may send them
    #[serde(default)]
    notebook_parameters: String,
    #[serde(default)]
    execution_timeout_in_minutes: String,
    /// `true` or `false` (the default)
    #[serde(default)]
    save_injected_parameters: String,
    /// `true` (the default: the executed notebook is saved into the item when the run completes) or `false`
    #[serde(default)]
    update_portal_item: String,
    /// A runtime's id: the run uses it whatever runtime the notebook names
    #[serde(default)]
    notebook_runtime_id: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// A whole number `field` from 1 to `max`, `default` when not given.
pub(super) fn number(params: &Params, field: &'static str, default: u32, max: u32) -> Result<u32> {
    match params.non_empty(field) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Error::Invalid {
                field,
                problem: ParseError::new(format!("must be a whole number from 1 to {max}")),
            }),
    }
}

#[utoipa::path(get, path = "/admin/notebooks/jobs", tag = "admin",
    summary = "List jobs, newest first",
    params(Format, Caller,
        ("status" = Option<String>, Query),
        ("receiverId" = Option<String>, Query),
        ("from" = Option<String>, Query, description = "Jobs that ended (or, not ended, were submitted) at or after this time: epoch milliseconds or a UTC date and time (2026-12-07T13:05)"),
        ("to" = Option<String>, Query, description = "... and before this time"),
        ("start" = Option<String>, Query),
        ("num" = Option<String>, Query),),
    responses(
        (status = 200, description = "One page of jobs",
            content((JobList = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn list(
    State(service): State<Arc<Jobs>>,
    State(receivers): State<Arc<crate::service::receivers::Receivers>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let status = status_filter(&params)?;
    let receiver = params
        .non_empty("receiverId")
        .map(ReceiverId::parse)
        .transpose()
        .map_err(Error::invalid("receiverId"))?;
    let during = TimeRange {
        from: time_param(&params, "from")?,
        to: time_param(&params, "to")?,
    };
    let start = number(&params, "start", 1, u32::MAX)?;
    // A page shows at most PAGE_MAX jobs, whatever `num` asks, so that it
    // stays quick to render; JSON answers go up to MAX_NUM.
    let num = number(&params, "num", 100, MAX_NUM)?;
    let num = if params.format() == Format::Html {
        num.min(PAGE_MAX)
    } else {
        num
    };
    let (jobs, total) = service
        .jobs(&caller, status, receiver, during, start - 1, num)
        .await?;
    let shown = jobs.len() as u64;
    let next = u64::from(start) + shown;
    let next_start = if next <= total && shown > 0 {
        next as i64
    } else {
        -1
    };
    let runtimes = service.runtimes_of(&jobs).await?;
    let answer = JobList {
        jobs: jobs
            .iter()
            .zip(runtimes)
            .map(|(job, runtime)| JobSummary::new(&settings, job, runtime))
            .collect(),
        total,
        start,
        num: shown,
        next_start,
    };
    Reply::new(answer, async move {
        // A reader who may not list receivers sees their ids.
        let receiver_names = receivers
            .receivers(&caller)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.id, r.name.as_str().to_string()))
            .collect();
        let listing = Listing {
            jobs: &jobs,
            receiver_names: &receiver_names,
            total,
            start: u64::from(start),
            num,
            next_start,
        };
        let filter_values = JobFilterValues {
            status: params.get("status").unwrap_or("").to_string(),
            receiver_id: params.get("receiverId").unwrap_or("").to_string(),
            from: during.from.map(Millis::input_value).unwrap_or_default(),
            to: during.to.map(Millis::input_value).unwrap_or_default(),
        };
        Ok(jobs_page(
            &super::urls(&settings).notebooks(),
            &filter_values,
            &listing,
        ))
    })
}

/// A time filter (`from`, `to`): epoch milliseconds or a UTC date and time.
fn time_param(params: &Params, name: &'static str) -> Result<Option<Millis>> {
    params
        .non_empty(name)
        .map(Millis::parse)
        .transpose()
        .map_err(Error::invalid(name))
}

/// The `status` filter, in any case, when given.
fn status_filter(params: &Params) -> Result<Option<JobStatus>> {
    params
        .non_empty("status")
        .map(JobStatus::parse)
        .transpose()
        .map_err(Error::invalid("status"))
}

#[utoipa::path(get, path = "/admin/notebooks/jobs/{id}", tag = "admin",
    summary = "A job",
    params(Format, Caller, Id<JobId>),
    responses(
        (status = 200, description = "The job",
            content((JobOut = "application/json"), (String = "text/html"))),
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
    let runtime = service
        .runtimes_of(std::slice::from_ref(&job))
        .await?
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("no runtime was found for a job")))?;
    Reply::new(JobOut::new(&settings, &job, runtime), async move {
        let notebook = if let Some(running) = service.live_notebook(&job).await? {
            super::live_cells(running).await?
        } else if job.has_notebook {
            let bytes = service.job_notebook(&caller, &job.id).await?;
            super::notebook_cells(bytes).await?
        } else {
            None
        };
        Ok(job_page(&super::urls(&settings), &job, notebook))
    })
}

/// The executed notebook as an `.ipynb` file, whatever `f` says.
#[utoipa::path(get, path = "/admin/notebooks/jobs/{id}/notebook", tag = "admin",
    summary = "The executed notebook, as an .ipynb file",
    params(Caller, Id<JobId>),
    responses(
        (status = 200, description = "The notebook",
            content((Object = "application/x-ipynb+json"))),
        (status = "default", response = AdminError),
    ),
)]
async fn notebook(
    State(service): State<Arc<Jobs>>,
    Caller(caller): Caller,
    Id(id): Id<JobId>,
) -> Result<super::Ipynb> {
    let bytes = service.job_notebook(&caller, &id).await?;
    Ok(super::Ipynb {
        bytes,
        name: id.to_string(),
    })
}

#[utoipa::path(post, path = "/admin/notebooks/jobs/{id}/cancel", tag = "admin",
    summary = "Cancel a waiting or running job",
    params(Format, Caller, Id<JobId>),
    responses(
        (status = 200, description = "Cancelled",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn cancel(
    State(service): State<Arc<Jobs>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<JobId>,
) -> Result<Reply> {
    service.cancel_job(&caller, &id).await?;
    let location = job_path(&settings, &id);
    Ok(Reply::new(Success::DONE, async move {
        let job = service.job(&caller, &id).await?;
        Ok(job_page(&super::urls(&settings), &job, None))
    })?
    .then_see(location, format!("Cancelled job {id}.")))
}

/// Runs a webhook job's event again; answers with the new job, like
/// `executeNotebook`, and the job it repeats.
#[utoipa::path(post, path = "/admin/notebooks/jobs/{id}/replay", tag = "admin",
    summary = "Run a webhook job's event again as a new job",
    description = "Owners of the job's receiver and administrators. The new job runs the same stored event (payload and headers) with the receiver's notebook, owner and parameters as they are now, and names the job it repeats in `replayOf`.",
    params(Format, Caller, Id<JobId>),
    responses(
        (status = 200, description = "Queued",
            content((Replayed = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn replay(
    State(service): State<Arc<Jobs>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<JobId>,
) -> Result<Reply> {
    let new = service.replay_job(&caller, &id).await?;
    let answer = Replayed {
        status: Succeeded::Success,
        job_id: new.to_string(),
        job_url: job_url(&settings, &new),
        replay_of: id.to_string(),
    };
    let location = job_path(&settings, &new);
    Ok(Reply::new(answer, async move {
        let job = service.job(&caller, &new).await?;
        Ok(job_page(&super::urls(&settings), &job, None))
    })?
    .then_see(
        location,
        format!("Job {new} runs the event of job {id} again."),
    ))
}

/// A job's page, as a path of this site.
pub(super) fn job_path(settings: &Settings, id: &JobId) -> String {
    format!("{}/jobs/{id}", super::urls(settings).notebooks())
}

pub(super) fn job_url(settings: &Settings, id: &JobId) -> String {
    format!(
        "{}{}/jobs/{id}",
        settings.public_url,
        super::urls(settings).notebooks()
    )
}

#[utoipa::path(post, path = "/admin/notebooks/executeNotebook", tag = "admin",
    summary = "Run a notebook item",
    params(Format, Caller),
    request_body(content = inline(ExecuteFields), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The job",
            content((Execution = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn execute(
    State(service): State<Arc<Jobs>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    // Esri's defaults: the item is updated, the injected cell is not kept.
    let flag = |field: &'static str, default: bool| {
        params
            .non_empty(field)
            .map(parse_flag)
            .transpose()
            .map_err(Error::invalid(field))
            .map(|f| f.unwrap_or(default))
    };
    let request = ExecuteRequest {
        item_id: ItemId::parse(params.get("itemId").unwrap_or(""))
            .map_err(Error::invalid("itemId"))?,
        parameters: Parameters::parse_notebook_parameters(
            params.get("notebookParameters").unwrap_or(""),
        )
        .map_err(Error::invalid("notebookParameters"))?,
        timeout_minutes: params
            .non_empty("executionTimeoutInMinutes")
            .map(|t| {
                t.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|m| (1..=10_080).contains(m))
            })
            .map(|m| {
                m.ok_or(Error::Invalid {
                    field: "executionTimeoutInMinutes",
                    problem: ParseError::new("must be a whole number of minutes from 1 to 10080"),
                })
            })
            .transpose()?,
        save_injected_parameters: flag("saveInjectedParameters", false)?,
        update_portal_item: flag("updatePortalItem", true)?,
        runtime: params
            .non_empty("notebookRuntimeId")
            .map(|id| RuntimeId::parse(id.trim()).map_err(Error::invalid("notebookRuntimeId")))
            .transpose()?,
    };
    let id = service.execute_notebook(&caller, request).await?;
    let answer = Execution::new(id.to_string(), job_url(&settings, &id));
    let location = job_path(&settings, &id);
    Ok(Reply::new(answer, async move {
        let job = service.job(&caller, &id).await?;
        Ok(job_page(&super::urls(&settings), &job, None))
    })?
    .then_see(location, format!("Submitted job {id}.")))
}
