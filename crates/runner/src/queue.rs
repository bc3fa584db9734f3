//! What the runner asks of the store, and nothing more: the job queue
//! (claim, renew, finish, put back, retry) and what a run reads on its way
//! (its notebook, its event, its retry policy, the runtimes) and, on a
//! site of several nodes, its progress for pages elsewhere; the end of a
//! job writes its item too when asked. The store is one by
//! delegation; the runner's tests keep one in memory.

use std::sync::Arc;

use async_trait::async_trait;

use hookbook_core::domain::event::Event;
use hookbook_core::domain::ids::{EventId, ItemId, JobId, NodeId, ReceiverId};
use hookbook_core::domain::job::{Job, JobEnd, Lease};
use hookbook_core::domain::retry::ScopedPolicy;
use hookbook_core::domain::runtime::Runtime;
use hookbook_core::domain::time::Millis;
use hookbook_store::{Store, StoreResult};

/// The runner's view of the store. Each method means what the store's
/// method of the same name means (`JobStore`, `ItemStore`, `RetryStore`,
/// `RuntimeStore` in `hookbook_store`), so that a run behaves the same on the store and on
/// a stand-in.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Takes the oldest due `SUBMITTED` job and marks it `EXECUTING` under
    /// `lease`, its attempt counted, atomically.
    async fn claim_job(
        &self,
        now: Millis,
        lease: &Lease,
        per_receiver: u32,
    ) -> StoreResult<Option<Job>>;
    /// Extends the leases `lease.node` holds; the jobs it still holds.
    async fn renew_leases(&self, lease: &Lease) -> StoreResult<Vec<JobId>>;
    /// Ends a job `node` holds; false when it no longer holds it.
    async fn finish_job(&self, node: &NodeId, id: &JobId, end: &JobEnd<'_>) -> StoreResult<bool>;
    /// Puts a job `node` holds back in the queue, the attempt not counted.
    async fn requeue_job(&self, node: &NodeId, id: &JobId, due: Option<Millis>) -> StoreResult<()>;
    /// Puts a failed attempt of a job `node` holds back in the queue, due
    /// at `due`; false when it no longer holds it.
    async fn retry_job(
        &self,
        node: &NodeId,
        id: &JobId,
        due: Millis,
        messages: &[String],
        notebook: Option<&[u8]>,
    ) -> StoreResult<bool>;
    /// Keeps the notebook of a job `node` runs as far as it has executed.
    async fn save_progress(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
        now: Millis,
    ) -> StoreResult<bool>;
    async fn clear_progress(&self, id: &JobId) -> StoreResult<()>;
    /// Keeps the notebook so far of a job `node` ran when it was cancelled.
    async fn keep_cancelled_notebook(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
    ) -> StoreResult<bool>;
    async fn event(&self, id: &EventId) -> StoreResult<Option<Event>>;
    async fn item_data(&self, id: &ItemId) -> StoreResult<Option<Vec<u8>>>;
    async fn effective_retry_policy(
        &self,
        receiver: Option<&ReceiverId>,
    ) -> StoreResult<ScopedPolicy>;
    async fn runtimes(&self) -> StoreResult<Vec<Runtime>>;
}

/// The store is the runner's queue: `startup` hands the runner
/// `Arc::new(store)`.
#[async_trait]
impl<S: Store + ?Sized> Queue for Arc<S> {
    async fn claim_job(
        &self,
        now: Millis,
        lease: &Lease,
        per_receiver: u32,
    ) -> StoreResult<Option<Job>> {
        (**self).claim_job(now, lease, per_receiver).await
    }

    async fn renew_leases(&self, lease: &Lease) -> StoreResult<Vec<JobId>> {
        (**self).renew_leases(lease).await
    }

    async fn finish_job(&self, node: &NodeId, id: &JobId, end: &JobEnd<'_>) -> StoreResult<bool> {
        (**self).finish_job(node, id, end).await
    }

    async fn requeue_job(&self, node: &NodeId, id: &JobId, due: Option<Millis>) -> StoreResult<()> {
        (**self).requeue_job(node, id, due).await
    }

    async fn retry_job(
        &self,
        node: &NodeId,
        id: &JobId,
        due: Millis,
        messages: &[String],
        notebook: Option<&[u8]>,
    ) -> StoreResult<bool> {
        (**self).retry_job(node, id, due, messages, notebook).await
    }

    async fn save_progress(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
        now: Millis,
    ) -> StoreResult<bool> {
        (**self).save_progress(node, id, notebook, now).await
    }

    async fn clear_progress(&self, id: &JobId) -> StoreResult<()> {
        (**self).clear_progress(id).await
    }

    async fn keep_cancelled_notebook(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
    ) -> StoreResult<bool> {
        (**self).keep_cancelled_notebook(node, id, notebook).await
    }

    async fn event(&self, id: &EventId) -> StoreResult<Option<Event>> {
        (**self).event(id).await
    }

    async fn item_data(&self, id: &ItemId) -> StoreResult<Option<Vec<u8>>> {
        (**self).item_data(id).await
    }

    async fn effective_retry_policy(
        &self,
        receiver: Option<&ReceiverId>,
    ) -> StoreResult<ScopedPolicy> {
        (**self).effective_retry_policy(receiver).await
    }

    async fn runtimes(&self) -> StoreResult<Vec<Runtime>> {
        (**self).runtimes().await
    }
}
