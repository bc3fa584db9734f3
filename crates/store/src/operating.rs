//! What operating receivers needs stored: retry policies, failure notices
//! and their destinations, and the dashboards' counts (records and
//! traits; [`Store`](super::Store) includes them).

use async_trait::async_trait;

use super::StoreResult;
use hookbook_core::domain::dashboard::Buckets;
use hookbook_core::domain::ids::{NodeId, ReceiverId};
use hookbook_core::domain::notice::{Notice, NoticeStatus};
use hookbook_core::domain::retry::{PolicyScope, RetryPolicy, ScopedPolicy};
use hookbook_core::domain::time::Millis;
use hookbook_core::domain::user::Username;

/// Retry policies, the site's and receivers' own.
#[async_trait]
pub trait RetryStore: Send + Sync {
    /// The policy set for exactly this scope, if any.
    async fn retry_policy(&self, scope: PolicyScope) -> StoreResult<Option<RetryPolicy>>;
    /// The policy a job of `receiver` follows: the receiver's own, else the
    /// site's (else the built-in default, should the site's row be gone).
    async fn effective_retry_policy(
        &self,
        receiver: Option<&ReceiverId>,
    ) -> StoreResult<ScopedPolicy>;
    /// Sets a scope's policy; `None` removes a receiver's own (it follows
    /// the site's again).
    async fn set_retry_policy(
        &self,
        scope: PolicyScope,
        policy: Option<&RetryPolicy>,
    ) -> StoreResult<()>;
    /// Every policy set, the site's first (for `hookbook copy`).
    async fn retry_policies(&self) -> StoreResult<Vec<ScopedPolicy>>;
}

/// A user's destination of failure notices; the secret sealed.
#[derive(Debug, Clone)]
pub struct DestinationRecord {
    pub username: Username,
    pub url: Option<String>,
    pub secret: Vec<u8>,
    pub email: Option<String>,
    pub modified: Millis,
}

/// Failure notices: users' destinations, and the notices themselves
/// (made by `finish_job` and `recover_jobs` when a job ends `FAILED`).
#[async_trait]
pub trait NoticeStore: Send + Sync {
    async fn notice_destination(
        &self,
        username: &Username,
    ) -> StoreResult<Option<DestinationRecord>>;
    /// Sets a user's destination; `None` removes it.
    async fn set_notice_destination(
        &self,
        username: &Username,
        destination: Option<&DestinationRecord>,
    ) -> StoreResult<()>;
    /// Takes the pending notice due first, if one is due at `now`: its
    /// `due` moves to `lease_until` (so no other node takes it meanwhile)
    /// and its attempts grow by one.
    async fn claim_notice(&self, now: Millis, lease_until: Millis) -> StoreResult<Option<Notice>>;
    /// Records an attempt's outcome: the notice's new status, when the
    /// next attempt is due (pending only), and what happened.
    async fn record_notice(
        &self,
        notice: &Notice,
        status: NoticeStatus,
        due: Millis,
        outcome: &str,
    ) -> StoreResult<()>;
    /// Notices, newest first: one user's, or everyone's.
    async fn notices(&self, username: Option<&Username>, limit: u32) -> StoreResult<Vec<Notice>>;
}

/// How many of one kind fell in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub bucket: i64,
    /// The kind: a delivery's outcome (`accepted`, `duplicate`, or a
    /// refusal's reason), or a run's final state.
    pub kind: String,
    pub count: i64,
}

/// One finished run in a bucket (by its end): how long it ran, and how
/// long its first cell came after the job was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunTimes {
    pub bucket: i64,
    pub duration_ms: i64,
    pub to_first_cell_ms: Option<i64>,
}

/// The busiest minute of a bucket: the most jobs waiting (as any node saw
/// them) and the most warm kernels of all nodes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub bucket: i64,
    pub queue_depth: i64,
    pub warm_kernels: i64,
}

/// What the dashboards draw, counted by the database so that every node
/// draws the same.
#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// Deliveries by outcome: accepted ones are webhook jobs (not
    /// replays), the rest the delivery log's lines (by their reason).
    async fn delivery_counts(
        &self,
        b: Buckets,
        receiver: Option<&ReceiverId>,
    ) -> StoreResult<Vec<Count>>;
    /// Runs by final state, in the bucket of their end.
    async fn run_counts(
        &self,
        b: Buckets,
        receiver: Option<&ReceiverId>,
    ) -> StoreResult<Vec<Count>>;
    /// The times of at most `limit` runs that ended in the span, latest first.
    async fn run_times(
        &self,
        b: Buckets,
        receiver: Option<&ReceiverId>,
        limit: u32,
    ) -> StoreResult<Vec<RunTimes>>;
    /// Each bucket's busiest minute (buckets without samples are left out).
    async fn samples(&self, b: Buckets) -> StoreResult<Vec<Sample>>;
    /// Records a node's minute (the last one wins) and forgets samples
    /// older than `forget_before`.
    async fn record_sample(
        &self,
        node: &NodeId,
        minute: Millis,
        queue_depth: u64,
        warm_kernels: i64,
        forget_before: Millis,
    ) -> StoreResult<()>;
}
