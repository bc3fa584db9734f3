//! Users: creating them (from the command line), their profiles, and
//! the portal's user search.

use std::cmp::Ordering;

use super::items::{page_of, Found, Paging};
use crate::domain::search::{SortField, SortOrder, Term, UserField, UserQuery, PORTAL_ID};
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
            last_sign_in: None,
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

impl super::auth::SignIn {
    /// The users the caller may see that match `query`, in the order and
    /// page asked for: every user for an administrator, only oneself for
    /// anyone else (hookbook has no organization directory to share).
    pub async fn search_users(
        &self,
        caller: &User,
        query: &UserQuery,
        paging: &Paging,
    ) -> Result<Found<UserRecord>> {
        let visible = if caller.is_admin() {
            self.users.all_users().await?
        } else {
            self.users
                .user(&caller.username)
                .await?
                .into_iter()
                .collect()
        };
        let mut found: Vec<UserRecord> = visible
            .into_iter()
            .filter(|r| query.matches(&|t| user_matches(&r.user, t)))
            .collect();
        found.sort_by(|a, b| {
            let mut order = Ordering::Equal;
            for key in &paging.sort {
                order = order.then_with(|| {
                    let o = match key {
                        SortField::Created => a.created.cmp(&b.created),
                        SortField::Username | SortField::FullName | SortField::Title => {
                            a.user.username.as_str().cmp(b.user.username.as_str())
                        }
                        _ => Ordering::Equal,
                    };
                    match paging.order {
                        SortOrder::Asc => o,
                        SortOrder::Desc => o.reverse(),
                    }
                });
            }
            order.then_with(|| a.user.username.as_str().cmp(b.user.username.as_str()))
        });
        Ok(page_of(found, paging))
    }
}

/// Whether `user` matches one term of a user search; a user's full name
/// is its user name.
fn user_matches(user: &User, term: &Term<UserField>) -> bool {
    let p = &term.pattern;
    let name = user.username.as_str();
    match term.field {
        None => p.keyword(name) || p.text(name),
        Some(UserField::Username) => p.keyword(name),
        Some(UserField::FullName) => p.text(name),
        Some(UserField::Role) => {
            let esri = if user.is_admin() {
                "org_admin"
            } else {
                "org_user"
            };
            p.keyword(esri) || p.keyword(user.role.as_str())
        }
        Some(UserField::AccountId) => p.keyword(PORTAL_ID),
    }
}
