//! Creating users (from the command line).

use crate::domain::time::Millis;
use crate::domain::user::{Password, User};
use crate::error::Result;
use crate::security::password;
use crate::store::{Store, UserRecord};

/// Hashes the password off the async threads and stores the user; a taken
/// name is a `Conflict`.
pub async fn add_user(store: &dyn Store, user: User, password: Password) -> Result<()> {
    let password_hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(anyhow::Error::from)??;
    store
        .add_user(&UserRecord {
            user,
            password_hash,
            created: Millis::now(),
            tokens_revoked: None,
        })
        .await?;
    Ok(())
}
