//! Retry policies: a receiver's own (its owner and administrators change
//! it) and the site's, which receivers without their own follow
//! (administrators change it; anyone signed in may read it).

use crate::domain::retry::{PolicyScope, ScopedPolicy};

use super::receivers::Receivers;
use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::retry::RetryPolicy;
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::store::{RetryStore, Store};
use std::sync::Arc;

/// Retry policies: the site's and each receiver's own.
pub struct Retries {
    policies: Arc<dyn RetryStore>,
    receivers: Arc<Receivers>,
}

impl Retries {
    pub fn new(store: &Arc<dyn Store>, receivers: Arc<Receivers>) -> Self {
        Self {
            policies: store.clone(),
            receivers,
        }
    }
}

impl Retries {
    /// The receiver, and the policy its jobs follow with whose it is.
    pub async fn receiver_and_policy(
        &self,
        caller: &User,
        id: &ReceiverId,
    ) -> Result<(Receiver, ScopedPolicy)> {
        let receiver = self.receivers.receiver(caller, id).await?;
        Ok((
            receiver,
            self.policies.effective_retry_policy(Some(id)).await?,
        ))
    }

    /// The policy the receiver's jobs follow, and whose it is.
    pub async fn receiver_retry_policy(
        &self,
        caller: &User,
        id: &ReceiverId,
    ) -> Result<ScopedPolicy> {
        Ok(self.receiver_and_policy(caller, id).await?.1)
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
        self.policies
            .set_retry_policy(PolicyScope::Receiver(*id), policy.as_ref())
            .await?;
        Ok(self.policies.effective_retry_policy(Some(id)).await?)
    }

    pub async fn site_retry_policy(&self) -> Result<RetryPolicy> {
        Ok(self.policies.effective_retry_policy(None).await?.policy)
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
        self.policies
            .set_retry_policy(PolicyScope::Site, Some(&policy))
            .await?;
        self.site_retry_policy().await
    }
}
