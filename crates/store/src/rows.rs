//! Rows as both databases return them, and their parsing into records: one
//! definition for SQLite and PostgreSQL. Columns hold text, integers, bytes,
//! booleans and (for a retry policy's factor) one floating-point number,
//! so the same `FromRow` derive reads either.

use hookbook_core::domain::event::Event;

use hookbook_core::domain::retry::{PolicyScope, ScopedPolicy};

use hookbook_core::domain::notebook::Item;

use hookbook_core::domain::notice::{Channel, Notice, NoticeStatus};

use hookbook_core::domain::delivery::{Delivery, DeliveryOutcome, DeliveryRun, LoggedDelivery};

use crate::{
    DestinationRecord, Reading, ReceiverRecord, StoreResult, StoredEvent, TokenRecord, UserRecord,
};
use hookbook_core::domain::event::SignedPart;
use hookbook_core::domain::ids::{BatchId, EventId, ItemId, JobId, ReceiverId};
use hookbook_core::domain::job::{Job, JobInputs, JobKind, JobStatus};
use hookbook_core::domain::notebook::{ItemTitle, Tags};
use hookbook_core::domain::receiver::Parameters;
use hookbook_core::domain::retry::{Failure, RetryPolicy};
use hookbook_core::domain::time::Millis;
use hookbook_core::domain::upload::{Upload, UploadState};
use hookbook_core::domain::user::{User, Username};
use hookbook_core::security::token::TokenHash;

pub const USER_COLUMNS: &str =
    "username, password_hash, role, privileges, created, tokens_revoked, last_sign_in";

#[derive(sqlx::FromRow)]
pub struct UserRow {
    username: String,
    password_hash: String,
    role: String,
    privileges: String,
    created: i64,
    tokens_revoked: Option<i64>,
    last_sign_in: Option<i64>,
}

impl UserRow {
    pub fn parse(self) -> StoreResult<UserRecord> {
        let row = Reading::of("users", &self.username);
        let privileges = self
            .privileges
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>();
        Ok(UserRecord {
            user: User {
                username: row.column("username", Username::parse(&self.username))?,
                role: row.column("role", self.role.parse())?,
                privileges: row.column("privileges", privileges)?,
            },
            password_hash: self.password_hash,
            created: Millis(self.created),
            tokens_revoked: self.tokens_revoked.map(Millis),
            last_sign_in: self.last_sign_in.map(Millis),
        })
    }
}

/// The stored form of a user's privileges.
pub fn privileges(user: &User) -> String {
    let held: Vec<&str> = user.privileges.iter().map(|p| p.as_str()).collect();
    held.join(",")
}

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    hash: Vec<u8>,
    username: String,
    created: i64,
    expires: i64,
}

impl TokenRow {
    pub fn parse(self) -> StoreResult<TokenRecord> {
        // A token's row is named by its user: its hash is its key, but
        // even a hash of a token is not for the log.
        let row = Reading::of("tokens", &self.username);
        let length = self.hash.len();
        let hash = self
            .hash
            .try_into()
            .map_err(|_| format!("{length} bytes, not 32"));
        Ok(TokenRecord {
            hash: TokenHash(row.column("hash", hash)?),
            username: row.column("username", Username::parse(&self.username))?,
            created: Millis(self.created),
            expires: Millis(self.expires),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ItemRow {
    id: String,
    owner: String,
    title: String,
    tags: String,
    created: i64,
    modified: i64,
    size: i64,
}

impl ItemRow {
    pub fn parse(self) -> StoreResult<Item> {
        let row = Reading::of("items", &self.id);
        Ok(Item {
            id: row.column("id", ItemId::parse(&self.id))?,
            owner: row.column("owner", Username::parse(&self.owner))?,
            title: row.column("title", ItemTitle::parse(&self.title))?,
            tags: row.column("tags", Tags::parse(&self.tags))?,
            created: Millis(self.created),
            modified: Millis(self.modified),
            size: self.size,
        })
    }
}

pub const UPLOAD_COLUMNS: &str = "id, owner, title, tags, state, message, created, modified";

#[derive(sqlx::FromRow)]
pub struct UploadRow {
    id: String,
    owner: String,
    title: String,
    tags: String,
    state: String,
    message: String,
    created: i64,
    modified: i64,
}

impl UploadRow {
    pub fn parse(self) -> StoreResult<Upload> {
        let row = Reading::of("uploads", &self.id);
        Ok(Upload {
            id: row.column("id", ItemId::parse(&self.id))?,
            owner: row.column("owner", Username::parse(&self.owner))?,
            title: row.column("title", ItemTitle::parse(&self.title))?,
            tags: row.column("tags", Tags::parse(&self.tags))?,
            state: row.known("state", &self.state, UploadState::from_stored(&self.state))?,
            message: self.message,
            created: Millis(self.created),
            modified: Millis(self.modified),
        })
    }
}

pub const RECEIVER_COLUMNS: &str =
    "id, name, item_id, owner, signature_headers, disabled, secret, \
     previous_secret, previous_secret_until, api_token, parameters, message, created, modified";

#[derive(sqlx::FromRow)]
pub struct ReceiverRow {
    id: String,
    name: String,
    item_id: String,
    owner: String,
    signature_headers: String,
    disabled: bool,
    secret: Vec<u8>,
    previous_secret: Option<Vec<u8>>,
    previous_secret_until: Option<i64>,
    api_token: Option<Vec<u8>>,
    parameters: String,
    message: String,
    created: i64,
    modified: i64,
}

impl ReceiverRow {
    pub fn parse(self) -> StoreResult<ReceiverRecord> {
        let row = Reading::of("receivers", &self.id);
        Ok(ReceiverRecord {
            id: row.column("id", ReceiverId::parse(&self.id))?,
            name: self.name,
            item_id: row.column("item_id", ItemId::parse(&self.item_id))?,
            owner: row.column("owner", Username::parse(&self.owner))?,
            signature_headers: self.signature_headers,
            disabled: self.disabled,
            secret: self.secret,
            previous_secret: self
                .previous_secret
                .zip(self.previous_secret_until.map(Millis)),
            api_token: self.api_token,
            parameters: self.parameters,
            message: self.message,
            created: Millis(self.created),
            modified: Millis(self.modified),
        })
    }
}

/// A job's columns; `has_notebook` is computed, the notebook itself is
/// read on its own.
pub const JOB_COLUMNS: &str = "id, kind, status, item_id, receiver_id, event_id, username, \
     parameters, submitted, start_time, end_time, messages, attempts, timeout_minutes, inputs, \
     notebook IS NOT NULL AS has_notebook, replay_of, replay_batch, max_attempts, retry_at";

#[derive(sqlx::FromRow)]
pub struct JobRow {
    id: String,
    kind: String,
    status: String,
    item_id: String,
    receiver_id: Option<String>,
    event_id: Option<String>,
    username: String,
    parameters: String,
    submitted: i64,
    start_time: Option<i64>,
    end_time: Option<i64>,
    messages: String,
    attempts: i64,
    timeout_minutes: Option<i64>,
    inputs: String,
    has_notebook: bool,
    replay_of: Option<String>,
    replay_batch: Option<String>,
    max_attempts: Option<i64>,
    retry_at: Option<i64>,
}

impl JobRow {
    pub fn parse(self) -> StoreResult<Job> {
        let row = Reading::of("jobs", &self.id);
        Ok(Job {
            id: row.column("id", JobId::parse(&self.id))?,
            kind: row.column("kind", JobKind::parse(&self.kind))?,
            status: row.column("status", JobStatus::parse(&self.status))?,
            item_id: row.column("item_id", ItemId::parse(&self.item_id))?,
            receiver_id: row.column(
                "receiver_id",
                self.receiver_id
                    .as_deref()
                    .map(ReceiverId::parse)
                    .transpose(),
            )?,
            event_id: row.column(
                "event_id",
                self.event_id.as_deref().map(EventId::parse).transpose(),
            )?,
            username: row.column("username", Username::parse(&self.username))?,
            parameters: row.column("parameters", Parameters::parse(&self.parameters))?,
            submitted: Millis(self.submitted),
            start_time: self.start_time.map(Millis),
            end_time: self.end_time.map(Millis),
            messages: row.column("messages", serde_json::from_str(&self.messages))?,
            attempts: row.column("attempts", u32::try_from(self.attempts))?,
            timeout_minutes: row.column(
                "timeout_minutes",
                self.timeout_minutes.map(u32::try_from).transpose(),
            )?,
            inputs: JobInputs::from_json(&self.inputs),
            has_notebook: self.has_notebook,
            replay_of: row.column(
                "replay_of",
                self.replay_of.as_deref().map(JobId::parse).transpose(),
            )?,
            replay_batch: row.column(
                "replay_batch",
                self.replay_batch.as_deref().map(BatchId::parse).transpose(),
            )?,
            max_attempts: row.column(
                "max_attempts",
                self.max_attempts.map(u32::try_from).transpose(),
            )?,
            retry_at: self.retry_at.map(Millis),
        })
    }
}

/// A job's messages as stored: a JSON array of strings.
pub fn messages(messages: &[impl AsRef<str>]) -> String {
    let list: Vec<&str> = messages.iter().map(AsRef::as_ref).collect();
    serde_json::Value::from(list).to_string()
}

/// A receiver's delivery log, newest first: the lines of deliveries not
/// accepted (refused, duplicates), and one per webhook job other than a
/// replay, which is what an accepted delivery became, so that acceptance
/// writes no line of its own. `receiver` and `limit` are the two placeholders, and `length` the
/// function giving a blob's size in bytes, in the database's spelling.
pub fn delivery_log_sql(receiver: &str, limit: &str, length: &str) -> String {
    format!(
        "SELECT log.receiver_id, log.time, log.outcome, log.reason, log.job_id, log.size, \
             j.status AS job_status, j.start_time AS job_start, j.end_time AS job_end, \
             j.messages AS job_messages FROM ( \
         SELECT * FROM (SELECT receiver_id, time, outcome, reason, job_id, size FROM deliveries \
             WHERE receiver_id = {receiver} ORDER BY seq DESC LIMIT {limit}) AS lines \
         UNION ALL \
         SELECT * FROM (SELECT j.receiver_id, j.submitted AS time, 'accepted' AS outcome, '' AS reason, \
             j.id AS job_id, {length}(e.body) AS size FROM jobs j JOIN events e ON e.id = j.event_id \
             WHERE j.receiver_id = {receiver} AND j.kind = 'webhook' AND j.replay_of IS NULL \
             ORDER BY j.submitted DESC, j.id DESC LIMIT {limit}) AS accepted \
         ) AS log LEFT JOIN jobs j ON j.id = log.job_id ORDER BY log.time DESC LIMIT {limit}"
    )
}

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    receiver_id: String,
    time: i64,
    outcome: String,
    reason: String,
    job_id: Option<String>,
    size: i64,
    job_status: Option<String>,
    job_start: Option<i64>,
    job_end: Option<i64>,
    job_messages: Option<String>,
}

impl DeliveryRow {
    pub fn parse(self) -> StoreResult<LoggedDelivery> {
        // A line of the log has no id of its own: its receiver and time
        // name it.
        let key = format!("{} at {}", self.receiver_id, self.time);
        let row = Reading::of("deliveries", &key);
        let run = match self.job_status.as_deref() {
            None => None,
            Some(status) => {
                let status = row.column("job_status", JobStatus::parse(status))?;
                let messages: Vec<String> = match self.job_messages.as_deref() {
                    None => Vec::new(),
                    Some(text) => row.column("job_messages", serde_json::from_str(text))?,
                };
                Some(DeliveryRun {
                    status,
                    started: self.job_start.map(Millis),
                    ended: self.job_end.map(Millis),
                    error: hookbook_core::domain::job::error_line(status, &messages),
                })
            }
        };
        let delivery = Delivery {
            receiver_id: row.column("receiver_id", ReceiverId::parse(&self.receiver_id))?,
            time: Millis(self.time),
            outcome: row.known(
                "outcome",
                &self.outcome,
                DeliveryOutcome::parse(&self.outcome),
            )?,
            reason: self.reason,
            job_id: row.column(
                "job_id",
                self.job_id.as_deref().map(JobId::parse).transpose(),
            )?,
            size: self.size,
        };
        Ok(LoggedDelivery { delivery, run })
    }
}

pub const EVENT_COLUMNS: &str = "id, receiver_id, delivery_id, received, headers, body, signed";

#[derive(sqlx::FromRow)]
pub struct EventRow {
    id: String,
    receiver_id: String,
    delivery_id: Option<String>,
    received: i64,
    headers: String,
    body: Vec<u8>,
    signed: String,
}

impl EventRow {
    pub fn parse(self) -> StoreResult<StoredEvent> {
        let row = Reading::of("events", &self.id);
        Ok(StoredEvent {
            id: row.column("id", EventId::parse(&self.id))?,
            receiver_id: row.column("receiver_id", ReceiverId::parse(&self.receiver_id))?,
            delivery_id: self.delivery_id,
            received: Millis(self.received),
            headers: self.headers,
            body: self.body,
            signed: row.known("signed", &self.signed, SignedPart::parse(&self.signed))?,
        })
    }
}

impl From<StoredEvent> for Event {
    fn from(e: StoredEvent) -> Self {
        Event {
            headers: e.headers,
            body: e.body,
            signed: e.signed,
        }
    }
}

/// The columns of a retry policy, as [`PolicyRow`] reads them.
pub const POLICY_COLUMNS: &str = "scope, max_attempts, delay_seconds, backoff_factor, \
     max_delay_seconds, on_error, on_timeout, on_lost_node";

#[derive(sqlx::FromRow)]
pub struct PolicyRow {
    scope: String,
    max_attempts: i64,
    delay_seconds: i64,
    backoff_factor: f64,
    max_delay_seconds: i64,
    on_error: bool,
    on_timeout: bool,
    on_lost_node: bool,
}

impl PolicyRow {
    pub fn parse(self) -> StoreResult<ScopedPolicy> {
        let row = Reading::of("retry_policies", &self.scope);
        let scope = match self.scope.as_str() {
            "site" => PolicyScope::Site,
            id => PolicyScope::Receiver(row.column("scope", ReceiverId::parse(id))?),
        };
        let whole = |column, n: i64| row.column(column, u32::try_from(n));
        let on = [
            (self.on_error, Failure::Error),
            (self.on_timeout, Failure::Timeout),
            (self.on_lost_node, Failure::LostNode),
        ];
        let policy = RetryPolicy::new(
            whole("max_attempts", self.max_attempts)?,
            whole("delay_seconds", self.delay_seconds)?,
            self.backoff_factor,
            whole("max_delay_seconds", self.max_delay_seconds)?,
            on.into_iter()
                .filter(|(set, _)| *set)
                .map(|(_, f)| f)
                .collect(),
        );
        // The policy's own check names the limit at fault.
        let policy = policy.map_err(|(field, why)| format!("{field} {why}"));
        let policy = row.column("limits", policy)?;
        Ok(ScopedPolicy { scope, policy })
    }
}

/// A policy scope's key in `retry_policies`.
pub fn scope_key(scope: PolicyScope) -> String {
    match scope {
        PolicyScope::Site => "site".to_string(),
        PolicyScope::Receiver(id) => id.to_string(),
    }
}

pub const DESTINATION_COLUMNS: &str = "username, url, secret, email, modified";

#[derive(sqlx::FromRow)]
pub struct DestinationRow {
    username: String,
    url: Option<String>,
    secret: Vec<u8>,
    email: Option<String>,
    modified: i64,
}

impl DestinationRow {
    pub fn parse(self) -> StoreResult<DestinationRecord> {
        Ok(DestinationRecord {
            username: Reading::of("notice_destinations", &self.username)
                .column("username", Username::parse(&self.username))?,
            url: self.url,
            secret: self.secret,
            email: self.email,
            modified: Millis(self.modified),
        })
    }
}

pub const NOTICE_COLUMNS: &str =
    "job_id, channel, username, status, attempts, due, created, last_time, last_outcome";

#[derive(sqlx::FromRow)]
pub struct NoticeRow {
    job_id: String,
    channel: String,
    username: String,
    status: String,
    attempts: i64,
    due: i64,
    created: i64,
    last_time: Option<i64>,
    last_outcome: String,
}

impl NoticeRow {
    pub fn parse(self) -> StoreResult<Notice> {
        let key = format!("{} by {}", self.job_id, self.channel);
        let row = Reading::of("notices", &key);
        Ok(Notice {
            job_id: row.column("job_id", JobId::parse(&self.job_id))?,
            channel: row.known("channel", &self.channel, Channel::parse(&self.channel))?,
            username: row.column("username", Username::parse(&self.username))?,
            status: row.known("status", &self.status, NoticeStatus::parse(&self.status))?,
            attempts: self.attempts,
            due: Millis(self.due),
            created: Millis(self.created),
            last_time: self.last_time.map(Millis),
            last_outcome: self.last_outcome,
        })
    }
}
