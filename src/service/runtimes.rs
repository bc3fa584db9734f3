//! Runtimes, for administrators only: register, read, update and
//! unregister. A change to what is installed makes a new version, which
//! the nodes that run notebooks build (woken through `Runs`).

use crate::domain::runtime::{Runtime, RuntimeChange};

use crate::domain::runtime::RuntimeId;
use crate::domain::time::Millis;
use crate::domain::user::User;
use crate::domain::ParseError;
use crate::error::{Error, Result};
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
}

impl Runtimes {
    pub fn new(store: &Arc<dyn Store>, runs: Arc<Runs>) -> Self {
        Self {
            runtimes: store.clone(),
            runs,
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
