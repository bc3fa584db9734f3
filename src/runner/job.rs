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
use super::kernel::Kernel;
use super::pools::{Hold, Pools, RuntimeEnv};
use super::Runner;
use crate::domain::ids::EventId;
use crate::domain::job::JobStatus;
use crate::domain::retry::Failure;
use crate::domain::runtime::{RuntimeState, DEFAULT_RUNTIME};
use crate::domain::time::Millis;
use crate::error::Error;
use crate::security::token::Token;
use crate::store::{JobEnd, JobRecord, StoreError};
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
    /// The receiver's api token for the site's external portal
    /// (`--portal-url`), which goes only into the run's `NB_AUTH_FILE`.
    portal_token: Option<String>,
}

/// How a run ended, as the job records it.
struct Outcome {
    status: JobStatus,
    message: String,
    notebook: Option<Vec<u8>>,
    /// What failed, when a retry policy may give the job another attempt
    /// (never for a run that could not start).
    failure: Option<Failure>,
    /// When the run's first cell was sent, if it was.
    first_cell: Option<Millis>,
}

impl Outcome {
    fn failed(message: String) -> Self {
        Outcome {
            status: JobStatus::Failed,
            message,
            notebook: None,
            failure: None,
            first_cell: None,
        }
    }
}

/// Runs one claimed job to its end and stores what happened.
pub async fn run_job(runner: &Runner, pools: &Pools, job: JobRecord) {
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
            (Some(Outcome::failed(e.to_string())), None)
        }
        Ok(mut p) => {
            let token = p.run_token.take();
            let outcome = match choose_runtime(runner, &job, &p.notebook).await {
                Ok(Choice::Here(env)) => {
                    let on = Run {
                        job: &job,
                        env: env.as_ref(),
                        timeout,
                        cancel: &cancel,
                    };
                    Some(execute(runner, pools, p, on).await)
                }
                Ok(Choice::Later(why)) => wait_for_runtime(runner, &job, why).await,
                Err(why) => Some(Outcome::failed(why)),
            };
            (outcome, token)
        }
    };
    // The run's token ends with the run (its expiry is only a backstop).
    if let Some(token) = run_token {
        if let Err(e) = runner.rights.end_run_token(&token).await {
            tracing::warn!(job = %job.id, error = %chain(&e), "ending a run's token failed");
        }
    }
    if let Some(outcome) = outcome {
        record(runner, &job, outcome).await;
    }
}

/// How long a job waits for its runtime to be built on this node.
const RUNTIME_WAIT: Duration = Duration::from_secs(3600);
/// How often a job waiting for its runtime looks again.
const RUNTIME_LOOK_AGAIN: Duration = Duration::from_secs(2);

/// Where a run's kernel comes from.
enum Choice {
    /// This node's default environment (`None`) or a runtime's.
    Here(Option<RuntimeEnv>),
    /// Its runtime is being built; why, to say if the wait runs out.
    Later(String),
}

/// Puts the job back to wait for its runtime (claimed again in a few
/// seconds, the attempt not counted); `None` then. A job that has waited
/// `RUNTIME_WAIT` fails saying why.
async fn wait_for_runtime(runner: &Runner, job: &JobRecord, why: String) -> Option<Outcome> {
    let waited = Millis::now().0 - job.submitted.0;
    if waited > RUNTIME_WAIT.as_millis() as i64 {
        return Some(Outcome::failed(format!("{why} (the job waited an hour)")));
    }
    runner.runs.unregister(&job.id);
    let due = Millis(Millis::now().0 + RUNTIME_LOOK_AGAIN.as_millis() as i64);
    let node = &runner.settings.node;
    if let Err(e) = runner.store.requeue_job(node, &job.id, Some(due)).await {
        tracing::warn!(job = %job.id, error = %chain(&e), "putting a job back to wait for its runtime failed");
    }
    None
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
    // A token for an external portal cannot call hookbook: the run gets
    // its own for that, and the portal's only in its NB_AUTH_FILE.
    let portal_token = api_token
        .as_ref()
        .filter(|_| runner.settings.portal_url.is_some())
        .cloned();
    let (token, run_token) = match api_token.filter(|_| portal_token.is_none()) {
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
    env.insert("HOOKBOOK_JOB_ID".into(), Value::String(job.id.to_string()));
    env.insert(
        "HOOKBOOK_ATTEMPT".into(),
        Value::String(job.attempts.to_string()),
    );
    Ok(Prepared {
        notebook,
        parameters,
        env,
        run_token,
        portal_token,
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

/// What a run asked for: a runtime by id (`executeNotebook`'s
/// `notebookRuntimeId`) or by name (the notebook's `esriNotebookRuntime`,
/// after the site's aliases).
enum Asked {
    Id(String),
    Name(String),
}

/// The runtime the job asks for (`executeNotebook`'s `notebookRuntimeId`,
/// else the one its notebook names in `esriNotebookRuntime`, after the
/// site's aliases; none, or `Default`: the default environment), or
/// `Later` while it is being built here; why the run cannot start when the
/// site has no such runtime or its build failed.
async fn choose_runtime(
    runner: &Runner,
    job: &JobRecord,
    notebook: &Value,
) -> Result<Choice, String> {
    let by_id = job
        .inputs
        .as_ref()
        .and_then(|i| i.notebook_runtime_id.clone());
    let asked = match (by_id, crate::domain::runtime::asked_by(notebook)) {
        (Some(id), _) => Asked::Id(id),
        (None, None) => return Ok(Choice::Here(None)),
        (None, Some((name, _))) => {
            let aliases = &runner.settings.runtime_aliases;
            Asked::Name(crate::domain::runtime::resolve_alias(aliases, &name).to_string())
        }
    };
    if matches!(&asked, Asked::Name(n) if n.eq_ignore_ascii_case(DEFAULT_RUNTIME)) {
        return Ok(Choice::Here(None));
    }
    let runtimes = runner.store.runtimes().await.map_err(|e| {
        tracing::error!(error = %chain(&e), "reading the runtimes failed");
        "The runtimes could not be read; the server log has the details.".to_string()
    })?;
    let found = match &asked {
        Asked::Id(id) => runtimes.iter().find(|r| r.id.as_str() == id).ok_or_else(|| {
            format!("The runtime '{id}' that executeNotebook named (notebookRuntimeId) no longer exists.")
        }),
        Asked::Name(name) => runtimes.iter().find(|r| r.name.matches(name)).ok_or_else(|| {
            format!(
                "This site has no runtime named '{name}' (the notebook's esriNotebookRuntime); \
                 register one with that name, map the name to one with --runtime-alias, or \
                 remove the name from the notebook to run it in the default environment."
            )
        }),
    };
    let r = found?;
    let Some(builder) = &runner.builder else {
        return Err("This node builds no runtimes.".into());
    };
    match (builder.serving(r), r.state) {
        (Some(env), _) => Ok(Choice::Here(Some(env))),
        (None, RuntimeState::Failed) => Err(format!(
            "The runtime '{}' failed to build: {}",
            r.name, r.message
        )),
        (None, _) => {
            // Built here at once, rather than at the builder's next round.
            runner.runs.builds.notify_one();
            Ok(Choice::Later(format!(
                "The runtime '{}' (version {}) was not built on this node in time",
                r.name, r.version
            )))
        }
    }
}

/// One run as it is executed: its job, its runtime (none: the default
/// environment), time limit and how it is stopped.
struct Run<'a> {
    job: &'a JobRecord,
    env: Option<&'a RuntimeEnv>,
    timeout: Duration,
    cancel: &'a CancellationToken,
}

/// Runs the prepared notebook on a kernel from its environment's pool.
async fn execute(runner: &Runner, pools: &Pools, p: Prepared, run: Run<'_>) -> Outcome {
    let Run {
        job,
        env,
        timeout,
        cancel,
    } = run;
    let (mut kernel, hold) = match pools.checkout(env).await {
        Ok(checked_out) => checked_out,
        Err(e) => {
            return Outcome {
                failure: Some(Failure::Error),
                ..Outcome::failed(format!("No kernel could be started for the run: {e}"))
            }
        }
    };
    runner
        .metrics
        .run_started(Millis::now().0 - job.submitted.0);
    let deadline = Instant::now() + timeout;
    let limit = runner.settings.max_disk_bytes;
    let over_disk = Arc::new(AtomicBool::new(false));
    let disk_watch = watch_disk_of(&kernel, limit, cancel, &over_disk);
    let mut values = p.env;
    give_home(
        runner,
        &kernel,
        &mut values,
        p.portal_token.as_deref(),
        timeout,
    )
    .await;
    let mut first_cell = None;
    let (executed, end) = match kernel.provide_env(&values).await {
        Ok(()) => {
            // The injected parameters are the first cell, sent at once.
            first_cell = Some(Millis::now());
            run_notebook(&mut kernel, p.notebook, &p.parameters, deadline, cancel).await
        }
        Err(e) => (
            Value::Null,
            RunEnd::KernelLost(format!("the run's environment could not be written: {e}")),
        ),
    };
    if let Some(watch) = disk_watch {
        watch.abort();
    }
    let memory = pools.memory_limit(env).filter(|_| kernel.out_of_memory());
    let end = what_stopped(end, env, memory, over_disk.load(Ordering::SeqCst), limit);
    // A run stopped from outside (cancel, disk) has its kernel killed
    // rather than asked to stop.
    let clean = matches!(end, RunEnd::Completed | RunEnd::Failed(_)) && !cancel.is_cancelled();
    let_go(kernel, hold, clean).await;
    let (status, message, failure) = conclude(end, timeout);
    Outcome {
        status,
        message,
        failure,
        first_cell,
        notebook: (!executed.is_null())
            .then(|| serde_json::to_vec_pretty(&executed).ok())
            .flatten(),
    }
}

/// Ends the run's kernel and lets go of its pool. Its outputs are in, and
/// nothing of it outlives the run (its directory goes with it), so it is
/// killed rather than asked to stop: Python's orderly exit would only take
/// CPU from the runs that go on. After a `clean` end this happens in the
/// background; else the run waits until the kernel is gone.
async fn let_go(mut kernel: Kernel, hold: Hold, clean: bool) {
    if clean {
        tokio::spawn(async move {
            kernel.kill().await;
            drop(hold);
        });
    } else {
        kernel.kill().await;
        drop(hold);
    }
}

/// Watches the kernel's working directory against `limit` bytes (none
/// when 0), setting `over` once it is past.
fn watch_disk_of(
    kernel: &Kernel,
    limit: u64,
    cancel: &CancellationToken,
    over: &Arc<AtomicBool>,
) -> Option<tokio::task::JoinHandle<()>> {
    (limit > 0).then(|| {
        let (dir, stop, over) = (kernel.work_dir(), cancel.clone(), over.clone());
        tokio::spawn(watch_disk(dir, limit, stop, over))
    })
}

/// Gives the run its `NB_AUTH_FILE` for `GIS("home")`: the site's
/// external portal with the receiver's token for it, when there are both;
/// else the site itself (when its public URL is HTTPS) with the run's.
async fn give_home(
    runner: &Runner,
    kernel: &Kernel,
    env: &mut Map<String, Value>,
    portal_token: Option<&str>,
    timeout: Duration,
) {
    let own = env
        .get("HOOKBOOK_TOKEN")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (portal, token) = match (&runner.settings.portal_url, portal_token) {
        (Some(portal), Some(token)) => (portal.as_str(), token),
        _ => (runner.settings.hookbook_url.as_str(), own),
    };
    let expires = Millis::now().plus(timeout + RUN_TOKEN_SPARE);
    let Some(file) = super::home::auth_file(portal, token, expires) else {
        return;
    };
    match kernel.provide_file(super::home::FILE, &file).await {
        Ok(path) => {
            env.insert(
                "NB_AUTH_FILE".into(),
                Value::String(path.display().to_string()),
            );
        }
        Err(e) => tracing::warn!("a run's NB_AUTH_FILE could not be written: {e}"),
    }
}

/// How the run ended, said by what stopped it: its disk budget (`over_disk`
/// of `limit` bytes) or its memory limit (`past_memory`, when the kernel
/// killed a process of the run for it), else as it ended.
fn what_stopped(
    end: RunEnd,
    env: Option<&RuntimeEnv>,
    past_memory: Option<u64>,
    over_disk: bool,
    limit: u64,
) -> RunEnd {
    let own = env.and_then(|e| e.limits.max_memory).is_some();
    if over_disk {
        RunEnd::Failed(format!(
            "The run wrote more than {} MB to its working directory and was stopped.",
            limit >> 20
        ))
    } else if let Some(memory) = past_memory {
        let whose = if own {
            "its runtime allows (maxMemory"
        } else {
            "this site allows a run (--max-run-memory-mb"
        };
        RunEnd::Failed(format!(
            "The run used more memory than {whose}, {} MB) and was stopped.",
            memory >> 20
        ))
    } else {
        end
    }
}

/// The job's status and message for how its run ended, and what failed.
fn conclude(end: RunEnd, timeout: Duration) -> (JobStatus, String, Option<Failure>) {
    match end {
        RunEnd::Completed => (
            JobStatus::Completed,
            "The notebook ran to its end.".to_string(),
            None,
        ),
        RunEnd::Failed(e) => (JobStatus::Failed, e, Some(Failure::Error)),
        RunEnd::TimedOut => (
            JobStatus::Failed,
            format!(
                "The run timed out after {} seconds and was stopped.",
                timeout.as_secs()
            ),
            Some(Failure::Timeout),
        ),
        RunEnd::Cancelled => (
            JobStatus::Cancelled,
            "The job was cancelled.".to_string(),
            None,
        ),
        RunEnd::KernelLost(e) => (
            JobStatus::Failed,
            format!("The kernel was lost: {e}"),
            Some(Failure::Error),
        ),
    }
}

/// Stores the outcome, or puts the job back in the queue when its run was
/// stopped because the lease was lost or the node is stopping.
async fn record(runner: &Runner, job: &JobRecord, outcome: Outcome) {
    let node = &runner.settings.node;
    let lost = runner.runs.unregister(&job.id);
    if outcome.status == JobStatus::Cancelled && (lost || runner.runs.is_stopping()) {
        if let Err(e) = runner.store.requeue_job(node, &job.id, None).await {
            tracing::warn!(job = %job.id, error = %chain(&e), "putting a job back in the queue failed");
        }
        return;
    }
    if let Some(failure) = outcome.failure {
        if retry(runner, job, failure, &outcome).await {
            return;
        }
    }
    finish(runner, job, outcome).await;
}

/// The attempt a claimed job is on, and the most its policy gave it.
fn attempt_of(job: &JobRecord) -> (u32, u32) {
    let made = u32::try_from(job.attempts).unwrap_or(u32::MAX);
    let max = job
        .max_attempts
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(1);
    (made, max)
}

/// Puts a failed attempt back in the queue when the job's retry policy
/// gives it another, and wakes this node's worker when it is due; false
/// when the attempt was the job's last.
async fn retry(runner: &Runner, job: &JobRecord, failure: Failure, outcome: &Outcome) -> bool {
    let (made, max) = attempt_of(job);
    let policy = match runner
        .store
        .effective_retry_policy(job.receiver_id.as_ref())
        .await
    {
        Ok(scoped) => scoped.policy,
        Err(e) => {
            tracing::error!(job = %job.id, error = %chain(&e), "reading a job's retry policy failed; the attempt is its last");
            return false;
        }
    };
    let Some(wait) = policy.next_attempt(failure, made, max) else {
        return false;
    };
    let due = Millis::now().plus(wait);
    let mut messages = job.messages.clone();
    messages.push(format!(
        "Attempt {made} of {max} failed: {}. The next attempt is due at {}.",
        outcome.message.trim_end_matches('.'),
        due.utc()
    ));
    let node = &runner.settings.node;
    let notebook = outcome.notebook.as_deref();
    match runner
        .store
        .retry_job(node, &job.id, due, &messages, notebook)
        .await
    {
        Ok(true) => {
            runner.metrics.run_retried(failure);
            let wake = runner.runs.wake.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                wake.notify_one();
            });
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(job = %job.id, error = %chain(&e), "putting a failed attempt back in the queue failed")
        }
    }
    true
}

/// Stores the job's end: its messages (earlier attempts' first, and which
/// attempt this was when it was not the first) and its executed notebook;
/// updates the item when `executeNotebook` asked.
async fn finish(runner: &Runner, job: &JobRecord, outcome: Outcome) {
    let node = &runner.settings.node;
    let mut messages = job.messages.clone();
    let (made, max) = attempt_of(job);
    messages.push(if made > 1 {
        format!("Attempt {made} of {max}: {}", outcome.message)
    } else {
        outcome.message
    });
    let notebook = outcome.notebook.as_deref();
    match runner
        .store
        .finish_job(
            node,
            &job.id,
            &JobEnd {
                status: outcome.status,
                end: Millis::now(),
                messages: &messages,
                notebook,
                first_cell: outcome.first_cell,
            },
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
