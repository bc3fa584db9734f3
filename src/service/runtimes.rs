//! Runtimes, for administrators only: register, read, update and
//! unregister. A change to what is installed makes a new version, which
//! the nodes that run notebooks build (woken through `Runs`).

use super::App;
use crate::domain::runtime::{Limits, Preload, Requirements, RuntimeId, RuntimeName, RuntimeState};
use crate::domain::time::Millis;
use crate::domain::user::User;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::store::{RuntimeRecord, StoreError};

/// What a registration or an update gives; on an update, a field left
/// `None` keeps its value.
#[derive(Debug, Default)]
pub struct RuntimeChange {
    pub name: Option<RuntimeName>,
    pub requirements: Option<Requirements>,
    pub preload: Option<Preload>,
    pub limits: Option<Limits>,
}

fn require_admin(caller: &User) -> Result<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn not_found(id: &RuntimeId) -> Error {
    Error::NotFound(format!("Runtime '{id}' does not exist."))
}

/// A taken name is the caller's mistake, named as such.
fn taken(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(what) => Error::Invalid {
            field: "name",
            source: ParseError::new(format!("{what} already exists")),
        },
        other => other.into(),
    }
}

impl App {
    pub async fn runtimes(&self, caller: &User) -> Result<Vec<RuntimeRecord>> {
        require_admin(caller)?;
        Ok(self.store.runtimes().await?)
    }

    pub async fn runtime(&self, caller: &User, id: &RuntimeId) -> Result<RuntimeRecord> {
        require_admin(caller)?;
        self.store.runtime(id).await?.ok_or_else(|| not_found(id))
    }

    /// Stores a new runtime (version 1, to be built) and wakes the builder.
    pub async fn register_runtime(
        &self,
        caller: &User,
        change: RuntimeChange,
    ) -> Result<RuntimeRecord> {
        require_admin(caller)?;
        let now = Millis::now();
        let record = RuntimeRecord {
            id: RuntimeId::generate(),
            name: change.name.ok_or_else(|| Error::missing("name"))?,
            version: 1,
            requirements: change.requirements.unwrap_or_default(),
            preload: change.preload.unwrap_or_default(),
            limits: change.limits.unwrap_or_default(),
            lock: None,
            state: RuntimeState::Building,
            message: String::new(),
            created: now,
            modified: now,
        };
        self.store.add_runtime(&record).await.map_err(taken)?;
        self.runs.builds.notify_one();
        Ok(record)
    }

    /// Applies `change`; new requirements make a new version (resolved and
    /// built afresh; the old one serves until it is built), while a new
    /// name, preload list or limits do not.
    pub async fn update_runtime(
        &self,
        caller: &User,
        id: &RuntimeId,
        change: RuntimeChange,
    ) -> Result<RuntimeRecord> {
        let mut r = self.runtime(caller, id).await?;
        if let Some(requirements) = change.requirements {
            if requirements != r.requirements || r.state == RuntimeState::Failed {
                r.requirements = requirements;
                r.version += 1;
                r.lock = None;
                r.state = RuntimeState::Building;
                r.message = String::new();
            }
        }
        r.name = change.name.unwrap_or(r.name);
        r.preload = change.preload.unwrap_or(r.preload);
        r.limits = change.limits.unwrap_or(r.limits);
        r.modified = Millis::now();
        if !self.store.update_runtime(&r).await.map_err(taken)? {
            return Err(not_found(id));
        }
        self.runs.builds.notify_one();
        Ok(r)
    }

    /// Removes the runtime; each node's builder removes its environments.
    pub async fn unregister_runtime(&self, caller: &User, id: &RuntimeId) -> Result<()> {
        require_admin(caller)?;
        if !self.store.remove_runtime(id).await? {
            return Err(not_found(id));
        }
        self.runs.builds.notify_one();
        Ok(())
    }
}
