//! Failure notices: where a user's go (the user and administrators set
//! it) and what became of them.

use crate::domain::notice::Notice;

use super::Settings;
use crate::domain::notice::{Destination, EmailAddress};
use crate::domain::outbound::Allowlist;
use crate::domain::outbound::NoticeUrl;
use crate::domain::receiver::Secret;
use crate::domain::time::Millis;
use crate::domain::user::{User, Username};
use crate::error::{Error, Result};
use crate::security::vault::Vault;
use crate::store::sealed::{open_destination, seal_destination};
use crate::store::{NoticeStore, Store, UserStore};
use std::sync::Arc;

/// The most notices one answer lists.
pub const MAX_NOTICES: u32 = 1_000;

/// What an update of a destination changes; `None` keeps a field.
#[derive(Debug, Default)]
pub struct DestinationChange {
    /// `Some(None)` removes the URL.
    pub url: Option<Option<NoticeUrl>>,
    /// `Some(None)` removes the address.
    pub email: Option<Option<EmailAddress>>,
    /// A new signing secret replaces the old one.
    pub new_secret: bool,
}

fn invalid(field: &'static str, why: String) -> Error {
    Error::Invalid {
        field,
        problem: crate::domain::ParseError::new(why),
    }
}

/// Failure notices: users' destinations (their secrets sealed) and the
/// notices sent.
pub struct Notices {
    notices: Arc<dyn NoticeStore>,
    users: Arc<dyn UserStore>,
    vault: Vault,
    /// Where notices may be sent (`--notice-allow`).
    notice_allow: Arc<Allowlist>,
    /// Whether an SMTP server is configured for email notices.
    email_notices: bool,
}

impl Notices {
    pub fn new(store: &Arc<dyn Store>, vault: Vault, settings: &Settings) -> Self {
        Self {
            notices: store.clone(),
            users: store.clone(),
            vault,
            notice_allow: settings.notice_allow.clone(),
            email_notices: settings.email_notices,
        }
    }
}

impl Notices {
    /// Refuses callers other than the user and administrators, and users
    /// that do not exist.
    async fn may_see_notices_of(&self, caller: &User, username: &Username) -> Result<()> {
        if caller.username != *username && !caller.is_admin() {
            return Err(Error::Forbidden);
        }
        if self.users.user(username).await?.is_none() {
            return Err(Error::NotFound(format!(
                "User '{}' does not exist.",
                username.as_str()
            )));
        }
        Ok(())
    }

    pub async fn notice_destination(
        &self,
        caller: &User,
        username: &Username,
    ) -> Result<Option<Destination>> {
        self.may_see_notices_of(caller, username).await?;
        match self.notices.notice_destination(username).await? {
            Some(record) => Ok(Some(open_destination(&self.vault, record)?)),
            None => Ok(None),
        }
    }

    /// Changes where `username`'s notices go; a destination left with
    /// neither URL nor address is removed. A URL must be one the operator
    /// allows; an address needs an SMTP server.
    pub async fn set_notice_destination(
        &self,
        caller: &User,
        username: &Username,
        change: DestinationChange,
    ) -> Result<Option<Destination>> {
        if let Some(Some(url)) = &change.url {
            self.notice_allow
                .check_host(url.host())
                .map_err(|why| invalid("url", why))?;
        }
        if let (Some(Some(_)), false) = (&change.email, self.email_notices) {
            return Err(invalid(
                "email",
                "this server has no SMTP server to send email through (--smtp-url)".into(),
            ));
        }
        let current = self.notice_destination(caller, username).await?;
        let keep_secret = current.as_ref().filter(|_| !change.new_secret);
        let destination = Destination {
            username: username.clone(),
            url: change
                .url
                .unwrap_or_else(|| current.as_ref().and_then(|d| d.url.clone())),
            secret: keep_secret.map_or_else(Secret::generate_standard, |d| d.secret.clone()),
            email: change
                .email
                .unwrap_or_else(|| current.as_ref().and_then(|d| d.email.clone())),
            modified: Millis::now(),
        };
        if destination.url.is_none() && destination.email.is_none() {
            self.notices.set_notice_destination(username, None).await?;
            return Ok(None);
        }
        let record = seal_destination(&self.vault, &destination);
        self.notices
            .set_notice_destination(username, Some(&record))
            .await?;
        Ok(Some(destination))
    }

    /// Notices, newest first: `username`'s, or (administrators, without a
    /// name) everyone's.
    pub async fn notices(
        &self,
        caller: &User,
        username: Option<&Username>,
        limit: u32,
    ) -> Result<Vec<Notice>> {
        let whose = match username {
            Some(name) => {
                self.may_see_notices_of(caller, name).await?;
                Some(name)
            }
            None if caller.is_admin() => None,
            None => Some(&caller.username),
        };
        Ok(self.notices.notices(whose, limit.min(MAX_NOTICES)).await?)
    }
}
