//! Webhook receivers: the admin operations and the checks behind them.
//! Secrets are sealed by the vault on the way to the store and opened on the
//! way back.

use std::time::Duration;

use crate::domain::access::{may_manage, Decision};
use crate::domain::ids::{ItemId, ReceiverId};
use crate::domain::receiver::{Parameters, Receiver, ReceiverName, Secret, SignatureHeaders};
use crate::domain::sensitive::Sensitive;
use crate::domain::time::Millis;
use crate::domain::user::{User, Username};
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::security::token::Token;
use crate::store::sealed::{open_receiver, seal_receiver};

use super::auth::SignIn;
use super::portal::Portal;
use super::{require_author, require_manager, Settings};
use crate::intake::cache::ReceiverCache;
use crate::security::vault::Vault;
use crate::store::{IntakeStore, ItemStore, ReceiverStore, Store, UserRecord, UserStore};
use std::sync::Arc;

/// Why a receiver's api token may not be used for its runs.
#[derive(Debug, thiserror::Error)]
pub enum TokenProblem {
    #[error("the token is invalid or has expired")]
    Invalid,
    #[error("the notebook item '{0}' does not exist")]
    NoItem(ItemId),
    #[error(
        "the token belongs to '{holder}', who has rights that the notebook item's owner '{owner}' \
         lacks; a run never acts with more rights than its notebook's owner (use a token of '{owner}')"
    )]
    NotTheOwners { holder: Username, owner: Username },
    #[error("the token's user '{holder}' may not run the notebook item '{item}'")]
    MayNotRun { holder: Username, item: ItemId },
}

/// The fields of `create`, parsed.
#[derive(Debug)]
pub struct NewReceiver {
    pub name: ReceiverName,
    pub item_id: ItemId,
    pub secret: Secret,
    pub signature_headers: SignatureHeaders,
    pub api_token: Option<Token>,
    pub parameters: Parameters,
}

/// The fields of `update`, parsed; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ReceiverChanges {
    pub name: Option<ReceiverName>,
    pub item_id: Option<ItemId>,
    pub secret: Option<Secret>,
    pub signature_headers: Option<SignatureHeaders>,
    pub api_token: Option<Token>,
    pub parameters: Option<Parameters>,
    pub disabled: Option<bool>,
}

/// What `validate` found.
#[derive(Debug)]
pub struct Validation {
    pub problems: Vec<String>,
}

fn not_found(id: &ReceiverId) -> Error {
    Error::NotFound(format!("Webhook receiver '{id}' does not exist."))
}

/// Webhook receivers and their delivery logs: sealed on the way to the
/// store, opened on the way back, and dropped from intake's cache when
/// they change.
pub struct Receivers {
    receivers: Arc<dyn ReceiverStore>,
    items: Arc<dyn ItemStore>,
    users: Arc<dyn UserStore>,
    pub(super) log: Arc<dyn IntakeStore>,
    vault: Vault,
    cache: Arc<ReceiverCache>,
    sign_in: Arc<SignIn>,
    /// How long a replaced secret keeps verifying.
    secret_grace: Duration,
    /// The site's portal when it is not hookbook itself (`--portal-url`).
    portal: Option<Arc<Portal>>,
}

impl Receivers {
    pub fn new(
        store: &Arc<dyn Store>,
        vault: Vault,
        cache: Arc<ReceiverCache>,
        sign_in: Arc<SignIn>,
        settings: &Settings,
    ) -> Self {
        Self {
            receivers: store.clone(),
            items: store.clone(),
            users: store.clone(),
            log: store.clone(),
            vault,
            cache,
            sign_in,
            secret_grace: settings.secret_grace,
            portal: settings.portal.clone(),
        }
    }
}

impl Receivers {
    pub async fn receivers(&self, caller: &User) -> Result<Vec<Receiver>> {
        require_author(caller)?;
        let owner = (!caller.is_admin()).then_some(&caller.username);
        let records = self.receivers.receivers(owner).await?;
        records
            .into_iter()
            .map(|r| Ok(open_receiver(&self.vault, r)?))
            .collect()
    }

    pub async fn receiver(&self, caller: &User, id: &ReceiverId) -> Result<Receiver> {
        let record = self
            .receivers
            .receiver(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        require_manager(caller, &record.owner)?;
        Ok(open_receiver(&self.vault, record)?)
    }

    pub async fn create_receiver(&self, caller: &User, new: NewReceiver) -> Result<Receiver> {
        require_author(caller)?;
        self.check_item_use(caller, &new.item_id).await?;
        if let Some(token) = &new.api_token {
            self.check_api_token(token, &new.item_id).await?;
        }
        let now = Millis::now();
        let receiver = Receiver {
            id: ReceiverId::generate(),
            name: new.name,
            item_id: new.item_id,
            owner: caller.username.clone(),
            signature_headers: new.signature_headers,
            disabled: false,
            secret: new.secret,
            previous_secret: None,
            api_token: new
                .api_token
                .map(|t| Sensitive::new(t.expose().to_string())),
            parameters: new.parameters,
            message: String::new(),
            created: now,
            modified: now,
        };
        self.receivers
            .add_receiver(&seal_receiver(&self.vault, &receiver))
            .await?;
        Ok(receiver)
    }

    pub async fn update_receiver(
        &self,
        caller: &User,
        id: &ReceiverId,
        changes: ReceiverChanges,
    ) -> Result<Receiver> {
        let mut receiver = self.receiver(caller, id).await?;
        let now = Millis::now();
        if let Some(item_id) = changes.item_id {
            self.check_item_use(caller, &item_id).await?;
            receiver.item_id = item_id;
        }
        if let Some(token) = &changes.api_token {
            self.check_api_token(token, &receiver.item_id).await?;
        }
        if let Some(name) = changes.name {
            receiver.name = name;
        }
        if let Some(secret) = changes.secret {
            if secret != receiver.secret {
                let until = now.plus(self.secret_grace);
                let old = std::mem::replace(&mut receiver.secret, secret);
                receiver.previous_secret = Some((old, until));
            }
        }
        if let Some(headers) = changes.signature_headers {
            receiver.signature_headers = headers;
        }
        if let Some(token) = changes.api_token {
            receiver.api_token = Some(Sensitive::new(token.expose().to_string()));
        }
        if let Some(parameters) = changes.parameters {
            receiver.parameters = parameters;
        }
        if let Some(disabled) = changes.disabled {
            receiver.disabled = disabled;
        }
        receiver.modified = now;
        self.cache.invalidate(id);
        if !self
            .receivers
            .update_receiver(&seal_receiver(&self.vault, &receiver))
            .await?
        {
            return Err(not_found(id));
        }
        Ok(receiver)
    }

    pub async fn set_receiver_disabled(
        &self,
        caller: &User,
        id: &ReceiverId,
        disabled: bool,
    ) -> Result<()> {
        let changes = ReceiverChanges {
            disabled: Some(disabled),
            ..ReceiverChanges::default()
        };
        self.update_receiver(caller, id, changes).await.map(drop)
    }

    pub async fn delete_receiver(&self, caller: &User, id: &ReceiverId) -> Result<()> {
        self.receiver(caller, id).await?;
        self.cache.invalidate(id);
        if !self.receivers.delete_receiver(id).await? {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Checks that the receiver could run now: its item exists, its owner
    /// may still run it, and its api token (if any) is valid and allowed.
    pub async fn validate_receiver(&self, caller: &User, id: &ReceiverId) -> Result<Validation> {
        let receiver = self.receiver(caller, id).await?;
        let mut problems = Vec::new();
        let item = self.items.item(&receiver.item_id).await?;
        if item.is_none() {
            problems.push(format!(
                "The notebook item '{}' does not exist.",
                receiver.item_id
            ));
        }
        match self.users.user(&receiver.owner).await? {
            None => problems.push(format!("The owner '{}' no longer exists.", receiver.owner)),
            Some(owner) => {
                if !owner.user.may_author() {
                    problems.push(format!(
                        "The owner '{}' no longer holds the privileges to run notebooks.",
                        receiver.owner
                    ));
                }
                problems.extend(revoked_since(&receiver, &owner));
            }
        }
        if let Some(token) = &receiver.api_token {
            if let Some(portal) = &self.portal {
                problems.extend(portal_problem(portal, token.expose()).await);
            } else {
                let token = Token::from_client(token.expose());
                if let Some(problem) = self.api_token_problem(&token, &receiver.item_id).await? {
                    problems.push(format!("apiToken: {problem}"));
                }
            }
        }
        if receiver.disabled {
            problems.push("The webhook receiver is disabled.".to_string());
        }
        Ok(Validation { problems })
    }

    /// The item must exist and the caller must be allowed to use it.
    async fn check_item_use(&self, caller: &User, item_id: &ItemId) -> Result<()> {
        let item = self
            .items
            .item(item_id)
            .await?
            .ok_or_else(|| Error::Invalid {
                field: "itemId",
                problem: ParseError::new(format!("the notebook item '{item_id}' does not exist")),
            })?;
        if may_manage(caller, &item.owner) != Decision::Allowed {
            return Err(Error::Invalid {
                field: "itemId",
                problem: ParseError::new(format!("you may not use the notebook item '{item_id}'")),
            });
        }
        Ok(())
    }

    /// The token must be valid and lend a run no right that the item's
    /// owner lacks: the owner's own token, or any token when the owner is
    /// an administrator (who holds every right already). Whoever owns the
    /// item can change its code, and so read whatever token it runs with.
    pub(super) async fn api_token_problem(
        &self,
        token: &Token,
        item_id: &ItemId,
    ) -> Result<Option<TokenProblem>> {
        let Some(user) = self.sign_in.user_of_token(token).await? else {
            return Ok(Some(TokenProblem::Invalid));
        };
        let Some(item) = self.items.item(item_id).await? else {
            return Ok(Some(TokenProblem::NoItem(item_id.clone())));
        };
        let owner_is_admin = match self.users.user(&item.owner).await? {
            Some(owner) => owner.user.is_admin(),
            None => false,
        };
        if user.username != item.owner && !owner_is_admin {
            return Ok(Some(TokenProblem::NotTheOwners {
                holder: user.username,
                owner: item.owner,
            }));
        }
        if may_manage(&user, &item.owner) != Decision::Allowed {
            return Ok(Some(TokenProblem::MayNotRun {
                holder: user.username,
                item: item_id.clone(),
            }));
        }
        Ok(None)
    }

    /// Refuses an api token with a problem, naming the field. A token for
    /// the site's external portal is checked by `validate` instead (the
    /// portal may not answer when a receiver is saved).
    async fn check_api_token(&self, token: &Token, item_id: &ItemId) -> Result<()> {
        if self.portal.is_some() {
            return Ok(());
        }
        match self.api_token_problem(token, item_id).await? {
            None => Ok(()),
            Some(problem) => Err(Error::Invalid {
                field: "apiToken",
                problem: ParseError::new(problem.to_string()),
            }),
        }
    }
}

/// What the site's portal says of a receiver's api token, as `validate`
/// reports it: nothing when it signs in; why not, or that the portal did
/// not answer (then the token was not checked).
async fn portal_problem(portal: &super::portal::Portal, token: &str) -> Option<String> {
    use super::portal::TokenCheck;
    match portal.check(token).await {
        TokenCheck::SignsInAs(_) => None,
        TokenCheck::Refused(why) => Some(format!("apiToken: {why}")),
        TokenCheck::Unchecked(why) => Some(format!("apiToken: {why}")),
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
