//! Runtimes, for administrators only: register, read, update and
//! unregister, restore the presets, validate. A change to what is
//! installed makes a new version, which the nodes that run notebooks build
//! (woken through `Runs`).

use crate::domain::runtime::{Runtime, RuntimeChange};

use crate::domain::runtime::{self, RuntimeId, RuntimeState};
use crate::domain::time::Millis;
use crate::domain::user::User;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::runner::build::Builder;
use crate::runner::runs::Runs;
use crate::store::StoreError;
use crate::store::{RuntimeStore, Store};
use std::sync::Arc;

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
            problem: ParseError::new(format!("{what} already exists")),
        },
        other => other.into(),
    }
}

/// Runtimes: registering, updating and removing them; each change wakes
/// this node's builder.
pub struct Runtimes {
    runtimes: Arc<dyn RuntimeStore>,
    runs: Arc<Runs>,
    /// This node's builder, when it runs notebooks: `validate` looks at
    /// its environments.
    builder: Option<Builder>,
}

/// What `validate` found of one runtime: what is wrong, in sentences.
#[derive(Debug)]
pub struct Validation {
    pub runtime: Runtime,
    pub problems: Vec<String>,
}

impl Runtimes {
    pub fn new(store: &Arc<dyn Store>, runs: Arc<Runs>, builder: Option<Builder>) -> Self {
        Self {
            runtimes: store.clone(),
            runs,
            builder,
        }
    }
}

impl Runtimes {
    pub async fn runtimes(&self, caller: &User) -> Result<Vec<Runtime>> {
        require_admin(caller)?;
        Ok(self.runtimes.runtimes().await?)
    }

    pub async fn runtime(&self, caller: &User, id: &RuntimeId) -> Result<Runtime> {
        require_admin(caller)?;
        self.runtimes
            .runtime(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Stores a new runtime (version 1, to be built) and wakes the builder.
    pub async fn register_runtime(&self, caller: &User, change: RuntimeChange) -> Result<Runtime> {
        require_admin(caller)?;
        let record =
            Runtime::register(change, Millis::now()).ok_or_else(|| Error::missing("name"))?;
        self.runtimes.add_runtime(&record).await.map_err(taken)?;
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
    ) -> Result<Runtime> {
        let mut r = self.runtime(caller, id).await?;
        r.apply(change, Millis::now());
        if !self.runtimes.update_runtime(&r).await.map_err(taken)? {
            return Err(not_found(id));
        }
        self.runs.builds.notify_one();
        Ok(r)
    }

    /// Puts the runtimes hookbook ships back as they were: a preset's
    /// runtime (found by name) gets the preset's requirements, preload list
    /// and no limits (a new version if its requirements differ); a missing
    /// one is registered. Other runtimes stay.
    pub async fn restore_presets(&self, caller: &User) -> Result<Vec<Runtime>> {
        require_admin(caller)?;
        let existing = self.runtimes.runtimes().await?;
        let mut restored = Vec::new();
        for preset in runtime::PRESETS {
            let change = preset.change().map_err(|e| {
                Error::Internal(anyhow::anyhow!("the preset '{}': {e}", preset.name))
            })?;
            let now = Millis::now();
            match existing.iter().find(|r| r.name.matches(preset.name)) {
                Some(r) => {
                    let mut r = r.clone();
                    r.apply(change, now);
                    self.runtimes.update_runtime(&r).await.map_err(taken)?;
                    restored.push(r);
                }
                None => {
                    let r = Runtime::register(change, now).ok_or_else(|| Error::missing("name"))?;
                    self.runtimes.add_runtime(&r).await.map_err(taken)?;
                    restored.push(r);
                }
            }
        }
        self.runs.builds.notify_one();
        Ok(restored)
    }

    /// Each runtime checked against its lock: resolved, and (on a node that
    /// runs notebooks) built here from that lock with exactly its packages.
    pub async fn validate(&self, caller: &User) -> Result<Vec<Validation>> {
        let mut found = Vec::new();
        for runtime in self.runtimes(caller).await? {
            let problems = match &self.builder {
                Some(builder) => builder.check(&runtime).await,
                None => lock_only(&runtime),
            };
            found.push(Validation { runtime, problems });
        }
        Ok(found)
    }

    /// Removes the runtime; each node's builder removes its environments.
    pub async fn unregister_runtime(&self, caller: &User, id: &RuntimeId) -> Result<()> {
        require_admin(caller)?;
        if !self.runtimes.remove_runtime(id).await? {
            return Err(not_found(id));
        }
        self.runs.builds.notify_one();
        Ok(())
    }
}

/// What a node without environments can say of a runtime: whether its
/// current version is resolved and built somewhere.
fn lock_only(r: &Runtime) -> Vec<String> {
    let v = r.version;
    match (r.state, r.lock.is_some()) {
        (RuntimeState::Failed, _) => vec![format!("version {v} failed to build: {}", r.message)],
        (_, false) => vec![format!(
            "version {v}'s requirements are not resolved into a lock yet"
        )],
        (RuntimeState::Building, true) => vec![format!("version {v} is being built")],
        (RuntimeState::Ready, true) => Vec::new(),
    }
}
