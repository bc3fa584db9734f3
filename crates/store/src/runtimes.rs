//! Runtimes as stored: the record, its trait (in [`Store`](super::Store))
//! and the row it is read back from. Every node builds a runtime's version
//! from the same stored lock.

use crate::Reading;
use async_trait::async_trait;

use super::StoreResult;
use hookbook_core::domain::runtime::{
    Limits, Preload, Requirements, Runtime, RuntimeId, RuntimeName, RuntimeState,
};
use hookbook_core::domain::time::Millis;

/// Runtimes, by id and by name.
#[async_trait]
pub trait RuntimeStore: Send + Sync {
    /// Stores a new runtime; `Conflict` when its name is taken (names
    /// compared without regard to case).
    async fn add_runtime(&self, runtime: &Runtime) -> StoreResult<()>;
    async fn runtime(&self, id: &RuntimeId) -> StoreResult<Option<Runtime>>;
    /// Every runtime, by name.
    async fn runtimes(&self) -> StoreResult<Vec<Runtime>>;
    /// Replaces a runtime's stored fields; `false` when it is gone,
    /// `Conflict` when the new name is another runtime's.
    async fn update_runtime(&self, runtime: &Runtime) -> StoreResult<bool>;
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
    pub fn parse(self) -> StoreResult<Runtime> {
        let row = Reading::of("runtimes", &self.id);
        Ok(Runtime {
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
