//! Runtimes as stored: the record, its trait (in [`Store`](super::Store))
//! and the row it is read back from. Every node builds a runtime's version
//! from the same stored lock.

use crate::Reading;
use async_trait::async_trait;

use super::StoreResult;
use hookbook_core::domain::runtime::{
    Limits, Preload, Requirements, RuntimeId, RuntimeName, RuntimeState,
};
use hookbook_core::domain::time::Millis;

/// A runtime and the state of its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeRecord {
    pub id: RuntimeId,
    pub name: RuntimeName,
    /// 1 when registered, one more at each update that changes what is
    /// installed.
    pub version: u32,
    pub requirements: Requirements,
    pub preload: Preload,
    pub limits: Limits,
    /// The exact versions resolved from `requirements`, once resolved.
    pub lock: Option<String>,
    pub state: RuntimeState,
    /// Why the last build failed, or what it is doing.
    pub message: String,
    pub created: Millis,
    pub modified: Millis,
}

/// What a registration or an update gives; on an update, a field left
/// `None` keeps its value.
#[derive(Debug, Default)]
pub struct RuntimeChange {
    pub name: Option<RuntimeName>,
    pub requirements: Option<Requirements>,
    pub preload: Option<Preload>,
    pub limits: Option<Limits>,
}

impl RuntimeRecord {
    /// A new runtime from `change` (version 1, to be built); `None` without
    /// a name.
    pub fn register(change: RuntimeChange, now: Millis) -> Option<Self> {
        Some(Self {
            id: RuntimeId::generate(),
            name: change.name?,
            version: 1,
            requirements: change.requirements.unwrap_or_default(),
            preload: change.preload.unwrap_or_default(),
            limits: change.limits.unwrap_or_default(),
            lock: None,
            state: RuntimeState::Building,
            message: String::new(),
            created: now,
            modified: now,
        })
    }

    /// Applies `change`: new requirements (or any after a failed build) make
    /// a new version, resolved and built afresh while the old one serves; a
    /// new name, preload list or limits do not.
    pub fn apply(&mut self, change: RuntimeChange, now: Millis) {
        if let Some(requirements) = change.requirements {
            if requirements != self.requirements || self.state == RuntimeState::Failed {
                self.requirements = requirements;
                self.version += 1;
                self.lock = None;
                self.state = RuntimeState::Building;
                self.message = String::new();
            }
        }
        if let Some(name) = change.name {
            self.name = name;
        }
        if let Some(preload) = change.preload {
            self.preload = preload;
        }
        if let Some(limits) = change.limits {
            self.limits = limits;
        }
        self.modified = now;
    }
}

/// Runtimes, by id and by name.
#[async_trait]
pub trait RuntimeStore: Send + Sync {
    /// Stores a new runtime; `Conflict` when its name is taken (names
    /// compared without regard to case).
    async fn add_runtime(&self, runtime: &RuntimeRecord) -> StoreResult<()>;
    async fn runtime(&self, id: &RuntimeId) -> StoreResult<Option<RuntimeRecord>>;
    /// Every runtime, by name.
    async fn runtimes(&self) -> StoreResult<Vec<RuntimeRecord>>;
    /// Replaces a runtime's stored fields; `false` when it is gone,
    /// `Conflict` when the new name is another runtime's.
    async fn update_runtime(&self, runtime: &RuntimeRecord) -> StoreResult<bool>;
    /// Sets the state (and lock, once resolved) of version `version` only:
    /// a build that finished after a newer update changes nothing.
    /// Returns whether it changed the runtime.
    async fn set_runtime_state(
        &self,
        id: &RuntimeId,
        version: u32,
        state: RuntimeState,
        lock: Option<&str>,
        message: &str,
    ) -> StoreResult<bool>;
    /// `false` when it was already gone.
    async fn remove_runtime(&self, id: &RuntimeId) -> StoreResult<bool>;
}

/// The columns of a runtime, as [`RuntimeRow`] reads them.
pub const RUNTIME_COLUMNS: &str = "id, name, name_key, version, requirements, preload, max_cpu, \
     max_memory, lock, state, message, created, modified";

#[derive(sqlx::FromRow)]
pub struct RuntimeRow {
    id: String,
    name: String,
    #[allow(dead_code)]
    name_key: String,
    version: i64,
    requirements: String,
    preload: String,
    max_cpu: Option<f64>,
    max_memory: Option<i64>,
    lock: Option<String>,
    state: String,
    message: String,
    created: i64,
    modified: i64,
}

impl RuntimeRow {
    pub fn parse(self) -> StoreResult<RuntimeRecord> {
        let row = Reading::of("runtimes", &self.id);
        Ok(RuntimeRecord {
            id: row.column("id", RuntimeId::parse(&self.id))?,
            name: row.column("name", RuntimeName::parse(&self.name))?,
            version: row.column("version", u32::try_from(self.version))?,
            requirements: row.column("requirements", Requirements::parse(&self.requirements))?,
            preload: row.column("preload", Preload::parse(&self.preload))?,
            limits: Limits {
                max_cpu: self.max_cpu,
                max_memory: self.max_memory.and_then(|m| u64::try_from(m).ok()),
            },
            lock: self.lock,
            state: row.column("state", RuntimeState::parse(&self.state))?,
            message: self.message,
            created: Millis(self.created),
            modified: Millis(self.modified),
        })
    }
}

/// The key a name is unique by.
pub fn name_key(name: &RuntimeName) -> String {
    name.as_str().to_lowercase()
}

/// The stored form of a preload list (a JSON list).
pub fn preload_text(preload: &Preload) -> String {
    serde_json::to_string(preload.modules()).unwrap_or_else(|_| "[]".into())
}
