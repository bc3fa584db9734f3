//! What runs ask of the administration ([`RunRights`]): whom a run acts
//! as, whether its receiver may run now, and a token that ends with it.

use crate::domain::job::Job;
use std::time::Duration;

use async_trait::async_trait;

use super::auth::SignIn;
use super::portal::Portal;
use super::receivers::{revoked_since, Receivers};
use super::Settings;
use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::time::Millis;
use crate::domain::user::Username;
use crate::error::Result;
use crate::intake::cache::ReceiverCache;
use crate::runner::rights::{self, Permission, RunRights};
use crate::security::token::Token;
use crate::security::vault::Vault;
use crate::store::TokenRecord;
use crate::store::{ItemStore, ReceiverStore, Store, TokenStore, UserStore};
use std::sync::Arc;

/// What runs ask of the administration, for the runner.
pub struct Rights {
    items: Arc<dyn ItemStore>,
    users: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenStore>,
    receivers: Arc<dyn ReceiverStore>,
    vault: Vault,
    cache: Arc<ReceiverCache>,
    sign_in: Arc<SignIn>,
    receiver_service: Arc<Receivers>,
    /// The site's portal when it is not hookbook itself (`--portal-url`).
    portal: Option<Arc<Portal>>,
}

impl Rights {
    pub fn new(
        store: &Arc<dyn Store>,
        vault: Vault,
        cache: Arc<ReceiverCache>,
        sign_in: Arc<SignIn>,
        receiver_service: Arc<Receivers>,
        settings: &Settings,
    ) -> Self {
        Self {
            items: store.clone(),
            users: store.clone(),
            tokens: store.clone(),
            receivers: store.clone(),
            vault,
            cache,
            sign_in,
            receiver_service,
            portal: settings.portal.clone(),
        }
    }
}

#[async_trait]
impl RunRights for Rights {
    /// Whom a run of `job` acts as: the owner of the notebook item, never
    /// the caller who submitted it (an administrator running a user's
    /// notebook must not lend it an administrator's token, since the owner
    /// can change the notebook's code at any time). `Err` with the reason
    /// when the job may not run: a revocation of the owner's or the
    /// submitter's tokens after the job was submitted covers it.
    async fn run_user(&self, job: &Job) -> rights::Result<Permission<Username>> {
        let Some(item) = self.items.item(&job.item_id).await? else {
            return Ok(Err(format!(
                "The notebook item '{}' no longer exists.",
                job.item_id
            )));
        };
        for username in [&item.owner, &job.username] {
            let Some(user) = self.users.user(username).await? else {
                return Ok(Err(format!("The user '{username}' no longer exists.")));
            };
            if let Some(revoked) = user.tokens_revoked.filter(|t| *t >= job.submitted) {
                return Ok(Err(format!(
                    "The tokens of '{username}' were revoked at {}, after this job was submitted; it was not run.",
                    revoked.utc()
                )));
            }
        }
        Ok(Ok(item.owner))
    }

    /// A token of `username` lasting at most `lifetime`, for a run's
    /// `HOOKBOOK_TOKEN`; the run ends it with `end_run_token`.
    async fn issue_run_token(
        &self,
        username: &Username,
        lifetime: Duration,
    ) -> rights::Result<Token> {
        let token = Token::generate();
        let now = Millis::now();
        self.tokens
            .add_token(&TokenRecord {
                hash: token.hash(),
                username: username.clone(),
                created: now,
                expires: now.plus(lifetime),
            })
            .await?;
        Ok(token)
    }

    /// Ends a run's token: it stops working when its run ends.
    async fn end_run_token(&self, token: &Token) -> rights::Result<()> {
        Ok(self.tokens.delete_token(&token.hash()).await?)
    }

    async fn receiver_token(&self, id: &ReceiverId) -> rights::Result<Permission<Option<String>>> {
        let Some(receiver) = self
            .cache
            .load(self.receivers.as_ref(), &self.vault, id)
            .await?
        else {
            return Ok(Ok(None));
        };
        Ok(match self.run_blocker(&receiver).await? {
            Some(why) => Err(why),
            None => Ok(receiver.api_token.as_ref().map(|t| t.expose().clone())),
        })
    }
}

impl Rights {
    /// Why the receiver may not run now, if it may not: its owner's tokens
    /// were revoked after it was last updated, or its api token no longer
    /// works.
    async fn run_blocker(&self, receiver: &Receiver) -> Result<Option<String>> {
        if let Some(owner) = self.users.user(&receiver.owner).await? {
            if let Some(why) = revoked_since(receiver, &owner) {
                return Ok(Some(why));
            }
        }
        // A token for the site's external portal is the portal's to judge.
        let local = self.portal.is_none();
        if let Some(token) = receiver.api_token.as_ref().filter(|_| local) {
            let token = Token::from_client(token.expose());
            if self.sign_in.user_of_token(&token).await?.is_none() {
                return Ok(Some(
                    "The webhook receiver's api token is invalid, expired or revoked; update the receiver with a new one."
                        .into(),
                ));
            }
            if let Some(problem) = self
                .receiver_service
                .api_token_problem(&token, &receiver.item_id)
                .await?
            {
                return Ok(Some(format!(
                    "The webhook receiver's api token may not be used: {problem}; update the receiver."
                )));
            }
        }
        Ok(None)
    }
}
