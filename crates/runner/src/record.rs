//! The end of a run as the job keeps it: its outcome stored (messages,
//! executed notebook, first cell), another attempt queued when the job's
//! retry policy gives one, or the job put back in the queue when its run
//! was stopped by a lost lease or a stopping node.

use hookbook_core::domain::job::JobEnd;

use hookbook_core::domain::job::Job;
use hookbook_core::domain::job::JobStatus;
use hookbook_core::domain::retry::Failure;
use hookbook_core::domain::time::Millis;
use hookbook_core::report::chain;

use super::Runner;

/// How a run ended, as the job records it.
pub(super) struct Outcome {
    pub status: JobStatus,
    pub message: String,
    pub notebook: Option<Vec<u8>>,
    /// What failed, when a retry policy may give the job another attempt
    /// (never for a run that could not start).
    pub failure: Option<Failure>,
    /// When the run's first cell was sent, if it was.
    pub first_cell: Option<Millis>,
}

impl Outcome {
    pub fn failed(message: String) -> Self {
        Outcome {
            status: JobStatus::Failed,
            message,
            notebook: None,
            failure: None,
            first_cell: None,
        }
    }
}

/// Stores the outcome, or puts the job back in the queue when its run was
/// stopped because the lease was lost or the node is stopping.
pub(super) async fn record(runner: &Runner, job: &Job, outcome: Outcome) {
    let node = &runner.settings.node;
    let lost = runner.runs.unregister(&job.id);
    if outcome.status == JobStatus::Cancelled && (lost || runner.runs.is_stopping()) {
        if let Err(e) = runner.queue.requeue_job(node, &job.id, None).await {
            tracing::warn!(error = %chain(&e), "putting a job back in the queue failed");
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
fn attempt_of(job: &Job) -> (u32, u32) {
    (job.attempts, job.max_attempts.unwrap_or(1))
}

/// Puts a failed attempt back in the queue when the job's retry policy
/// gives it another, and wakes this node's worker when it is due; false
/// when the attempt was the job's last.
async fn retry(runner: &Runner, job: &Job, failure: Failure, outcome: &Outcome) -> bool {
    let (made, max) = attempt_of(job);
    let policy = match runner
        .queue
        .effective_retry_policy(job.receiver_id.as_ref())
        .await
    {
        Ok(scoped) => scoped.policy,
        Err(e) => {
            tracing::error!(error = %chain(&e), "reading a job's retry policy failed; the attempt is its last");
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
        .queue
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
            tracing::error!(error = %chain(&e), "putting a failed attempt back in the queue failed")
        }
    }
    true
}

/// Stores the job's end: its messages (earlier attempts' first, and which
/// attempt this was when it was not the first) and its executed notebook;
/// updates the item when `executeNotebook` asked (without the injected
/// cell unless `saveInjectedParameters`).
async fn finish(runner: &Runner, job: &Job, outcome: Outcome) {
    let node = &runner.settings.node;
    let mut messages = job.messages.clone();
    let (made, max) = attempt_of(job);
    messages.push(if made > 1 {
        format!("Attempt {made} of {max}: {}", outcome.message)
    } else {
        outcome.message
    });
    let notebook = outcome.notebook.as_deref();
    let item = saved_to_item(job, outcome.status, notebook);
    match runner
        .queue
        .finish_job(
            node,
            &job.id,
            &JobEnd {
                status: outcome.status,
                end: Millis::now(),
                messages: &messages,
                notebook,
                first_cell: outcome.first_cell,
                item: item.as_deref(),
            },
        )
        .await
    {
        Ok(true) => runner.metrics.run_finished(outcome.status),
        // Cancelled meanwhile: what ran before the cancel is kept.
        Ok(false) => {
            if let (JobStatus::Cancelled, Some(notebook)) = (outcome.status, notebook) {
                if let Err(e) = runner
                    .queue
                    .keep_cancelled_notebook(node, &job.id, notebook)
                    .await
                {
                    tracing::warn!(error = %chain(&e), "keeping a cancelled job's notebook failed");
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %chain(&e), "storing a job's result failed")
        }
    }
}

/// What a completed `executeNotebook` job that asked for `updatePortalItem`
/// writes into its item as it ends: the executed notebook, without the
/// injected cell unless `saveInjectedParameters`.
fn saved_to_item(job: &Job, status: JobStatus, notebook: Option<&[u8]>) -> Option<Vec<u8>> {
    let inputs = job.inputs.as_ref().filter(|i| i.update_portal_item)?;
    let bytes = notebook.filter(|_| status == JobStatus::Completed)?;
    if inputs.save_injected_parameters {
        return Some(bytes.to_vec());
    }
    Some(super::inject::without_injected(bytes).unwrap_or_else(|| bytes.to_vec()))
}
