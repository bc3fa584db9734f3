//! Jobs: listing, reading, cancelling, `executeNotebook`, replays, and the
//! token a run acts with.

use super::receivers::Receivers;
use super::{require_author, require_manager, Settings};
use crate::domain::ids::{BatchId, ItemId, JobId, ReceiverId};
use crate::domain::job::Job;
use crate::domain::job::{JobInputs, JobKind, JobStatus};
use crate::domain::receiver::Parameters;
use crate::domain::refusal::Refusal;
use crate::domain::runtime::RuntimeId;
use crate::domain::time::{Millis, TimeRange};
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::runner::runs::Runs;
use crate::store::{BulkReplay, BulkReplayed, JobFilter, NewJob, NewReplay};
use crate::store::{
    IntakeStore, ItemStore, JobStore, ProgressStore, ReceiverStore, RuntimeStore, Store,
};
use std::sync::Arc;

/// What `executeNotebook` asks for, parsed.
#[derive(Debug)]
pub struct ExecuteRequest {
    pub item_id: ItemId,
    pub parameters: Parameters,
    pub timeout_minutes: Option<i64>,
    pub save_injected_parameters: bool,
    pub update_portal_item: bool,
    /// `notebookRuntimeId`: the runtime to run in, whatever the notebook
    /// names.
    pub runtime: Option<RuntimeId>,
}

/// The runtime a job asks for, as Esri's job names it: by id from
/// `executeNotebook`'s `notebookRuntimeId`, else the one its notebook names
/// in `esriNotebookRuntime`, else the default environment. Read as the
/// runtimes and the item are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRuntime {
    /// Null for the default environment, or a runtime the site does not have.
    pub id: Option<String>,
    /// Null for a runtime id the site no longer has.
    pub name: Option<String>,
    /// The runtime's version, or what the notebook asks for.
    pub version: Option<String>,
}

/// The most jobs one replay of many makes.
pub const MAX_REPLAY: u32 = 10_000;
/// When to try again after the queue had no room (as intake says).
const QUEUE_RETRY_SECS: u64 = 5;

/// Which of a receiver's jobs a replay of many runs again: those ended in
/// one of `statuses` and submitted from `from` to `to`.
#[derive(Debug, Clone)]
pub struct ReplaySelection {
    pub statuses: Vec<JobStatus>,
    pub from: Millis,
    pub to: Millis,
}

/// What a replay of many did.
#[derive(Debug, Clone, Copy)]
pub struct Replayed {
    pub batch: BatchId,
    pub jobs: u64,
    /// Selected jobs that had been replayed before.
    pub already: u64,
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Job '{id}' does not exist."))
}

/// Jobs: reading them, cancelling, replaying and `executeNotebook`, within
/// the queue's limit; new jobs wake this node's worker.
pub struct Jobs {
    jobs: Arc<dyn JobStore>,
    progress: Arc<dyn ProgressStore>,
    items: Arc<dyn ItemStore>,
    receiver_records: Arc<dyn ReceiverStore>,
    log: Arc<dyn IntakeStore>,
    runtimes: Arc<dyn RuntimeStore>,
    receivers: Arc<Receivers>,
    runs: Arc<Runs>,
    /// Jobs waiting before new ones are refused (intake's limit, which
    /// `executeNotebook` and replays share).
    max_queue_depth: u64,
}

impl Jobs {
    pub fn new(
        store: &Arc<dyn Store>,
        receivers: Arc<Receivers>,
        runs: Arc<Runs>,
        settings: &Settings,
    ) -> Self {
        Self {
            jobs: store.clone(),
            progress: store.clone(),
            items: store.clone(),
            receiver_records: store.clone(),
            log: store.clone(),
            runtimes: store.clone(),
            receivers,
            runs,
            max_queue_depth: settings.max_queue_depth,
        }
    }
}

impl Jobs {
    pub async fn job(&self, caller: &User, id: &JobId) -> Result<Job> {
        let job = self
            .jobs
            .job(id)
            .await?
            .ok_or_else(|| not_found(&id.to_string()))?;
        require_manager(caller, &job.username)?;
        Ok(job)
    }

    /// A page of jobs, newest first; users other than administrators see
    /// only their own.
    pub async fn jobs(
        &self,
        caller: &User,
        status: Option<JobStatus>,
        receiver_id: Option<ReceiverId>,
        during: TimeRange,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Job>, u64)> {
        require_author(caller)?;
        let filter = JobFilter {
            status,
            receiver_id,
            username: (!caller.is_admin()).then(|| caller.username.clone()),
            during,
            offset,
            limit,
        };
        Ok(self.jobs.jobs(&filter).await?)
    }

    /// Deletes the finished jobs (`COMPLETED`, `FAILED`, `CANCELLED`) the
    /// caller may see: an administrator's, everyone's; another user's, its
    /// own. Waiting and running jobs stay. How many went.
    pub async fn delete_finished_jobs(&self, caller: &User) -> Result<u64> {
        require_author(caller)?;
        let owner = (!caller.is_admin()).then_some(&caller.username);
        Ok(self.jobs.delete_finished_jobs(owner).await?)
    }

    /// The runtime each of `jobs` asks for (see [`JobRuntime`]), reading
    /// each item's notebook once.
    pub async fn runtimes_of(&self, jobs: &[Job]) -> Result<Vec<JobRuntime>> {
        let runtimes = self.runtimes.runtimes().await?;
        let mut asked: std::collections::HashMap<ItemId, Option<(String, Option<String>)>> =
            std::collections::HashMap::new();
        let mut found = Vec::with_capacity(jobs.len());
        for job in jobs {
            let by_id = job
                .inputs
                .as_ref()
                .and_then(|i| i.notebook_runtime_id.clone());
            if let Some(id) = by_id {
                let r = runtimes.iter().find(|r| r.id.as_str() == id);
                found.push(JobRuntime {
                    name: r.map(|r| r.name.to_string()),
                    version: r.map(|r| r.version.to_string()),
                    id: Some(id),
                });
                continue;
            }
            if !asked.contains_key(&job.item_id) {
                let notebook = self.items.item_data(&job.item_id).await?;
                let named = notebook
                    .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                    .and_then(|nb| crate::domain::runtime::asked_by(&nb));
                asked.insert(job.item_id.clone(), named);
            }
            let named = asked.get(&job.item_id).cloned().flatten();
            found.push(match named {
                Some((name, version)) => match runtimes.iter().find(|r| r.name.matches(&name)) {
                    Some(r) => JobRuntime {
                        id: Some(r.id.to_string()),
                        name: Some(r.name.to_string()),
                        version: Some(r.version.to_string()),
                    },
                    None => JobRuntime {
                        id: None,
                        name: Some(name),
                        version,
                    },
                },
                None => JobRuntime {
                    id: None,
                    name: Some(crate::domain::runtime::DEFAULT_RUNTIME.to_string()),
                    version: None,
                },
            });
        }
        Ok(found)
    }

    pub async fn job_notebook(&self, caller: &User, id: &JobId) -> Result<Vec<u8>> {
        self.job(caller, id).await?;
        self.jobs
            .job_notebook(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Job '{id}' has no executed notebook yet.")))
    }

    /// The notebook of a running job as far as it has executed, for a
    /// page that watches it (`job` is one the caller may read): this
    /// node's copy when it runs here, else what its node last kept in the
    /// store; `None` before it has said anything.
    pub async fn live_notebook(&self, job: &Job) -> Result<Option<Arc<serde_json::Value>>> {
        // A job cancelled while it ran shows what ran until its node has
        // stored that.
        let cancelled_running = job.status == JobStatus::Cancelled && !job.has_notebook;
        if job.status != JobStatus::Executing && !cancelled_running {
            return Ok(None);
        }
        if let Some(here) = self.runs.live.notebook(&job.id) {
            return Ok(Some(here));
        }
        let kept = self.progress.job_progress(&job.id).await?;
        Ok(kept
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Arc::new))
    }

    /// A signal that a run on this node changed, for a page that watches.
    pub fn live_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.runs.live.subscribe()
    }

    /// Whether the server stops, so that pages stop watching.
    pub fn live_closed(&self) -> bool {
        self.runs.live.is_closed()
    }

    /// Cancels a waiting or running job; a finished one is left as it is.
    pub async fn cancel_job(&self, caller: &User, id: &JobId) -> Result<()> {
        let job = self.job(caller, id).await?;
        match self.jobs.cancel_job(id, Millis::now()).await? {
            Some(JobStatus::Executing) => self.runs.cancel(id),
            Some(_) => {}
            None => {
                return Err(Error::Invalid {
                    field: "jobId",
                    problem: crate::domain::ParseError::new(format!(
                        "the job is already {}",
                        job.status
                    )),
                })
            }
        }
        Ok(())
    }

    /// Runs the event of a webhook job again, as a new job that names the
    /// one it repeats, with the receiver's notebook, owner and parameters
    /// as they are now. The receiver's owner and administrators may.
    pub async fn replay_job(&self, caller: &User, id: &JobId) -> Result<JobId> {
        let job = self.job(caller, id).await?;
        let refuse = |why: &str| Error::Invalid {
            field: "jobId",
            problem: crate::domain::ParseError::new(why),
        };
        let receiver_id = match (job.kind, job.receiver_id, job.event_id) {
            (JobKind::Webhook, Some(receiver), Some(_)) => receiver,
            _ => return Err(refuse("only a job a webhook made can be run again")),
        };
        let receiver = self
            .receiver_records
            .receiver(&receiver_id)
            .await?
            .ok_or_else(|| refuse("its webhook receiver no longer exists"))?;
        require_manager(caller, &receiver.owner)?;
        if receiver.disabled {
            return Err(refuse("its webhook receiver is disabled"));
        }
        self.room_for(1).await?;
        let replay = NewReplay {
            id: JobId::generate(),
            of: job.id,
            item_id: receiver.item_id,
            username: receiver.owner,
            parameters: receiver.parameters,
            submitted: Millis::now(),
        };
        if !self.jobs.replay_job(&replay).await? {
            return Err(refuse("its event is no longer stored"));
        }
        self.runs.wake.notify_one();
        Ok(replay.id)
    }

    /// Runs again, as one batch, the receiver's webhook jobs a selection
    /// holds (replays themselves are never selected). The receiver's owner
    /// and administrators may.
    pub async fn replay_jobs(
        &self,
        caller: &User,
        receiver_id: &ReceiverId,
        selection: ReplaySelection,
    ) -> Result<Replayed> {
        let receiver = self.receivers.receiver(caller, receiver_id).await?;
        let invalid = |field: &'static str, why: String| Error::Invalid {
            field,
            problem: crate::domain::ParseError::new(why),
        };
        if receiver.disabled {
            return Err(invalid("id", "the webhook receiver is disabled".into()));
        }
        if selection.statuses.is_empty() || selection.statuses.iter().any(|s| s.is_live()) {
            return Err(invalid(
                "status",
                "must be COMPLETED, FAILED or CANCELLED".into(),
            ));
        }
        if selection.from > selection.to {
            return Err(invalid("from", "must not be later than to".into()));
        }
        let replay = BulkReplay {
            batch: BatchId::generate(),
            receiver_id: *receiver_id,
            statuses: selection.statuses,
            from: selection.from,
            to: selection.to,
            item_id: receiver.item_id,
            username: receiver.owner,
            parameters: receiver.parameters.to_json(),
            submitted: Millis::now(),
            max: MAX_REPLAY.min(self.room().await?),
        };
        match self.jobs.replay_jobs(&replay).await? {
            BulkReplayed::Queued { jobs, already } => {
                if jobs > 0 {
                    self.runs.wake.notify_one();
                }
                Ok(Replayed {
                    batch: replay.batch,
                    jobs,
                    already,
                })
            }
            // More than the queue has room for, though not too many at once.
            BulkReplayed::TooMany { selected } if selected <= u64::from(MAX_REPLAY) => {
                Err(Error::Refused(Refusal::QueueFull {
                    retry_after_secs: QUEUE_RETRY_SECS,
                }))
            }
            BulkReplayed::TooMany { selected } => Err(invalid(
                "to",
                format!("the selection holds {selected} jobs, more than {MAX_REPLAY} at once: narrow it with from and to"),
            )),
        }
    }

    /// How many more jobs the queue takes before `--max-queue-depth`.
    async fn room(&self) -> Result<u32> {
        let waiting = self.log.queue_depth().await?;
        let room = self.max_queue_depth.saturating_sub(waiting);
        Ok(u32::try_from(room).unwrap_or(u32::MAX))
    }

    /// Refuses, as intake does (503), jobs the queue has no room for: the
    /// API's jobs count against `--max-queue-depth` like deliveries.
    async fn room_for(&self, jobs: u32) -> Result<()> {
        if self.room().await? < jobs {
            return Err(Error::Refused(Refusal::QueueFull {
                retry_after_secs: QUEUE_RETRY_SECS,
            }));
        }
        Ok(())
    }

    /// Cancels the replays of a batch of the receiver still waiting; how
    /// many. Whoever may replay the receiver's jobs may.
    pub async fn cancel_replay(
        &self,
        caller: &User,
        receiver_id: &ReceiverId,
        batch: &BatchId,
    ) -> Result<u64> {
        self.receivers.receiver(caller, receiver_id).await?;
        Ok(self
            .jobs
            .cancel_batch(receiver_id, batch, Millis::now())
            .await?)
    }

    pub async fn execute_notebook(&self, caller: &User, request: ExecuteRequest) -> Result<JobId> {
        require_author(caller)?;
        let item = self
            .items
            .item(&request.item_id)
            .await?
            .ok_or_else(|| Error::Invalid {
                field: "itemId",
                problem: crate::domain::ParseError::new(format!(
                    "the notebook item '{}' does not exist",
                    request.item_id
                )),
            })?;
        require_manager(caller, &item.owner).map_err(|_| Error::Invalid {
            field: "itemId",
            problem: crate::domain::ParseError::new(format!(
                "you may not run the notebook item '{}'",
                request.item_id
            )),
        })?;
        if let Some(runtime) = &request.runtime {
            if self.runtimes.runtime(runtime).await?.is_none() {
                return Err(Error::Invalid {
                    field: "notebookRuntimeId",
                    problem: crate::domain::ParseError::new(format!(
                        "this site has no runtime with the id '{runtime}'"
                    )),
                });
            }
        }
        self.room_for(1).await?;
        let id = JobId::generate();
        let inputs = JobInputs {
            item_id: request.item_id.to_string(),
            notebook_parameters: request.parameters.values().clone(),
            execution_timeout_in_minutes: request.timeout_minutes,
            save_injected_parameters: request.save_injected_parameters,
            update_portal_item: request.update_portal_item,
            notebook_runtime_id: request.runtime.map(|r| r.to_string()),
        };
        self.jobs
            .add_job(&NewJob {
                id,
                item_id: request.item_id,
                username: caller.username.clone(),
                parameters: request.parameters.to_json(),
                timeout_minutes: request.timeout_minutes,
                inputs,
                submitted: Millis::now(),
            })
            .await?;
        self.runs.wake.notify_one();
        Ok(id)
    }
}
