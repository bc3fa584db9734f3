//! Esri's notebook server jobs at `/C/admin/system/jobs`: the same jobs as
//! `/C/admin/notebooks/jobs`, in the shape Esri documents for the
//! Notebook Server's administrative jobs (`asyncJobs`; a job with
//! `inputs.notebookParameters` as a string, `customAttributes`, and
//! `PROCESSING` for a job that runs), its `cancel` and `deleteAll`
//! operations; `/C/admin/info` and `system/properties` (read, and written
//! whole by `update`).

use crate::domain::job::Job;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::Value;

use super::caller::Caller;
use super::jobs::JobResults;
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::{AdminError, CallerFields, Directory, Success};
use crate::domain::ids::JobId;
use crate::domain::job::{JobKind, JobStatus};
use crate::domain::properties::SystemProperties;
use crate::domain::receiver::parse_flag;
use crate::domain::time::TimeRange;
use crate::error::{Error, Result};
use crate::service::jobs::Jobs;
use crate::service::system::System;
use crate::service::Settings;
use crate::ui::{FieldKind, Form, Page};

/// The most jobs one answer lists.
const MAX_NUM: u32 = 10_000;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/info", get(info))
        .route("/admin/system", get(system))
        .route("/admin/system/properties", get(properties))
        .route("/admin/system/properties/update", post(update_properties))
        .route("/admin/system/jobs", get(list))
        .route("/admin/system/jobs/deleteAll", post(delete_all))
        .route("/admin/system/jobs/{id}", get(fetch))
        .route("/admin/system/jobs/{id}/cancel", post(cancel))
}

#[utoipa::path(get, path = "/admin/system", tag = "admin",
    summary = "The system directory",
    params(Format, Caller),
    responses(
        (status = 200, description = "Its resources",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn system(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    let c = settings.context.clone();
    let answer = Directory {
        resources: &["jobs", "properties"],
        ..Directory::default()
    };
    Reply::new(answer, async move {
        Ok(Page::new("System")
            .link("jobs", format!("/{c}/admin/system/jobs"))
            .link("properties", format!("/{c}/admin/system/properties")))
    })
}

/// What Esri's `info` says of the server and the caller.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Info {
    /// The ArcGIS Notebook Server version whose API hookbook speaks.
    full_version: String,
    #[serde(rename = "currentversion")]
    current_version: &'static str,
    /// hookbook's own version.
    #[serde(rename = "currentbuild")]
    current_build: &'static str,
    logged_in_user: String,
    /// `ADMINISTER` for an administrator, else `ACCESS`.
    logged_in_user_privilege: &'static str,
    /// Always empty: hookbook draws nothing with fonts.
    supported_fonts: Vec<String>,
}

#[utoipa::path(get, path = "/admin/info", tag = "admin",
    summary = "The server and the caller",
    params(Format, Caller),
    responses(
        (status = 200, description = "What the server is",
            content((Info = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn info(Caller(caller): Caller) -> Result<Reply> {
    let answer = Info {
        full_version: format!("{}.0", super::directory::API_VERSION),
        current_version: super::directory::API_VERSION,
        current_build: env!("CARGO_PKG_VERSION"),
        logged_in_user: caller.username.as_str().to_string(),
        logged_in_user_privilege: if caller.is_admin() {
            "ADMINISTER"
        } else {
            "ACCESS"
        },
        supported_fonts: Vec::new(),
    };
    Reply::new(answer, async move { Ok(Page::new("Server information")) })
}

#[utoipa::path(get, path = "/admin/system/properties", tag = "admin",
    summary = "The system properties",
    description = "Administrators and users with `notebooks:create`. What the last `update` wrote; until then the defaults the ArcGIS API for Python's `SystemManager.properties` knows (`webSocketSize`, `maxContainersPerNode`, `containersStartPort`, `containersStopPort`, `idleNotebookThreshold`, `containerCreatedThreshold`, `dockerConnectionHost`, `dockerConnectionPort`). hookbook runs no containers: it keeps the properties for the scripts that read and write them and acts on none.",
    params(Format, Caller),
    responses(
        (status = 200, description = "The properties",
            content((Object = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn properties(
    State(service): State<Arc<System>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let properties = service.properties(&caller).await?;
    let update = format!("/{}/admin/system/properties/update", settings.context);
    let text = properties.to_json();
    Reply::new(Value::Object(properties.values().clone()), async move {
        Ok(
            Page::new("System properties").form(
                Form::post("Replace the properties", update).field(
                    FieldKind::Textarea,
                    "properties",
                    "Every property (a JSON object)",
                    &text,
                ),
            ),
        )
    })
}

/// The form of `properties/update`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that `update_properties` reads.
struct PropertiesFields {
    /// A JSON object: every property (those left out are removed)
    properties: String,
}

#[utoipa::path(post, path = "/admin/system/properties/update", tag = "admin",
    summary = "Replace the system properties",
    description = "Administrators only. `properties`, a JSON object of at most 64 KiB, replaces every property (as Esri's update does).",
    params(Format, Caller),
    request_body(content = inline(PropertiesFields), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn update_properties(
    State(service): State<Arc<System>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let properties = SystemProperties::parse(
        params
            .non_empty("properties")
            .ok_or_else(|| Error::missing("properties"))?,
    )
    .map_err(Error::invalid("properties"))?;
    service.update_properties(&caller, &properties).await?;
    Reply::new(Success::DONE, async move {
        Ok(Page::new("System properties updated"))
    })
}

// The answers, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SystemJob {
    job_id: String,
    r#type: &'static str,
    username: String,
    #[schema(inline)]
    status: EsriState,
    #[schema(inline)]
    inputs: SystemInputs,
    start_time: i64,
    #[schema(required)]
    end_time: Option<i64>,
    results: JobResults,
    messages: Vec<String>,
    #[schema(inline)]
    custom_attributes: CustomAttributes,
}

impl SystemJob {
    /// The whole job, as Esri's job resource has it.
    fn new(settings: &Settings, job: &Job) -> Self {
        Self {
            job_id: job.id.to_string(),
            r#type: job.kind.as_str(),
            username: job.username.as_str().to_string(),
            status: job.status.into(),
            inputs: SystemInputs::from(job),
            start_time: job.start_time.unwrap_or(job.submitted).0,
            end_time: job.end_time.map(|t| t.0),
            results: JobResults::new(settings, job),
            messages: job.messages.clone(),
            custom_attributes: CustomAttributes {
                is_cancelled: job.status == JobStatus::Cancelled,
                attempts: job.attempts,
                receiver_id: job.receiver_id.map(|r| r.to_string()),
            },
        }
    }
}

/// Esri's status names: a running job is `PROCESSING`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum EsriState {
    Submitted,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

impl From<JobStatus> for EsriState {
    fn from(status: JobStatus) -> Self {
        match status {
            JobStatus::Submitted => EsriState::Submitted,
            JobStatus::Executing => EsriState::Processing,
            JobStatus::Completed => EsriState::Completed,
            JobStatus::Failed => EsriState::Failed,
            JobStatus::Cancelled => EsriState::Cancelled,
        }
    }
}

/// The notebook and its parameters (a JSON string); for an
/// `executeNotebook` job, also what it was asked with.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SystemInputs {
    item_id: String,
    notebook_parameters: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    update_portal_item: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    save_injected_parameters: Option<bool>,
    /// Null when the job was given no time limit of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    execution_timeout_in_minutes: Option<Option<i64>>,
}

impl From<&Job> for SystemInputs {
    fn from(job: &Job) -> Self {
        let notebook_parameters = match (job.kind, &job.inputs) {
            (JobKind::ExecuteNotebook, Some(inputs)) => {
                Value::Object(inputs.notebook_parameters.clone()).to_string()
            }
            _ => job.parameters.to_json(),
        };
        let given = job.inputs.as_ref();
        Self {
            item_id: job.item_id.as_str().to_string(),
            notebook_parameters,
            update_portal_item: given.map(|g| g.update_portal_item),
            save_injected_parameters: given.map(|g| g.save_injected_parameters),
            execution_timeout_in_minutes: given.map(|g| g.execution_timeout_in_minutes),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CustomAttributes {
    is_cancelled: bool,
    attempts: u32,
    #[schema(required)]
    receiver_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AsyncJobs {
    /// Entries; whole jobs (as `/admin/system/jobs/{id}` has them, which
    /// hold an entry's fields) with `detail=true`.
    #[schema(inline, value_type = Vec<AsyncJob>)]
    async_jobs: Vec<Listed>,
    /// How many jobs the caller may see in all (the list holds at most `num`).
    total: u64,
}

/// A job in the list: its id, start, kind and user.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AsyncJob {
    job_id: String,
    start_time: i64,
    r#type: &'static str,
    username: String,
}

impl From<&Job> for AsyncJob {
    fn from(job: &Job) -> Self {
        Self {
            job_id: job.id.to_string(),
            start_time: job.start_time.unwrap_or(job.submitted).0,
            r#type: job.kind.as_str(),
            username: job.username.as_str().to_string(),
        }
    }
}

/// A job of the list, abbreviated or whole.
#[derive(Serialize)]
#[serde(untagged)]
enum Listed {
    Entry(AsyncJob),
    Whole(SystemJob),
}

/// `detail=true` for whole jobs; `num` of them (100 by default), the most
/// recent first (`sortByDate` is accepted; the order is always by date).
#[utoipa::path(get, path = "/admin/system/jobs", tag = "admin",
    summary = "Jobs, as Esri's notebook server lists them",
    params(Format, Caller,
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
    let (jobs, total) = service
        .jobs(&caller, None, None, TimeRange::default(), 0, num)
        .await?;
    let async_jobs = jobs
        .iter()
        .map(|j| {
            if detail {
                Listed::Whole(SystemJob::new(&settings, j))
            } else {
                Listed::Entry(AsyncJob::from(j))
            }
        })
        .collect();
    let delete_all = format!("/{}/admin/system/jobs/deleteAll", settings.context);
    Reply::new(AsyncJobs { async_jobs, total }, async move {
        Ok(Page::new("Jobs").form(
            Form::post("Delete the finished jobs", delete_all)
                .confirm("Delete every finished system job?"),
        ))
    })
}

#[utoipa::path(get, path = "/admin/system/jobs/{id}", tag = "admin",
    summary = "A job, as Esri's notebook server describes one",
    params(Format, Caller, Id<JobId>),
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
    Reply::new(SystemJob::new(&settings, &job), async move {
        Ok(Page::new("Job"))
    })
}

/// Esri's `deleteAll`: finished jobs go, waiting and running ones stay.
#[utoipa::path(post, path = "/admin/system/jobs/deleteAll", tag = "admin",
    summary = "Delete finished jobs",
    description = "Deletes every job that is over (`COMPLETED`, `FAILED`, which includes runs that timed out, and `CANCELLED`) with its executed notebook and its stored event (unless another job, a replay, still refers to it); jobs `SUBMITTED` or running stay. Administrators delete everyone's jobs; other users with `notebooks:create` their own.",
    params(Format, Caller),
    request_body(content = inline(Option<CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn delete_all(State(service): State<Arc<Jobs>>, Caller(caller): Caller) -> Result<Reply> {
    service.delete_finished_jobs(&caller).await?;
    Reply::new(Success::DONE, async move {
        Ok(Page::new("Finished jobs deleted"))
    })
}

#[utoipa::path(post, path = "/admin/system/jobs/{id}/cancel", tag = "admin",
    summary = "Cancel a job",
    params(Format, Caller, Id<JobId>),
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
    Reply::new(Success::DONE, async move { Ok(Page::new("Job cancelled")) })
}
