//! One claimed job, in named steps: prepare (notebook, parameters, event,
//! whom the run acts as and its token), choose its environment
//! (`choice`), execute on a kernel within the time and disk limits, then
//! record the outcome (`record`).

use hookbook_core::domain::event::Event;

use hookbook_core::domain::job::Job;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::choice::{choose_runtime, wait_for_runtime, Choice};
use super::disk::watch_disk;
use super::execute::{RunBounds, RunEnd};
use super::executor::{Executor, RunKernel};
use super::live::Progress;
use super::outputs::OutputBudget;
use super::pools::RuntimeEnv;
use super::record::{record, Outcome};
use super::rights::RightsError;
use super::Runner;
use hookbook_core::domain::job::JobStatus;
use hookbook_core::domain::retry::Failure;
use hookbook_core::domain::time::Millis;
use hookbook_core::report::chain;
use hookbook_core::security::token::Token;
use hookbook_store::StoreError;

/// How long a run's own token outlives its time limit, as a backstop for a
/// server that dies before ending it.
const RUN_TOKEN_SPARE: Duration = Duration::from_secs(600);

/// Why a claimed job could not start; its text is the job's message.
#[derive(Debug, thiserror::Error)]
enum NotStarted {
    /// A rule says no (item gone, tokens revoked, receiver blocked).
    #[error("{0}")]
    Refused(String),
    #[error("The notebook item is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the run could not be prepared")]
    Failure(#[source] RightsError),
    #[error("no token could be issued for the run")]
    NoToken(#[source] RightsError),
}

impl NotStarted {
    /// The job's message: what went wrong and its first cause, which says
    /// what (the JSON's line and column, or "storage failed") without the
    /// internals the log has.
    fn message(&self) -> String {
        match self {
            NotStarted::Refused(why) => why.clone(),
            NotStarted::NotJson(e) => format!("{self}: {e}"),
            NotStarted::Failure(e) | NotStarted::NoToken(e) => format!("{self}: {e}"),
        }
    }
}

impl From<RightsError> for NotStarted {
    fn from(e: RightsError) -> Self {
        NotStarted::Failure(e)
    }
}

impl From<StoreError> for NotStarted {
    fn from(e: StoreError) -> Self {
        NotStarted::Failure(Box::new(e))
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

/// Runs one claimed job to its end and stores what happened, every line
/// it logs in the span of the job, its attempt and this node.
pub async fn run_job(runner: &Runner, kernels: &dyn Executor, job: Job) {
    let span = tracing::info_span!(
        "job",
        job = %job.id,
        attempt = job.attempts,
        node = %runner.settings.node,
    );
    let id = job.id;
    runner.runs.live.changed();
    run(runner, kernels, job).instrument(span.clone()).await;
    // Its outcome is stored: the pages that watch it read that now.
    runner.runs.live.ended(&id);
    if runner.settings.share_progress {
        if let Err(e) = runner.queue.clear_progress(&id).await {
            let _span = span.enter();
            tracing::warn!(error = %chain(&e), "forgetting a run's progress failed");
        }
    }
}

/// Where a run reports how far it is: this node's pages, and on a site of
/// several nodes the store too (by the task returned, to abort at its end).
fn progress_of(runner: &Runner, job: &Job) -> (Progress, Option<tokio::task::JoinHandle<()>>) {
    let progress = Progress::new(runner.runs.live.clone(), job.id);
    if !runner.settings.share_progress {
        return (progress, None);
    }
    let task = tokio::spawn(share_progress(
        runner.queue.clone(),
        runner.runs.live.clone(),
        runner.settings.node,
        job.id,
    ));
    (progress.shared(), Some(task))
}

/// Every second, what the run has copied to [`Live`] since, written to the
/// store for pages on other nodes (until the run ends and this is aborted).
async fn share_progress(
    queue: Arc<dyn crate::queue::Queue>,
    live: Arc<crate::live::Live>,
    node: hookbook_core::domain::ids::NodeId,
    job: hookbook_core::domain::ids::JobId,
) {
    let mut written: Option<Arc<Value>> = None;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(now) = live.notebook(&job) else {
            continue;
        };
        if written.as_ref().is_some_and(|w| Arc::ptr_eq(w, &now)) {
            continue;
        }
        let bytes = serde_json::to_vec(&*now).unwrap_or_default();
        match queue
            .save_progress(&node, &job, &bytes, Millis::now())
            .await
        {
            Ok(true) => written = Some(now),
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %chain(&e), "keeping a run's progress failed"),
        }
    }
}

async fn run(runner: &Runner, kernels: &dyn Executor, job: Job) {
    let cancel = runner.runs.register(job.id);
    let minutes = job.timeout_minutes.filter(|m| *m > 0).map(|m| m as u64);
    let timeout = minutes.map_or(runner.settings.default_timeout, |m| {
        Duration::from_secs(m * 60)
    });
    let (outcome, run_token) = match prepare(runner, &job, timeout).await {
        Err(e) => {
            if !matches!(e, NotStarted::Refused(_)) {
                tracing::error!(error = %chain(&e), "a run could not start");
            }
            (Some(Outcome::failed(e.message())), None)
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
                    Some(execute(runner, kernels, p, on).await)
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
            tracing::warn!(error = %chain(e.as_ref()), "ending a run's token failed");
        }
    }
    if let Some(outcome) = outcome {
        record(runner, &job, outcome).await;
    }
}

/// Everything a run needs, or why it cannot start.
async fn prepare(runner: &Runner, job: &Job, timeout: Duration) -> Result<Prepared, NotStarted> {
    // The notebook, whom the run acts as and the event are read at once:
    // each read is a trip to a database thread, and a run waits for all.
    let event = async {
        match &job.event_id {
            Some(id) => runner.queue.event(id).await,
            None => Ok(None),
        }
    };
    let (data, owner, event) = tokio::join!(
        runner.queue.item_data(&job.item_id),
        runner.rights.run_user(job),
        event
    );
    let data = data?.ok_or_else(|| {
        NotStarted::Refused(format!(
            "The notebook item '{}' no longer exists.",
            job.item_id
        ))
    })?;
    let notebook: Value = serde_json::from_slice(&data).map_err(NotStarted::NotJson)?;
    let mut parameters: Map<String, Value> = job.parameters.values().clone();
    // The run acts as the notebook's owner, and not at all when a
    // revocation came after the job was submitted.
    let owner = owner?.map_err(NotStarted::Refused)?;
    let mut api_token = None;
    if job.event_id.is_some() {
        let event = event?
            .ok_or_else(|| NotStarted::Refused("The webhook event of this job is gone.".into()))?;
        add_event(&event, &mut parameters);
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
fn add_event(event: &Event, parameters: &mut Map<String, Value>) {
    let headers: Map<String, Value> = serde_json::from_str(&event.headers).unwrap_or_default();
    let is_form = headers
        .get("content-type")
        .and_then(Value::as_str)
        .is_some_and(hookbook_core::domain::event::is_form);
    parameters.insert(
        "webhookPayload".into(),
        hookbook_core::domain::event::webhook_payload(&event.body, event.signed, is_form),
    );
    parameters.insert("webhookHeaders".into(), Value::Object(headers));
}

/// One run as it is executed: its job, its runtime (none: the default
/// environment), time limit and how it is stopped.
struct Run<'a> {
    job: &'a Job,
    env: Option<&'a RuntimeEnv>,
    timeout: Duration,
    cancel: &'a CancellationToken,
}

/// Runs the prepared notebook on a kernel from its environment's pool.
async fn execute(runner: &Runner, kernels: &dyn Executor, p: Prepared, run: Run<'_>) -> Outcome {
    let kernel = match kernels.checkout(run.env).await {
        Ok(kernel) => kernel,
        Err(e) => {
            return Outcome {
                failure: Some(Failure::Error),
                ..Outcome::failed(format!(
                    "No kernel could be started for the run: {}",
                    chain(&e)
                ))
            }
        }
    };
    let span = tracing::info_span!("kernel", pid = kernel.pid());
    on_kernel(runner, kernels, p, run, kernel)
        .instrument(span)
        .await
}

/// The run on its kernel, every line it logs in the kernel's span.
async fn on_kernel(
    runner: &Runner,
    kernels: &dyn Executor,
    p: Prepared,
    run: Run<'_>,
    mut kernel: Box<dyn RunKernel>,
) -> Outcome {
    let Run {
        job,
        env,
        timeout,
        cancel,
    } = run;
    runner
        .metrics
        .run_started(Millis::now().0 - job.submitted.0);
    // On tokio's clock, which tests stop and move on.
    let deadline = (tokio::time::Instant::now() + timeout).into_std();
    let limit = runner.settings.max_disk_bytes;
    let over_disk = Arc::new(AtomicBool::new(false));
    let disk_watch = watch_disk_of(kernel.as_ref(), limit, cancel, &over_disk);
    let mut values = p.env;
    give_home(
        runner,
        kernel.as_ref(),
        &mut values,
        p.portal_token.as_deref(),
        timeout,
    )
    .await;
    let mut first_cell = None;
    let mut budget = OutputBudget::new(runner.settings.max_output_bytes);
    let (mut progress, sharing) = progress_of(runner, job);
    let (executed, end) = match kernel.provide_env(&values, &budget).await {
        Ok(()) => {
            // The injected parameters are the first cell, sent at once.
            first_cell = Some(Millis::now());
            let bounds = RunBounds {
                deadline,
                cancel,
                budget: &mut budget,
                progress: &mut progress,
            };
            kernel.run_notebook(p.notebook, &p.parameters, bounds).await
        }
        Err(e) => (
            Value::Null,
            RunEnd::KernelLost(format!(
                "the run's environment could not be written: {}",
                chain(&e)
            )),
        ),
    };
    for watcher in [disk_watch, sharing].into_iter().flatten() {
        watcher.abort();
    }
    let memory = kernels.memory_limit(env).filter(|_| kernel.out_of_memory());
    let end = what_stopped(end, env, memory, over_disk.load(Ordering::SeqCst), limit);
    // A run stopped from outside (cancel, disk) has its kernel killed
    // rather than asked to stop.
    let clean = matches!(end, RunEnd::Completed | RunEnd::Failed(_)) && !cancel.is_cancelled();
    let_go(kernel, clean).await;
    let (status, mut message, failure) = conclude(end, timeout);
    if budget.passed() {
        message.push_str(&format!(
            " Its outputs passed {} MB (--max-run-output-mb): what it printed or displayed after that was dropped.",
            budget.limit().unwrap_or(0) >> 20
        ));
    }
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
async fn let_go(kernel: Box<dyn RunKernel>, clean: bool) {
    if clean {
        tokio::spawn(kernel.kill());
    } else {
        kernel.kill().await;
    }
}

/// Watches the kernel's working directory against `limit` bytes (none
/// when 0), setting `over` once it is past.
fn watch_disk_of(
    kernel: &dyn RunKernel,
    limit: u64,
    cancel: &CancellationToken,
    over: &Arc<AtomicBool>,
) -> Option<tokio::task::JoinHandle<()>> {
    (limit > 0).then(|| {
        let (dir, stop, over) = (kernel.own_dir().to_path_buf(), cancel.clone(), over.clone());
        tokio::spawn(watch_disk(dir, limit, stop, over))
    })
}

/// Gives the run its `NB_AUTH_FILE` for `GIS("home")`: the site's
/// external portal with the receiver's token for it, when there are both;
/// else the site itself (when its public URL is HTTPS) with the run's.
async fn give_home(
    runner: &Runner,
    kernel: &dyn RunKernel,
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
            "The run wrote more than {} MB to disk (its working directory, /tmp and its kernel's files) and was stopped.",
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

#[cfg(test)]
mod tests {
    use super::*;
    use hookbook_core::report::repeated_cause;

    #[test]
    fn a_run_that_could_not_start_says_each_cause_once_and_why_in_its_message() {
        let not_json = serde_json::from_str::<Value>("{").unwrap_err();
        let store = || -> RightsError { Box::new(StoreError::Database("the disk is full".into())) };
        for e in [
            NotStarted::NotJson(not_json),
            NotStarted::Failure(store()),
            NotStarted::NoToken(store()),
        ] {
            assert_eq!(repeated_cause(&e), None, "{e}");
        }
        assert_eq!(
            NotStarted::Failure(store()).message(),
            "the run could not be prepared: database failure"
        );
        let not_json = serde_json::from_str::<Value>("{").unwrap_err();
        assert_eq!(
            NotStarted::NotJson(not_json).message(),
            "The notebook item is not valid JSON: EOF while parsing an object at line 1 column 1"
        );
    }
}
