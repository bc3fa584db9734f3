//! What runs ask of the administration ([`RunRights`]): whom a run acts
//! as, whether its receiver may run now, and a token that ends with it.

use crate::domain::job::Job;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::time::Millis;
use crate::domain::user::Username;
use crate::error::Result;
use crate::runner::rights::{Permission, RunRights};
use crate::security::token::Token;
use crate::store::{TokenRecord, UserRecord};

use super::App;

#[async_trait]
impl RunRights for App {
    /// Whom a run of `job` acts as: the owner of the notebook item, never
    /// the caller who submitted it (an administrator running a user's
    /// notebook must not lend it an administrator's token, since the owner
    /// can change the notebook's code at any time). `Err` with the reason
    /// when the job may not run: a revocation of the owner's or the
    /// submitter's tokens after the job was submitted covers it.
    async fn run_user(&self, job: &Job) -> Result<Permission<Username>> {
        let Some(item) = self.store.item(&job.item_id).await? else {
            return Ok(Err(format!(
                "The notebook item '{}' no longer exists.",
                job.item_id
            )));
        };
        for username in [&item.owner, &job.username] {
            let Some(user) = self.store.user(username).await? else {
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
    async fn issue_run_token(&self, username: &Username, lifetime: Duration) -> Result<Token> {
        let token = Token::generate();
        let now = Millis::now();
        self.store
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
    async fn end_run_token(&self, token: &Token) -> Result<()> {
        Ok(self.store.delete_token(&token.hash()).await?)
    }

    async fn receiver_token(&self, id: &ReceiverId) -> Result<Permission<Option<String>>> {
        let Some(receiver) = self
            .receivers
            .load(self.store.as_ref(), &self.vault, id)
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

impl App {
    /// Why the receiver may not run now, if it may not: its owner's tokens
    /// were revoked after it was last updated, or its api token no longer
    /// works.
    async fn run_blocker(&self, receiver: &Receiver) -> Result<Option<String>> {
        if let Some(owner) = self.store.user(&receiver.owner).await? {
            if let Some(why) = revoked_since(receiver, &owner) {
                return Ok(Some(why));
            }
        }
        // A token for the site's external portal is the portal's to judge.
        let local = self.settings.portal.is_none();
        if let Some(token) = receiver.api_token.as_ref().filter(|_| local) {
            let token = Token::from_client(token.expose());
            if self.user_of_token(&token).await?.is_none() {
                return Ok(Some(
                    "The webhook receiver's api token is invalid, expired or revoked; update the receiver with a new one."
                        .into(),
                ));
            }
            if let Some(problem) = self.api_token_problem(&token, &receiver.item_id).await? {
                return Ok(Some(format!(
                    "The webhook receiver's api token may not be used: {problem}; update the receiver."
                )));
            }
        }
        Ok(None)
    }
}

/// Why `receiver` may not run when its owner's tokens were revoked after it
/// was last updated.
pub(super) fn revoked_since(receiver: &Receiver, owner: &UserRecord) -> Option<String> {
    let revoked = owner.tokens_revoked.filter(|t| *t > receiver.modified)?;
    Some(format!(
        "The tokens of '{}' were revoked at {}; the webhook receiver runs again once it is updated.",
        receiver.owner,
        revoked.utc()
    ))
}
