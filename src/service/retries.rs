//! Retry policies: a receiver's own (its owner and administrators change
//! it) and the site's, which receivers without their own follow
//! (administrators change it; anyone signed in may read it).

use crate::domain::retry::{PolicyScope, ScopedPolicy};

use super::App;
use crate::domain::ids::ReceiverId;
use crate::domain::retry::RetryPolicy;
use crate::domain::user::User;
use crate::error::{Error, Result};

impl App {
    /// The policy the receiver's jobs follow, and whose it is.
    pub async fn receiver_retry_policy(
        &self,
        caller: &User,
        id: &ReceiverId,
    ) -> Result<ScopedPolicy> {
        self.receiver(caller, id).await?;
        Ok(self.store.effective_retry_policy(Some(id)).await?)
    }

    /// Gives the receiver a policy of its own, made by `change` from the
    /// one it follows now; a `change` giving `None` makes it follow the
    /// site's again.
    pub async fn set_receiver_retry_policy(
        &self,
        caller: &User,
        id: &ReceiverId,
        change: impl FnOnce(&RetryPolicy) -> Result<Option<RetryPolicy>>,
    ) -> Result<ScopedPolicy> {
        let current = self.receiver_retry_policy(caller, id).await?;
        let policy = change(&current.policy)?;
        self.store
            .set_retry_policy(PolicyScope::Receiver(*id), policy.as_ref())
            .await?;
        Ok(self.store.effective_retry_policy(Some(id)).await?)
    }

    pub async fn site_retry_policy(&self) -> Result<RetryPolicy> {
        Ok(self.store.effective_retry_policy(None).await?.policy)
    }

    /// Changes the site's policy with `change`; administrators only.
    pub async fn set_site_retry_policy(
        &self,
        caller: &User,
        change: impl FnOnce(&RetryPolicy) -> Result<RetryPolicy>,
    ) -> Result<RetryPolicy> {
        if !caller.is_admin() {
            return Err(Error::Forbidden);
        }
        let policy = change(&self.site_retry_policy().await?)?;
        self.store
            .set_retry_policy(PolicyScope::Site, Some(&policy))
            .await?;
        self.site_retry_policy().await
    }
}
