//! Users: creating them (from the command line), and their profiles.

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

impl super::auth::SignIn {
    /// A user's profile, as the portal's `community/users/<name>` shows it:
    /// the caller's own, or anyone's for an administrator (another user's
    /// is `Forbidden`, whether or not it exists).
    pub async fn user_profile(
        &self,
        caller: &User,
        username: &crate::domain::user::Username,
    ) -> Result<User> {
        if caller.username != *username && !caller.is_admin() {
            return Err(crate::error::Error::Forbidden);
        }
        match self.users.user(username).await? {
            Some(record) => Ok(record.user),
            None => Err(crate::error::Error::NotFound(format!(
                "User '{username}' does not exist."
            ))),
        }
    }
}
