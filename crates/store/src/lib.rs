//! Storage: the only place with SQL. The [`Store`] trait is what the rest of
//! hookbook sees; `sqlite` is the embedded implementation, `postgres` the
//! one several nodes share, and `copy` moves an installation between them.
//!
//! The trait is split by resource so that each implementation keeps one file
//! per resource; [`Store`] is all of them together.

mod attempts;
pub mod copy;
mod operating;
mod postgres;
mod replays;
mod rows;
mod runtimes;
pub mod sealed;
mod shared;
mod sqlite;

use std::sync::Arc;

use std::str::FromStr as _;

use async_trait::async_trait;

use hookbook_core::domain::delivery::{Delivery, LoggedDelivery};
use hookbook_core::domain::event::{Event, SignedPart};
use hookbook_core::domain::ids::{BatchId, EventId, ItemId, JobId, NodeId, ReceiverId};
use hookbook_core::domain::job::{Job, JobEnd, JobInputs, JobStatus, Lease};
use hookbook_core::domain::notebook::{Item, ItemTitle, Tags};
use hookbook_core::domain::time::{Millis, TimeRange};
use hookbook_core::domain::upload::{PartNumber, Upload};
use hookbook_core::domain::user::{User, Username};
use hookbook_core::security::token::TokenHash;

pub use operating::{
    Count, DashboardStore, DestinationRecord, NoticeStore, RetryStore, RunTimes, Sample,
};
pub use runtimes::RuntimeStore;
pub use sqlite::vacuum_into as backup;

/// What can go wrong in storage. Callers match on `Conflict`; everything
/// else is an internal failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error(transparent)]
    Corrupt(Box<Corrupt>),
    #[error("a stored {0}'s secrets could not be opened with this site's key")]
    Sealed(&'static str),
    #[error("database failure")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A stored value that does not parse: which table, row and column, and
/// why (the parser's own error, as the source).
#[derive(Debug, thiserror::Error)]
#[error("the {column} of the {table} row '{key}' could not be read back")]
pub struct Corrupt {
    pub table: &'static str,
    pub key: String,
    pub column: &'static str,
    #[source]
    pub problem: Box<dyn std::error::Error + Send + Sync>,
}

/// One stored row as it is read: its table and key name whatever in it
/// does not parse.
pub(crate) struct Reading<'a> {
    table: &'static str,
    key: &'a str,
}

/// What a column held that is none of the values it may hold.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not one of its values")]
struct Unknown(String);

impl<'a> Reading<'a> {
    pub(crate) fn of(table: &'static str, key: &'a str) -> Self {
        Reading { table, key }
    }

    /// `read`, the parse of `column`; its error becomes `Corrupt`.
    pub(crate) fn column<T, E>(&self, column: &'static str, read: Result<T, E>) -> StoreResult<T>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        read.map_err(|e| self.corrupt(column, e.into()))
    }

    /// `read`, the lookup of `value` (from `column`) among the values the
    /// column may hold.
    pub(crate) fn known<T>(
        &self,
        column: &'static str,
        value: &str,
        read: Option<T>,
    ) -> StoreResult<T> {
        read.ok_or_else(|| self.corrupt(column, Box::new(Unknown(value.to_string()))))
    }

    fn corrupt(
        &self,
        column: &'static str,
        problem: Box<dyn std::error::Error + Send + Sync>,
    ) -> StoreError {
        StoreError::Corrupt(Box::new(Corrupt {
            table: self.table,
            key: self.key.to_string(),
            column,
            problem,
        }))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// Maps a unique-constraint failure to `Conflict(what)`.
fn conflict_or(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => StoreError::from(e),
    }
}

/// A user with its password hash, as stored.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    /// An Argon2 PHC string.
    pub password_hash: String,
    pub created: Millis,
    /// When the user's tokens were last revoked.
    pub tokens_revoked: Option<Millis>,
    /// When the user last signed in with their password.
    pub last_sign_in: Option<Millis>,
}

/// What removing a user did, or why it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRemoval {
    Removed,
    NoSuchUser,
    /// The user to whom the user's things were to go does not exist.
    NoSuchHeir,
    /// The user still owns these, and nobody was named to take them.
    Owns(Owned),
}

/// What a user owns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owned {
    pub items: u64,
    pub receivers: u64,
    pub jobs: u64,
}

/// An issued access token, stored by its hash.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub hash: TokenHash,
    pub username: Username,
    pub created: Millis,
    pub expires: Millis,
}

/// A receiver as stored: its secrets sealed by the vault.
#[derive(Debug, Clone)]
pub struct ReceiverRecord {
    pub id: ReceiverId,
    pub name: String,
    pub item_id: ItemId,
    pub owner: Username,
    pub signature_headers: String,
    pub disabled: bool,
    pub secret: Vec<u8>,
    pub previous_secret: Option<(Vec<u8>, Millis)>,
    pub api_token: Option<Vec<u8>>,
    pub parameters: String,
    pub message: String,
    pub created: Millis,
    pub modified: Millis,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` when the name is taken.
    async fn add_user(&self, record: &UserRecord) -> StoreResult<()>;
    async fn user(&self, username: &Username) -> StoreResult<Option<UserRecord>>;
    /// Every user, by name.
    async fn all_users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Replaces a user's password hash; false when there is no such user.
    async fn set_password(&self, username: &Username, password_hash: &str) -> StoreResult<bool>;
    /// Replaces a user's role and privileges; false when there is no such user.
    async fn set_access(&self, user: &User) -> StoreResult<bool>;
    /// Records a sign-in with a password.
    async fn signed_in(&self, username: &Username, at: Millis) -> StoreResult<()>;
    /// Removes a user (their tokens and notice destination with them).
    /// Their notebooks, receivers, jobs, uploads and notices go to `heir`
    /// when given; else a user who owns any is not removed.
    async fn remove_user(
        &self,
        username: &Username,
        heir: Option<&Username>,
    ) -> StoreResult<UserRemoval>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn add_token(&self, record: &TokenRecord) -> StoreResult<()>;
    /// The token with this hash, expired or not.
    async fn token(&self, hash: &TokenHash) -> StoreResult<Option<TokenRecord>>;
    /// Forgets one token (a session signed out).
    async fn delete_token(&self, hash: &TokenHash) -> StoreResult<()>;
    /// Deletes every token of a user and records when; returns how many
    /// tokens there were, or `None` when there is no such user.
    async fn revoke_tokens(&self, username: &Username, now: Millis) -> StoreResult<Option<u64>>;
    /// Removes tokens that expired before `now`; returns how many.
    async fn delete_expired_tokens(&self, now: Millis) -> StoreResult<u64>;
}

#[async_trait]
pub trait ItemStore: Send + Sync {
    async fn add_item(&self, meta: &Item, data: &[u8]) -> StoreResult<()>;
    async fn item(&self, id: &ItemId) -> StoreResult<Option<Item>>;
    async fn item_data(&self, id: &ItemId) -> StoreResult<Option<Vec<u8>>>;
    /// Replaces what `changes` gives; returns false when there is no such item.
    async fn update_item(
        &self,
        id: &ItemId,
        changes: &ItemChanges<'_>,
        modified: Millis,
    ) -> StoreResult<bool>;
    async fn delete_item(&self, id: &ItemId) -> StoreResult<bool>;
    /// A user's items, oldest first.
    async fn items_of(&self, owner: &Username) -> StoreResult<Vec<Item>>;
    /// Every item, oldest first.
    async fn all_items(&self) -> StoreResult<Vec<Item>>;
}

/// What an item update replaces; `None` keeps what is there.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemChanges<'a> {
    pub title: Option<&'a ItemTitle>,
    pub tags: Option<&'a Tags>,
    pub data: Option<&'a [u8]>,
}

/// What became of a new upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStarted {
    Started,
    /// The owner already has this many uploads pending; nothing was made.
    TooMany(u64),
}

/// What became of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartAdded {
    /// Stored (replacing a part of the same number); the upload now holds
    /// this many bytes.
    Added(u64),
    /// There is no such upload taking parts.
    NoUpload,
    /// With it the upload would hold this many bytes, past the limit;
    /// nothing was stored.
    TooLarge(u64),
}

/// Uploads in parts, pending until committed (in the database, so that
/// the parts of one upload may reach any node of a site).
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Records a new upload (`Partial`) unless its owner has `max_pending`
    /// pending already; first removes every upload last changed before
    /// `stale_before`.
    async fn start_upload(
        &self,
        upload: &Upload,
        max_pending: u32,
        stale_before: Millis,
    ) -> StoreResult<UploadStarted>;
    async fn upload(&self, id: &ItemId) -> StoreResult<Option<Upload>>;
    /// Stores a part of a `Partial` upload, unless the upload's parts
    /// would then hold more than `max_bytes`.
    async fn add_part(
        &self,
        id: &ItemId,
        part: PartNumber,
        data: &[u8],
        max_bytes: u64,
        now: Millis,
    ) -> StoreResult<PartAdded>;
    /// Marks a `Partial` upload `Processing` and hands out its parts by
    /// number; `None` when it is not `Partial` (another commit took it).
    async fn take_parts(
        &self,
        id: &ItemId,
        now: Millis,
    ) -> StoreResult<Option<Vec<(u32, Vec<u8>)>>>;
    /// Makes the upload the item `item` with `data`, in one transaction.
    async fn finish_upload(&self, item: &Item, data: &[u8]) -> StoreResult<()>;
    /// Marks the upload `Failed` with `message` and drops its parts.
    async fn fail_upload(&self, id: &ItemId, message: &str, now: Millis) -> StoreResult<()>;
    /// Removes every upload last changed before `before`; how many.
    async fn sweep_uploads(&self, before: Millis) -> StoreResult<u64>;
}

#[async_trait]
pub trait ReceiverStore: Send + Sync {
    async fn add_receiver(&self, record: &ReceiverRecord) -> StoreResult<()>;
    async fn receiver(&self, id: &ReceiverId) -> StoreResult<Option<ReceiverRecord>>;
    /// All receivers, or one owner's, oldest first.
    async fn receivers(&self, owner: Option<&Username>) -> StoreResult<Vec<ReceiverRecord>>;
    /// Overwrites every field but `id`, `owner` and `created`; false when gone.
    async fn update_receiver(&self, record: &ReceiverRecord) -> StoreResult<bool>;
    async fn delete_receiver(&self, id: &ReceiverId) -> StoreResult<bool>;
}

/// An event to accept with its job, as the intake hands it over.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: EventId,
    pub job_id: JobId,
    pub receiver_id: ReceiverId,
    /// `webhook-id` or `X-GitHub-Delivery`, when the sender gave one.
    pub delivery_id: Option<String>,
    pub received: Millis,
    /// The non-secret headers, as a JSON object of lowercased names.
    pub headers: String,
    pub body: Vec<u8>,
    /// What of the body the signature covered; a run receives only that.
    pub signed: SignedPart,
    /// The receiver's item, owner and parameters when the event arrived.
    pub item_id: ItemId,
    pub username: Username,
    pub parameters: String,
}

/// What became of one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    Accepted {
        job_id: JobId,
    },
    /// The delivery id was seen before for this receiver: its first job.
    Duplicate {
        job_id: JobId,
    },
    /// Too many jobs are waiting; nothing was stored.
    QueueFull,
}

/// A job created by `executeNotebook`.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub item_id: ItemId,
    pub username: Username,
    pub parameters: String,
    pub timeout_minutes: Option<i64>,
    pub inputs: JobInputs,
    pub submitted: Millis,
}

/// A job that runs the event of job `of` again, as the receiver's notebook,
/// owner and parameters now are.
#[derive(Debug, Clone)]
pub struct NewReplay {
    pub id: JobId,
    pub of: JobId,
    pub item_id: ItemId,
    pub username: Username,
    pub parameters: String,
    pub submitted: Millis,
}

/// Many webhook jobs of one receiver run again at once: those that are not
/// replays themselves, ended in one of `statuses`, submitted from `from` to
/// `to` (inclusive). Each replay is made as [`NewReplay`] describes, with
/// `batch`.
#[derive(Debug, Clone)]
pub struct BulkReplay {
    pub batch: BatchId,
    pub receiver_id: ReceiverId,
    pub statuses: Vec<JobStatus>,
    pub from: Millis,
    pub to: Millis,
    pub item_id: ItemId,
    pub username: Username,
    pub parameters: String,
    pub submitted: Millis,
    /// The most jobs one replay may make.
    pub max: u32,
}

impl BulkReplay {
    /// The statuses as the selection's SQL takes them: joined by commas.
    pub fn status_list(&self) -> String {
        let names: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
        names.join(",")
    }

    /// The replay of one selected job.
    pub fn replay_of(&self, of: JobId) -> NewReplay {
        NewReplay {
            id: JobId::generate(),
            of,
            item_id: self.item_id.clone(),
            username: self.username.clone(),
            parameters: self.parameters.clone(),
            submitted: self.submitted,
        }
    }
}

/// What a [`BulkReplay`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkReplayed {
    /// `jobs` replays queued; `already` of the jobs selected had been
    /// replayed before (a second replay of the same selection shows here).
    Queued { jobs: u64, already: u64 },
    /// The selection holds more than `max` jobs; nothing was made.
    TooMany { selected: u64 },
}

/// Which jobs a list shows; `start` is 0-based here.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub receiver_id: Option<ReceiverId>,
    pub username: Option<Username>,
    /// When the job ended (or was submitted, while it has not ended).
    pub during: TimeRange,
    pub offset: u32,
    pub limit: u32,
}

/// Which `EXECUTING` jobs `recover_jobs` takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orphans {
    /// Those whose lease has expired (several nodes share the database).
    Expired,
    /// All of them: this process is the only one using the database.
    All,
}

/// What the database tells a node about the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// New jobs are waiting.
    Queued,
    /// This job was cancelled; whichever node runs it stops it.
    Cancelled(JobId),
}

/// A stored event with everything needed to store it again elsewhere.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: EventId,
    pub receiver_id: ReceiverId,
    pub delivery_id: Option<String>,
    pub received: Millis,
    pub headers: String,
    pub body: Vec<u8>,
    pub signed: SignedPart,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    async fn add_job(&self, job: &NewJob) -> StoreResult<()>;
    /// Queues a replay of a webhook job; false when that job does not
    /// exist or has no event.
    async fn replay_job(&self, replay: &NewReplay) -> StoreResult<bool>;
    /// Queues replays of the jobs a selection holds, in one transaction.
    async fn replay_jobs(&self, replay: &BulkReplay) -> StoreResult<BulkReplayed>;
    /// Cancels the replays of `batch` of `receiver` still waiting; how many.
    async fn cancel_batch(
        &self,
        receiver: &ReceiverId,
        batch: &BatchId,
        now: Millis,
    ) -> StoreResult<u64>;
    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>>;
    /// Newest first, and how many match in all.
    async fn jobs(&self, filter: &JobFilter) -> StoreResult<(Vec<Job>, u64)>;
    /// Takes the oldest `SUBMITTED` job and marks it `EXECUTING` under
    /// `lease`, atomically: two claims never get the same job. With
    /// `per_receiver > 0`, jobs of a receiver that already has that many
    /// `EXECUTING` are passed over.
    async fn claim_job(
        &self,
        now: Millis,
        lease: &Lease,
        per_receiver: u32,
    ) -> StoreResult<Option<Job>>;
    /// Extends the lease of every job `lease.node` is running; returns the
    /// ids it still holds (a job missing was cancelled or taken over).
    async fn renew_leases(&self, lease: &Lease) -> StoreResult<Vec<JobId>>;
    /// Ends a job `node` is running; false when it no longer holds it (the
    /// job was cancelled meanwhile, or taken over after its lease expired).
    async fn finish_job(&self, node: &NodeId, id: &JobId, end: &JobEnd<'_>) -> StoreResult<bool>;
    /// Puts a job `node` is running back in the queue (the node is
    /// stopping, or what it needs is not ready yet), not to be claimed
    /// before `due` when given; the attempt does not count.
    async fn requeue_job(&self, node: &NodeId, id: &JobId, due: Option<Millis>) -> StoreResult<()>;
    /// Puts a job whose attempt failed back in the queue, due at `due`,
    /// with its messages so far (and the failed attempt's notebook), if
    /// this node still holds it.
    async fn retry_job(
        &self,
        node: &NodeId,
        id: &JobId,
        due: Millis,
        messages: &[String],
        notebook: Option<&[u8]>,
    ) -> StoreResult<bool>;
    /// Cancels a waiting or executing job; the status it had, if it could.
    async fn cancel_job(&self, id: &JobId, now: Millis) -> StoreResult<Option<JobStatus>>;
    async fn job_notebook(&self, id: &JobId) -> StoreResult<Option<Vec<u8>>>;
    async fn event(&self, id: &EventId) -> StoreResult<Option<Event>>;
    /// Jobs left `EXECUTING` by a node that died: re-queued when they were
    /// tried once, else failed with `message`. Returns (re-queued, failed).
    async fn recover_jobs(
        &self,
        now: Millis,
        message: &str,
        which: Orphans,
    ) -> StoreResult<(u64, u64)>;
    /// Deletes finished jobs (and their events) that ended before `before`.
    async fn prune_jobs(&self, before: Millis) -> StoreResult<u64>;
    /// Deletes every finished job (`COMPLETED`, `FAILED`, `CANCELLED`),
    /// or only `owner`'s, with the events no other job refers to; never a
    /// waiting or running one. Returns how many.
    async fn delete_finished_jobs(&self, owner: Option<&Username>) -> StoreResult<u64>;
    /// Forwards what other nodes tell through the database (new jobs,
    /// cancellations) to `signals`, until it is closed. False when this
    /// database has no such channel (one node: it tells itself).
    async fn watch(&self, signals: tokio::sync::mpsc::Sender<Signal>) -> StoreResult<bool>;
}

/// The live nodes of a site, as they report themselves.
#[async_trait]
pub trait NodeStore: Send + Sync {
    /// Records that `node`, taking events or not, is alive at `now`, and
    /// returns how many nodes taking events were seen alive since `since`
    /// (at least 1 when `takes_events`).
    async fn node_alive(
        &self,
        node: &NodeId,
        takes_events: bool,
        now: Millis,
        since: Millis,
    ) -> StoreResult<u32>;
    /// Forgets a node that stops cleanly.
    async fn node_gone(&self, node: &NodeId) -> StoreResult<()>;
}

/// Reading and writing whole installations, for `hookbook copy`.
#[async_trait]
pub trait CopyStore: Send + Sync {
    /// One page of jobs, oldest first, after `after` (by id).
    async fn jobs_after(&self, after: Option<JobId>, limit: u32) -> StoreResult<Vec<Job>>;
    async fn stored_event(&self, id: &EventId) -> StoreResult<Option<StoredEvent>>;
    /// Stores a job exactly as given (with its event, first, when it has
    /// one, and its executed notebook); an id already present is a `Conflict`.
    async fn restore_job(
        &self,
        job: &Job,
        event: Option<&StoredEvent>,
        notebook: Option<&[u8]>,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait IntakeStore: Send + Sync {
    /// Stores each event with a `SUBMITTED` job and an `accepted` delivery
    /// line, in one transaction that is durable when this returns. Repeated
    /// delivery ids answer `Duplicate`; past `max_queue_depth` waiting jobs,
    /// `QueueFull`. Answers in the order of `events`.
    async fn accept_events(
        &self,
        events: Vec<NewEvent>,
        max_queue_depth: u64,
    ) -> StoreResult<Vec<Acceptance>>;
    /// Appends lines to delivery logs (rejections; acceptances are written
    /// by `accept_events`).
    async fn log_deliveries(&self, records: &[Delivery]) -> StoreResult<()>;
    /// A receiver's newest `limit` delivery lines, newest first, each with
    /// where its run is now.
    async fn deliveries(
        &self,
        receiver_id: &ReceiverId,
        limit: u32,
    ) -> StoreResult<Vec<LoggedDelivery>>;
    /// Drops lines older than `before`, and all but the newest `keep` of each receiver.
    async fn prune_deliveries(&self, before: Millis, keep: u32) -> StoreResult<u64>;
    /// Drops all but the newest `keep` lines of one receiver's log.
    async fn trim_deliveries(&self, receiver_id: &ReceiverId, keep: u32) -> StoreResult<u64>;
    /// How many jobs are waiting to run.
    async fn queue_depth(&self) -> StoreResult<u64>;
}

/// What running jobs have executed so far, for pages on other nodes, and
/// what a cancelled run printed before its cancel.
#[async_trait]
pub trait ProgressStore: Send + Sync {
    /// Keeps the notebook of a job `node` is running as far as it has
    /// executed, for pages on other nodes; false when it no longer holds it.
    async fn save_progress(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
        now: Millis,
    ) -> StoreResult<bool>;
    /// The notebook of an `EXECUTING` job as far as its node last said (or
    /// of one cancelled while it ran, until its node is done with it).
    async fn job_progress(&self, id: &JobId) -> StoreResult<Option<Vec<u8>>>;
    /// Forgets what [`ProgressStore::save_progress`] kept (an attempt ended).
    async fn clear_progress(&self, id: &JobId) -> StoreResult<()>;
    /// Keeps the notebook as far as it ran of a job `node` was running
    /// when it was cancelled; false when there is no such job.
    async fn keep_cancelled_notebook(
        &self,
        node: &NodeId,
        id: &JobId,
        notebook: &[u8],
    ) -> StoreResult<bool>;
}

/// The site value that holds the encryption key's check value.
pub const KEY_CHECK: &str = "key_check";

/// The site value that holds the system properties (a JSON object).
pub const SYSTEM_PROPERTIES: &str = "system_properties";

/// Values of the whole site, by name.
#[async_trait]
pub trait SiteStore: Send + Sync {
    async fn site_value(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value` under `name` unless a value is already there; either
    /// way returns the value that is stored now (the first writer wins).
    async fn put_site_value_once(&self, name: &str, value: &[u8]) -> StoreResult<Vec<u8>>;
    /// Stores `value` under `name`, replacing what was there.
    async fn set_site_value(&self, name: &str, value: &[u8]) -> StoreResult<()>;
}

/// Everything hookbook keeps.
pub trait Store:
    UserStore
    + RetryStore
    + RuntimeStore
    + NoticeStore
    + DashboardStore
    + TokenStore
    + ItemStore
    + UploadStore
    + ReceiverStore
    + IntakeStore
    + JobStore
    + ProgressStore
    + NodeStore
    + CopyStore
    + SiteStore
{
    /// Whether one process alone uses this database (SQLite): then every
    /// `EXECUTING` job found at start was left by a process that died.
    fn single_node(&self) -> bool;
}

/// Where the database is: parsed from `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(std::path::PathBuf),
    /// A `postgres://` or `postgresql://` URL, kept as given.
    Postgres(hookbook_core::domain::sensitive::Sensitive<String>),
}

impl DatabaseUrl {
    pub fn parse(input: &str) -> Result<Self, String> {
        if let Some(path) = input.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("a sqlite:// URL needs a file path, as in sqlite:///var/lib/hookbook/hookbook.db".into());
            }
            Ok(Self::Sqlite(path.into()))
        } else if input.starts_with("postgres://") || input.starts_with("postgresql://") {
            sqlx::postgres::PgConnectOptions::from_str(input).map_err(|e| {
                let why = e.to_string();
                let why = why.trim_start_matches("error with configuration: ");
                format!("is not a usable PostgreSQL URL ({why})")
            })?;
            Ok(Self::Postgres(
                hookbook_core::domain::sensitive::Sensitive::new(input.to_string()),
            ))
        } else {
            Err(
                "is not a database URL: expected sqlite://PATH or postgres://USER@HOST/DATABASE"
                    .into(),
            )
        }
    }
}

/// A URL as typed, without its password, for messages about it.
pub fn describe_url(text: &str) -> String {
    postgres::describe(text)
}

impl DatabaseUrl {
    /// The URL without a password, for messages.
    pub fn describe(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => postgres::describe(url.expose()),
        }
    }
}

/// Whether the database holds a hookbook site, making nothing: a SQLite
/// file or a PostgreSQL database with hookbook's tables.
pub async fn holds_a_site(url: &DatabaseUrl) -> anyhow::Result<bool> {
    match url {
        DatabaseUrl::Sqlite(path) => sqlite::holds_a_site(path).await,
        DatabaseUrl::Postgres(url) => postgres::holds_a_site(url.expose()).await,
    }
}

/// Opens the database, creating it and running migrations as needed.
pub async fn open(url: &DatabaseUrl) -> anyhow::Result<Arc<dyn Store>> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(path).await?)),
        DatabaseUrl::Postgres(url) => Ok(Arc::new(postgres::PgStore::open(url.expose()).await?)),
    }
}
