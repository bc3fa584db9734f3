//! One claimed job, in named steps: prepare (notebook, parameters, event,
//! whom the run acts as and its token), execute on a kernel within the
//! time and disk limits, then record the outcome (or put the job back in
//! the queue when its lease was lost or the node is stopping).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::disk::watch_disk;
use super::execute::{run_notebook, RunEnd};
use super::pool::Pool;
use super::Runner;
use crate::domain::ids::EventId;
use crate::domain::job::JobStatus;
use crate::domain::time::Millis;
use crate::error::Error;
use crate::security::token::Token;
use crate::store::{JobRecord, StoreError};
use crate::telemetry::chain;

/// How long a run's own token outlives its time limit, as a backstop for a
/// server that dies before ending it.
const RUN_TOKEN_SPARE: Duration = Duration::from_secs(600);

/// Why a claimed job could not start; its text is the job's message.
#[derive(Debug, thiserror::Error)]
enum NotStarted {
    /// A rule says no (item gone, tokens revoked, receiver blocked).
    #[error("{0}")]
    Refused(String),
    #[error("The notebook item is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the run could not be prepared: {0}")]
    Failure(#[source] Error),
    #[error("no token could be issued for the run: {0}")]
    NoToken(#[source] Error),
}

impl From<Error> for NotStarted {
    fn from(e: Error) -> Self {
        NotStarted::Failure(e)
    }
}

impl From<StoreError> for NotStarted {
    fn from(e: StoreError) -> Self {
        NotStarted::Failure(e.into())
    }
}

/// Everything a run needs before it can start.
struct Prepared {
    notebook: Value,
    parameters: Map<String, Value>,
    env: Map<String, Value>,
    /// The token issued for this run, ended when the run ends.
    run_token: Option<Token>,
}

/// How a run ended, as the job records it.
struct Outcome {
    status: JobStatus,
    message: String,
    notebook: Option<Vec<u8>>,
}

impl Outcome {
    fn failed(message: String) -> Self {
        Outcome {
            status: JobStatus::Failed,
            message,
            notebook: None,
        }
    }
}

/// Runs one claimed job to its end and stores what happened.
pub async fn run_job(runner: &Runner, pool: &Pool, job: JobRecord) {
    let cancel = runner.runs.register(job.id);
    let minutes = job.timeout_minutes.filter(|m| *m > 0).map(|m| m as u64);
    let timeout = minutes.map_or(runner.settings.default_timeout, |m| {
        Duration::from_secs(m * 60)
    });
    let (outcome, run_token) = match prepare(runner, &job, timeout).await {
        Err(e) => {
            if !matches!(e, NotStarted::Refused(_)) {
                tracing::error!(job = %job.id, error = %chain(&e), "a run could not start");
            }
            (Outcome::failed(e.to_string()), None)
        }
        Ok(mut p) => {
            let token = p.run_token.take();
            (
                execute(runner, pool, &job, p, timeout, &cancel).await,
                token,
            )
        }
    };
    // The run's token ends with the run (its expiry is only a backstop).
    if let Some(token) = run_token {
        if let Err(e) = runner.rights.end_run_token(&token).await {
            tracing::warn!(job = %job.id, error = %chain(&e), "ending a run's token failed");
        }
    }
    record(runner, &job, outcome).await;
}

async fn prepare(
    runner: &Runner,
    job: &JobRecord,
    timeout: Duration,
) -> Result<Prepared, NotStarted> {
    let data = runner.store.item_data(&job.item_id).await?.ok_or_else(|| {
        NotStarted::Refused(format!(
            "The notebook item '{}' no longer exists.",
            job.item_id
        ))
    })?;
    let notebook: Value = serde_json::from_slice(&data).map_err(NotStarted::NotJson)?;
    let mut parameters: Map<String, Value> =
        serde_json::from_str(&job.parameters).unwrap_or_default();
    // The run acts as the notebook's owner, and not at all when a
    // revocation came after the job was submitted.
    let owner = runner
        .rights
        .run_user(job)
        .await?
        .map_err(NotStarted::Refused)?;
    let mut api_token = None;
    if let Some(event_id) = &job.event_id {
        add_event(runner, event_id, &mut parameters).await?;
        if let Some(receiver) = &job.receiver_id {
            api_token = runner
                .rights
                .receiver_token(receiver)
                .await?
                .map_err(NotStarted::Refused)?;
        }
    }
    let (token, run_token) = match api_token {
        Some(t) => (t, None),
        None => {
            let issued = runner
                .rights
                .issue_run_token(&owner, timeout + RUN_TOKEN_SPARE)
                .await
                .map_err(NotStarted::NoToken)?;
            (issued.expose().to_string(), Some(issued))
        }
    };
    let mut env = Map::new();
    env.insert(
        "HOOKBOOK_URL".into(),
        Value::String(runner.settings.hookbook_url.clone()),
    );
    env.insert("HOOKBOOK_TOKEN".into(), Value::String(token));
    Ok(Prepared {
        notebook,
        parameters,
        env,
        run_token,
    })
}

/// Adds the event's payload (exactly the signed bytes) and kept headers to
/// the run's parameters.
async fn add_event(
    runner: &Runner,
    event_id: &EventId,
    parameters: &mut Map<String, Value>,
) -> Result<(), NotStarted> {
    let event = runner
        .store
        .event(event_id)
        .await?
        .ok_or_else(|| NotStarted::Refused("The webhook event of this job is gone.".into()))?;
    let headers: Map<String, Value> = serde_json::from_str(&event.headers).unwrap_or_default();
    let is_form = headers
        .get("content-type")
        .and_then(Value::as_str)
        .is_some_and(crate::domain::event::is_form);
    parameters.insert(
        "webhookPayload".into(),
        crate::domain::event::webhook_payload(&event.body, event.signed, is_form),
    );
    parameters.insert("webhookHeaders".into(), Value::Object(headers));
    Ok(())
}

/// Runs the prepared notebook on a kernel from the pool.
async fn execute(
    runner: &Runner,
    pool: &Pool,
    job: &JobRecord,
    p: Prepared,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Outcome {
    let mut kernel = match pool.checkout().await {
        Ok(kernel) => kernel,
        Err(e) => return Outcome::failed(format!("No kernel could be started for the run: {e}")),
    };
    runner
        .metrics
        .run_started(Millis::now().0 - job.submitted.0);
    let deadline = Instant::now() + timeout;
    let limit = runner.settings.max_disk_bytes;
    let over_disk = Arc::new(AtomicBool::new(false));
    let disk_watch = (limit > 0).then(|| {
        let (dir, stop, over) = (kernel.work_dir(), cancel.clone(), over_disk.clone());
        tokio::spawn(watch_disk(dir, limit, stop, over))
    });
    let (executed, end) = match kernel.provide_env(&p.env).await {
        Ok(()) => run_notebook(&mut kernel, p.notebook, &p.parameters, deadline, cancel).await,
        Err(e) => (
            Value::Null,
            RunEnd::KernelLost(format!("the run's environment could not be written: {e}")),
        ),
    };
    if let Some(watch) = disk_watch {
        watch.abort();
    }
    let end = if over_disk.load(Ordering::SeqCst) {
        RunEnd::Failed(format!(
            "The run wrote more than {} MB to its working directory and was stopped.",
            limit >> 20
        ))
    } else {
        end
    };
    // A run stopped from outside (cancel, disk) has its kernel killed
    // rather than asked to stop.
    match end {
        RunEnd::Completed | RunEnd::Failed(_) if !cancel.is_cancelled() => {
            tokio::spawn(kernel.shutdown());
        }
        _ => kernel.kill().await,
    }
    let (status, message) = conclude(end, timeout);
    Outcome {
        status,
        message,
        notebook: (!executed.is_null())
            .then(|| serde_json::to_vec_pretty(&executed).ok())
            .flatten(),
    }
}

/// The job's status and message for how its run ended.
fn conclude(end: RunEnd, timeout: Duration) -> (JobStatus, String) {
    match end {
        RunEnd::Completed => (
            JobStatus::Completed,
            "The notebook ran to its end.".to_string(),
        ),
        RunEnd::Failed(e) => (JobStatus::Failed, e),
        RunEnd::TimedOut => (
            JobStatus::Failed,
            format!(
                "The run timed out after {} seconds and was stopped.",
                timeout.as_secs()
            ),
        ),
        RunEnd::Cancelled => (JobStatus::Cancelled, "The job was cancelled.".to_string()),
        RunEnd::KernelLost(e) => (JobStatus::Failed, format!("The kernel was lost: {e}")),
    }
}

/// Stores the outcome, or puts the job back in the queue when its run was
/// stopped because the lease was lost or the node is stopping.
async fn record(runner: &Runner, job: &JobRecord, outcome: Outcome) {
    let node = &runner.settings.node;
    let lost = runner.runs.unregister(&job.id);
    if outcome.status == JobStatus::Cancelled && (lost || runner.runs.is_stopping()) {
        if let Err(e) = runner.store.requeue_job(node, &job.id).await {
            tracing::warn!(job = %job.id, error = %chain(&e), "putting a job back in the queue failed");
        }
        return;
    }
    let messages = [outcome.message];
    let notebook = outcome.notebook.as_deref();
    match runner
        .store
        .finish_job(
            node,
            &job.id,
            outcome.status,
            Millis::now(),
            &messages,
            notebook,
        )
        .await
    {
        Ok(true) => runner.metrics.run_finished(outcome.status),
        Ok(false) => {}
        Err(e) => {
            tracing::error!(job = %job.id, error = %chain(&e), "storing a job's result failed")
        }
    }
    let update_item = job.inputs.as_ref().is_some_and(|i| i.update_portal_item);
    if let (true, JobStatus::Completed, Some(bytes)) = (update_item, outcome.status, notebook) {
        if let Err(e) = runner
            .store
            .update_item(&job.item_id, None, Some(bytes), Millis::now())
            .await
        {
            tracing::warn!(item = %job.item_id, error = %chain(&e), "updating an item with its executed notebook failed");
        }
    }
}
