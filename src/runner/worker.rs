//! The worker: takes `SUBMITTED` jobs from the store (an atomic claim, so
//! no job runs twice), runs each on a kernel from the pool within its time
//! limit, and stores the executed notebook and the outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use super::execute::{run_notebook, RunEnd};
use super::pool::Pool;
use crate::domain::time::Millis;
use crate::service::App;
use crate::store::{JobRecord, Lease};

/// How often the queue is looked at when nothing wakes the worker.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// A run on this node: how to stop it, and since when it is held.
struct Running {
    stop: CancellationToken,
    since: Instant,
    /// Its lease is lost: another node may take it over, so it is put back
    /// in the queue rather than finished.
    lost: bool,
}

/// The runs of this node: what wakes the worker, and how to stop a run.
#[derive(Default)]
pub struct Runs {
    pub wake: Arc<Notify>,
    running: Mutex<HashMap<uuid::Uuid, Running>>,
    stopping: std::sync::atomic::AtomicBool,
}

impl Runs {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<uuid::Uuid, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops a run on this node, if it is running here.
    pub fn cancel(&self, job: &uuid::Uuid) {
        if let Some(run) = self.running().get(job) {
            run.stop.cancel();
        }
    }

    fn register(&self, job: uuid::Uuid) -> CancellationToken {
        let stop = CancellationToken::new();
        self.running().insert(
            job,
            Running {
                stop: stop.clone(),
                since: Instant::now(),
                lost: false,
            },
        );
        stop
    }

    /// Forgets a run; true when its lease was lost.
    fn unregister(&self, job: &uuid::Uuid) -> bool {
        self.running().remove(job).is_some_and(|r| r.lost)
    }

    /// After a renewal that began at `asked` and returned `held`: runs
    /// started before it that the database no longer gives this node were
    /// cancelled elsewhere or taken over, and stop.
    fn keep_only(&self, held: &[uuid::Uuid], asked: Instant) {
        for (id, run) in self.running().iter() {
            if run.since < asked && !held.contains(id) {
                run.stop.cancel();
            }
        }
    }

    /// Renewals failed for as long as a lease lasts: every run stops and
    /// goes back to the queue, since another node may take it over.
    fn lose_all(&self) {
        for run in self.running().values_mut() {
            run.lost = true;
            run.stop.cancel();
        }
    }

    fn stop_all(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for run in self.running().values() {
            run.stop.cancel();
        }
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The lease a claim made now takes.
fn lease(app: &App) -> Lease {
    let millis = i64::try_from(app.run_settings.lease.as_millis()).unwrap_or(i64::MAX);
    Lease {
        node: app.run_settings.node,
        until: Millis(Millis::now().0.saturating_add(millis)),
    }
}

/// Renews the leases of this node's runs every third of the lease, until
/// `stop`. Runs the database no longer gives this node stop; when renewals
/// fail until the lease may have run out, all runs stop.
async fn keep_leases(app: Arc<App>, stop: CancellationToken) {
    let every = app.run_settings.lease / 3;
    let mut held_until = Instant::now() + app.run_settings.lease;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let asked = Instant::now();
        match app.store.renew_leases(&lease(&app)).await {
            Ok(held) => {
                held_until = asked + app.run_settings.lease;
                app.runs.keep_only(&held, asked);
            }
            Err(e) => {
                tracing::warn!("renewing the leases of running jobs failed: {e}");
                if Instant::now() + every >= held_until {
                    tracing::error!("the leases of running jobs may have expired; stopping them");
                    app.runs.lose_all();
                }
            }
        }
    }
}

/// What one step of the worker did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Ran(uuid::Uuid),
    Empty,
}

pub struct Worker {
    app: Arc<App>,
    pool: Arc<Pool>,
    permits: Arc<Semaphore>,
}

impl Worker {
    pub fn new(app: Arc<App>, pool: Arc<Pool>, max_concurrent: usize) -> Self {
        Self {
            app,
            pool,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// Claims one job and runs it to its end (for tests and tools).
    pub async fn run_once(&self) -> anyhow::Result<Step> {
        match self
            .app
            .store
            .claim_job(
                Millis::now(),
                &lease(&self.app),
                self.app.run_settings.per_receiver,
            )
            .await?
        {
            Some(job) => {
                let id = job.id;
                run_job(&self.app, &self.pool, job).await;
                Ok(Step::Ran(id))
            }
            None => Ok(Step::Empty),
        }
    }

    /// Runs jobs until `shutdown`; then gives running notebooks the stop
    /// grace period and puts the rest back in the queue.
    pub async fn run(self, shutdown: CancellationToken) {
        let leases = CancellationToken::new();
        tokio::spawn(keep_leases(self.app.clone(), leases.clone()));
        let _stop_leases = leases.drop_guard();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let permit = tokio::select! {
                p = self.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.cancelled() => break,
            };
            let claimed = self
                .app
                .store
                .claim_job(
                    Millis::now(),
                    &lease(&self.app),
                    self.app.run_settings.per_receiver,
                )
                .await;
            match claimed {
                Ok(Some(job)) => {
                    let (app, pool) = (self.app.clone(), self.pool.clone());
                    tasks.spawn(async move {
                        run_job(&app, &pool, job).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = self.app.runs.wake.notified() => {}
                        _ = tokio::time::sleep(POLL_EVERY) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!("claiming a job failed: {e}");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
            while tasks.try_join_next().is_some() {}
        }
        if !tasks.is_empty() {
            let grace = self.app.run_settings.stop_grace;
            tracing::info!(
                "waiting up to {grace:?} for {} running notebooks",
                tasks.len()
            );
            let drained =
                tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
                    .await;
            if drained.is_err() {
                self.app.runs.stop_all();
                while tasks.join_next().await.is_some() {}
            }
        }
    }
}

/// How often a run's working directory is measured.
const DISK_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Measures `dir` until the run ends; past `limit` bytes, marks `over` and
/// stops the run.
async fn watch_disk(
    dir: std::path::PathBuf,
    limit: u64,
    stop: CancellationToken,
    over: Arc<std::sync::atomic::AtomicBool>,
) {
    loop {
        tokio::time::sleep(DISK_CHECK_EVERY).await;
        let measured = dir.clone();
        let used = tokio::task::spawn_blocking(move || disk_usage(&measured))
            .await
            .unwrap_or(0);
        if used > limit {
            over.store(true, std::sync::atomic::Ordering::SeqCst);
            stop.cancel();
            return;
        }
    }
}

/// Bytes of the regular files under `dir` (not following links).
fn disk_usage(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => pending.push(entry.path()),
                Ok(m) if m.is_file() => total += m.len(),
                _ => {}
            }
        }
    }
    total
}

/// Everything a run needs before it can start, or why it cannot.
struct Prepared {
    notebook: Value,
    parameters: Map<String, Value>,
    env: Map<String, Value>,
    /// The token issued for this run, ended when the run ends.
    run_token: Option<crate::security::token::Token>,
}

async fn prepare(app: &App, job: &JobRecord, timeout: Duration) -> Result<Prepared, String> {
    let internal = |e: crate::store::StoreError| format!("the run could not be prepared: {e}");
    let data = app
        .store
        .item_data(&job.item_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| format!("The notebook item '{}' no longer exists.", job.item_id))?;
    let notebook: Value = serde_json::from_slice(&data)
        .map_err(|e| format!("The notebook item is not valid JSON: {e}"))?;
    let mut parameters: Map<String, Value> =
        serde_json::from_str(&job.parameters).unwrap_or_default();
    // The run acts as the notebook's owner, and not at all when a
    // revocation came after the job was submitted.
    let owner = app
        .run_user(job)
        .await
        .map_err(|e| format!("the run could not be prepared: {e}"))??;
    let mut api_token = None;
    if let Some(event_id) = &job.event_id {
        let event = app
            .store
            .event(event_id)
            .await
            .map_err(internal)?
            .ok_or("The webhook event of this job is gone.")?;
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
        if let Some(receiver) = &job.receiver_id {
            if let Ok(Some(r)) = app.event_receiver(&receiver.to_string()).await {
                if let Some(why) = app
                    .run_blocker(&r)
                    .await
                    .map_err(|e| format!("the run could not be prepared: {e}"))?
                {
                    return Err(why);
                }
                api_token = r.api_token.as_ref().map(|t| t.expose().clone());
            }
        }
    }
    let (token, run_token) = match api_token {
        Some(t) => (t, None),
        None => {
            let issued = app
                .issue_run_token(&owner, timeout + Duration::from_secs(600))
                .await
                .map_err(|e| format!("no token could be issued for the run: {e}"))?;
            (issued.expose().to_string(), Some(issued))
        }
    };
    let s = &app.settings;
    let mut env = Map::new();
    env.insert(
        "HOOKBOOK_URL".into(),
        Value::String(format!("{}/{}", s.public_url, s.context)),
    );
    env.insert("HOOKBOOK_TOKEN".into(), Value::String(token));
    Ok(Prepared {
        notebook,
        parameters,
        env,
        run_token,
    })
}

/// Runs one claimed job to its end and stores what happened.
pub async fn run_job(app: &App, pool: &Pool, job: JobRecord) {
    let cancel = app.runs.register(job.id);
    let minutes = job.timeout_minutes.filter(|m| *m > 0).map(|m| m as u64);
    let timeout = minutes.map_or(app.run_settings.default_timeout, |m| {
        Duration::from_secs(m * 60)
    });
    let (prepared, run_token) = match prepare(app, &job, timeout).await {
        Ok(mut p) => {
            let token = p.run_token.take();
            (Ok(p), token)
        }
        Err(e) => (Err(e), None),
    };
    let (status, messages, notebook) = match prepared {
        Err(message) => ("FAILED", vec![message], None),
        Ok(p) => match pool.checkout().await {
            Err(e) => (
                "FAILED",
                vec![format!("No kernel could be started for the run: {e}")],
                None,
            ),
            Ok(mut kernel) => {
                app.metrics.run_started(Millis::now().0 - job.submitted.0);
                let deadline = Instant::now() + timeout;
                let over_disk = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let disk_watch = (app.run_settings.max_disk_bytes > 0).then(|| {
                    tokio::spawn(watch_disk(
                        kernel.work_dir(),
                        app.run_settings.max_disk_bytes,
                        cancel.clone(),
                        over_disk.clone(),
                    ))
                });
                let (executed, end) = match kernel.provide_env(&p.env) {
                    Ok(()) => {
                        run_notebook(&mut kernel, p.notebook, &p.parameters, deadline, &cancel)
                            .await
                    }
                    Err(e) => (
                        Value::Null,
                        RunEnd::KernelLost(format!(
                            "the run's environment could not be written: {e}"
                        )),
                    ),
                };
                if let Some(watch) = disk_watch {
                    watch.abort();
                }
                let end = if over_disk.load(std::sync::atomic::Ordering::SeqCst) {
                    RunEnd::Failed(format!(
                        "The run wrote more than {} MB to its working directory and was stopped.",
                        app.run_settings.max_disk_bytes >> 20
                    ))
                } else {
                    end
                };
                // A run stopped from outside (cancel, disk) has its kernel
                // killed rather than asked to stop.
                match end {
                    RunEnd::Completed | RunEnd::Failed(_) if !cancel.is_cancelled() => {
                        tokio::spawn(kernel.shutdown());
                    }
                    _ => kernel.kill().await,
                }
                let bytes = (!executed.is_null())
                    .then(|| serde_json::to_vec_pretty(&executed).ok())
                    .flatten();
                let (status, message) = match end {
                    RunEnd::Completed => ("COMPLETED", "The notebook ran to its end.".to_string()),
                    RunEnd::Failed(e) => ("FAILED", e),
                    RunEnd::TimedOut => (
                        "FAILED",
                        format!(
                            "The run timed out after {} seconds and was stopped.",
                            timeout.as_secs()
                        ),
                    ),
                    RunEnd::Cancelled => ("CANCELLED", "The job was cancelled.".to_string()),
                    RunEnd::KernelLost(e) => ("FAILED", format!("The kernel was lost: {e}")),
                };
                (status, vec![message], bytes)
            }
        },
    };
    // The run's token ends with the run (its expiry is only a backstop
    // for a server that dies first).
    if let Some(token) = run_token {
        if let Err(e) = app.end_run_token(&token).await {
            tracing::warn!("ending the token of job {}'s run failed: {e}", job.id);
        }
    }
    let lost = app.runs.unregister(&job.id);
    if status == "CANCELLED" && (lost || app.runs.is_stopping()) {
        let node = &app.run_settings.node;
        if let Err(e) = app.store.requeue_job(node, &job.id).await {
            tracing::warn!("putting job {} back in the queue failed: {e}", job.id);
        }
        return;
    }
    match app
        .store
        .finish_job(
            &app.run_settings.node,
            &job.id,
            status,
            Millis::now(),
            &messages,
            notebook.as_deref(),
        )
        .await
    {
        Ok(true) => app.metrics.run_finished(status),
        Ok(false) => {}
        Err(e) => tracing::error!("storing the result of job {} failed: {e}", job.id),
    }
    let update_item = serde_json::from_str::<Value>(&job.inputs)
        .ok()
        .and_then(|v| v.get("updatePortalItem").and_then(Value::as_bool))
        .unwrap_or(false);
    if update_item && status == "COMPLETED" {
        if let Some(bytes) = &notebook {
            if let Err(e) = app
                .store
                .update_item(&job.item_id, None, Some(bytes), Millis::now())
                .await
            {
                tracing::warn!(
                    "updating item {} with the executed notebook failed: {e}",
                    job.item_id
                );
            }
        }
    }
}
