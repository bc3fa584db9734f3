//! Signing in (`generateToken`) and recognising the caller of a request.

use std::time::Duration;

use crate::domain::time::Millis;
use crate::domain::user::{Password, User, Username};
use crate::error::{Error, Result};
use crate::security::password;
use crate::security::throttle::SignInThrottle;
use crate::security::token::Token;
use crate::security::vault::Vault;
use crate::store::TokenRecord;
use crate::store::{Store, TokenStore, UserStore};
use std::sync::Arc;

/// Token lifetime when `expiration` is not given, in minutes.
pub const DEFAULT_TOKEN_MINUTES: u64 = 60;
/// How long a session of the pages lasts, in minutes.
pub const SESSION_MINUTES: u64 = 8 * 60;
/// The longest lifetime a token can be asked for: 14 days, in minutes.
pub const MAX_TOKEN_MINUTES: u64 = 14 * 24 * 60;

/// A freshly issued token and when it expires.
#[derive(Debug)]
pub struct Issued {
    pub token: Token,
    pub expires: Millis,
}

/// Signing in and recognising callers: users and their tokens, the
/// throttle on password checks, and the OAuth sign-in's sealed state.
pub struct SignIn {
    pub(super) users: Arc<dyn UserStore>,
    pub(super) tokens: Arc<dyn TokenStore>,
    pub(super) vault: Vault,
    pub(super) public_url: String,
    /// Concurrency and per-name, per-address budgets of password checks.
    throttle: SignInThrottle,
}

impl SignIn {
    pub fn new(store: &Arc<dyn Store>, vault: Vault, public_url: String) -> Self {
        Self {
            users: store.clone(),
            tokens: store.clone(),
            vault,
            public_url,
            throttle: SignInThrottle::default(),
        }
    }
}

impl SignIn {
    /// Checks the credentials and issues a token lasting `minutes` (clamped
    /// to [`MAX_TOKEN_MINUTES`]). Unknown users cost the same time as wrong
    /// passwords. A name or an address over its budget of attempts is
    /// refused before any hashing, and few checks run at once.
    pub async fn generate_token(
        &self,
        username: &str,
        password: &str,
        minutes: Option<u64>,
        from: Option<std::net::IpAddr>,
    ) -> Result<Issued> {
        let name = username;
        self.throttle
            .attempt(name, from, Millis::now())
            .map_err(|retry_after_secs| Error::Throttled { retry_after_secs })?;
        let (Ok(username), Ok(password)) = (Username::parse(username), Password::parse(password))
        else {
            return Err(Error::BadCredentials);
        };
        let turn = self.throttle.turn().await;
        let record = self.users.user(&username).await?;
        let stored = record.as_ref().map(|r| r.password_hash.clone());
        // An unknown user costs a check against a decoy (made once, off the
        // async runtime like every hash), so the answer's time tells nothing.
        let matches = tokio::task::spawn_blocking(move || {
            let stored = stored.unwrap_or_else(|| password::decoy_hash().to_string());
            password::verify(&password, &stored)
        })
        .await
        .map_err(anyhow::Error::from)?;
        drop(turn);
        let Some(record) = record.filter(|_| matches) else {
            return Err(Error::BadCredentials);
        };
        self.throttle.succeeded(name, from);
        let minutes = minutes
            .unwrap_or(DEFAULT_TOKEN_MINUTES)
            .clamp(1, MAX_TOKEN_MINUTES);
        let now = Millis::now();
        let token = Token::generate();
        let expires = now.plus(Duration::from_secs(minutes * 60));
        self.tokens
            .add_token(&TokenRecord {
                hash: token.hash(),
                username: record.user.username,
                created: now,
                expires,
            })
            .await?;
        self.users.signed_in(&username, now).await?;
        Ok(Issued { token, expires })
    }

    /// The user a token belongs to, if it is known and unexpired.
    pub async fn user_of_token(&self, token: &Token) -> Result<Option<User>> {
        let hash = token.hash();
        let Some(record) = self.tokens.token(&hash).await? else {
            return Ok(None);
        };
        if !record.hash.matches(&hash) || record.expires <= Millis::now() {
            return Ok(None);
        }
        Ok(self.users.user(&record.username).await?.map(|r| r.user))
    }

    /// Revokes every token of `username` (sessions, API tokens, receivers'
    /// api tokens of that user): the user themself or an administrator.
    /// The user's receivers do not run again until they are updated.
    /// Returns how many tokens there were.
    pub async fn revoke_tokens(&self, caller: &User, username: &Username) -> Result<u64> {
        if !caller.is_admin() && &caller.username != username {
            return Err(Error::Forbidden);
        }
        self.tokens
            .revoke_tokens(username, Millis::now())
            .await?
            .ok_or_else(|| Error::NotFound(format!("User '{username}' does not exist.")))
    }

    /// Ends a session: its token stops working at once.
    pub async fn sign_out(&self, token: &Token) -> Result<()> {
        Ok(self.tokens.delete_token(&token.hash()).await?)
    }

    /// The caller of a request: no token is `TokenRequired`, a bad one
    /// `InvalidToken`.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<User> {
        let token = match token.map(str::trim) {
            None | Some("") => return Err(Error::TokenRequired),
            Some(t) => Token::from_client(t),
        };
        self.user_of_token(&token).await?.ok_or(Error::InvalidToken)
    }
}
