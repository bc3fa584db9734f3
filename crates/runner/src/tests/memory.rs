//! The runner's queue in memory: the store's semantics for what the
//! runner does (`crates/store/src/sqlite/jobs.rs` and `attempts.rs`) on a
//! list of jobs, with a few handles for tests (a node that takes a job
//! over, renewals that fail). It keeps no lease ends, no events and no
//! receivers' own policies: only other nodes' recovery reads the first,
//! and these tests' jobs have none of the others.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::queue::Queue;
use hookbook_core::domain::event::Event;
use hookbook_core::domain::ids::{EventId, ItemId, JobId, NodeId, ReceiverId};
use hookbook_core::domain::job::{Job, JobEnd, JobKind, JobStatus, Lease};
use hookbook_core::domain::receiver::Parameters;
use hookbook_core::domain::retry::{PolicyScope, RetryPolicy, ScopedPolicy};
use hookbook_core::domain::runtime::Runtime;
use hookbook_core::domain::time::Millis;
use hookbook_core::domain::user::Username;
use hookbook_store::{StoreError, StoreResult};

/// A job as the store keeps it: the job and who holds it.
struct Row {
    job: Job,
    /// The node running it, while it is `EXECUTING`.
    node: Option<NodeId>,
    notebook: Option<Vec<u8>>,
    /// What its node last said of its progress.
    progress: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    rows: Vec<Row>,
    items: HashMap<ItemId, Vec<u8>>,
    /// The site's policy (the receivers have none of their own).
    policy: RetryPolicy,
    refuse_renewals: bool,
    claims: u32,
    renewals: u32,
}

impl State {
    fn row(&mut self, id: &JobId) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.job.id == *id)
    }

    /// The row of `id` if `node` holds it (`EXECUTING`, its node).
    fn held(&mut self, node: &NodeId, id: &JobId) -> Option<&mut Row> {
        self.row(id)
            .filter(|r| r.job.status == JobStatus::Executing && r.node == Some(*node))
    }

    fn executing_of(&self, receiver: &ReceiverId) -> u32 {
        let of = |r: &&Row| {
            r.job.status == JobStatus::Executing && r.job.receiver_id.as_ref() == Some(receiver)
        };
        self.rows.iter().filter(of).count() as u32
    }
}

#[derive(Default)]
pub struct Memory {
    state: Mutex<State>,
}

impl Memory {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a notebook item.
    pub fn add_item(&self, notebook: &[u8]) -> ItemId {
        let id = ItemId::generate();
        self.state().items.insert(id.clone(), notebook.to_vec());
        id
    }

    /// Queues a job of `item`, submitted now, as `change` makes it.
    pub fn submit(&self, item: &ItemId, change: impl FnOnce(&mut Job)) -> JobId {
        let mut job = Job {
            id: JobId::generate(),
            kind: JobKind::ExecuteNotebook,
            status: JobStatus::Submitted,
            item_id: item.clone(),
            receiver_id: None,
            event_id: None,
            username: Username::parse("owner").expect("a user name"),
            parameters: Parameters::parse("").expect("no parameters"),
            submitted: Millis::now(),
            start_time: None,
            end_time: None,
            messages: Vec::new(),
            attempts: 0,
            timeout_minutes: None,
            inputs: None,
            has_notebook: false,
            replay_of: None,
            replay_batch: None,
            max_attempts: None,
            retry_at: None,
        };
        change(&mut job);
        let id = job.id;
        self.state().rows.push(Row {
            job,
            node: None,
            notebook: None,
            progress: None,
        });
        id
    }

    /// The job as stored now.
    pub fn job(&self, id: &JobId) -> Job {
        let mut state = self.state();
        state.row(id).expect("the job is stored").job.clone()
    }

    /// The node holding the job, while it runs.
    pub fn holder(&self, id: &JobId) -> Option<NodeId> {
        self.state().row(id).and_then(|r| r.node)
    }

    pub fn set_policy(&self, policy: RetryPolicy) {
        self.state().policy = policy;
    }

    /// From now on renewals fail (the database is out of reach).
    pub fn refuse_renewals(&self) {
        self.state().refuse_renewals = true;
    }

    /// Another node holds the job now (its lease ended and that node took
    /// it over).
    pub fn take_over(&self, id: &JobId, node: NodeId) {
        let mut state = self.state();
        let row = state.row(id).expect("the job is stored");
        row.node = Some(node);
    }

    /// How many claims took a job.
    pub fn claims(&self) -> u32 {
        self.state().claims
    }

    /// How many renewals were answered.
    pub fn renewals(&self) -> u32 {
        self.state().renewals
    }
}

#[async_trait]
impl Queue for Memory {
    async fn claim_job(
        &self,
        now: Millis,
        lease: &Lease,
        per_receiver: u32,
    ) -> StoreResult<Option<Job>> {
        let mut state = self.state();
        let state = &mut *state;
        let due = |r: &Row| {
            r.job.status == JobStatus::Submitted
                && r.job.retry_at.is_none_or(|at| at <= now)
                && (per_receiver == 0
                    || r.job
                        .receiver_id
                        .as_ref()
                        .is_none_or(|receiver| state.executing_of(receiver) < per_receiver))
        };
        let oldest = (state.rows.iter().enumerate())
            .filter(|(_, r)| due(r))
            .min_by_key(|(_, r)| (r.job.submitted, r.job.id))
            .map(|(i, _)| i);
        let Some(i) = oldest else {
            return Ok(None);
        };
        let max_attempts = state.policy.max_attempts();
        let row = &mut state.rows[i];
        row.job.status = JobStatus::Executing;
        row.job.start_time = Some(now);
        row.job.attempts += 1;
        row.job.max_attempts = Some(max_attempts);
        row.job.retry_at = None;
        row.node = Some(lease.node);
        let job = row.job.clone();
        state.claims += 1;
        Ok(Some(job))
    }

    async fn renew_leases(&self, lease: &Lease) -> StoreResult<Vec<JobId>> {
        let mut state = self.state();
        if state.refuse_renewals {
            return Err(StoreError::Database("the database is out of reach".into()));
        }
        state.renewals += 1;
        let mut held = Vec::new();
        for row in &mut state.rows {
            if row.job.status == JobStatus::Executing && row.node == Some(lease.node) {
                held.push(row.job.id);
            }
        }
        Ok(held)
    }

    async fn finish_job(&self, node: &NodeId, id: &JobId, end: &JobEnd<'_>) -> StoreResult<bool> {
        let mut state = self.state();
        let Some(row) = state.held(node, id) else {
            return Ok(false);
        };
        row.job.status = end.status;
        row.job.end_time = Some(end.end);
        row.job.messages = end.messages.to_vec();
        if let Some(notebook) = end.notebook {
            row.notebook = Some(notebook.to_vec());
            row.job.has_notebook = true;
        }
        let item = row.job.item_id.clone();
        if let (Some(data), Some(stored)) = (end.item, state.items.get_mut(&item)) {
            *stored = data.to_vec();
        }
        Ok(true)
    }

    async fn requeue_job(&self, node: &NodeId, id: &JobId, due: Option<Millis>) -> StoreResult<()> {
        let mut state = self.state();
        if let Some(row) = state.held(node, id) {
            row.job.status = JobStatus::Submitted;
            row.job.start_time = None;
            row.job.attempts = row.job.attempts.saturating_sub(1);
            row.job.retry_at = due;
            row.node = None;
        }
        Ok(())
    }

    async fn retry_job(
        &self,
        node: &NodeId,
        id: &JobId,
        due: Millis,
        messages: &[String],
        notebook: Option<&[u8]>,
    ) -> StoreResult<bool> {
        let mut state = self.state();
        let Some(row) = state.held(node, id) else {
            return Ok(false);
        };
        row.job.status = JobStatus::Submitted;
        row.job.retry_at = Some(due);
        row.job.messages = messages.to_vec();
        if let Some(notebook) = notebook {
            row.notebook = Some(notebook.to_vec());
            row.job.has_notebook = true;
        }
        row.job.start_time = None;
        row.node = None;
        Ok(true)
    }

    async fn event(&self, _id: &EventId) -> StoreResult<Option<Event>> {
        Ok(None)
    }

    async fn item_data(&self, id: &ItemId) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.state().items.get(id).cloned())
    }

    async fn effective_retry_policy(
        &self,
        _receiver: Option<&ReceiverId>,
    ) -> StoreResult<ScopedPolicy> {
        Ok(ScopedPolicy {
            scope: PolicyScope::Site,
            policy: self.state().policy.clone(),
        })
    }

    async fn runtimes(&self) -> StoreResult<Vec<Runtime>> {
        Ok(Vec::new())
    }

    async fn save_progress(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
        _now: Millis,
    ) -> StoreResult<bool> {
        let mut state = self.state();
        Ok(state
            .held(node, id)
            .map(|row| row.progress = Some(notebook.to_vec()))
            .is_some())
    }

    async fn keep_cancelled_notebook(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
    ) -> StoreResult<bool> {
        let mut state = self.state();
        Ok(state
            .row(id)
            .filter(|r| {
                r.job.status == JobStatus::Cancelled
                    && r.node == Some(*node)
                    && r.notebook.is_none()
            })
            .map(|r| r.notebook = Some(notebook.to_vec()))
            .is_some())
    }

    async fn clear_progress(&self, id: &JobId) -> StoreResult<()> {
        if let Some(row) = self.state().row(id) {
            row.progress = None;
        }
        Ok(())
    }
}
