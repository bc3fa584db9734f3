//! Signing in the way the ArcGIS API for Python does by default for
//! `GIS(url, username, password)`: OAuth 2's implicit grant. `authorize`
//! checks the client and where the token may go, and hands out an
//! `oauth_state` sealed with the site's key (so any node of the site can
//! take the sign-in that follows, and no client can forge one);
//! `sign_in` checks the password as `generateToken` does and answers with
//! the redirect that carries the token.

use serde::{Deserialize, Serialize};

use super::auth::SignIn;
use crate::domain::time::Millis;
use crate::domain::ParseError;
use crate::error::{Error, Result};

/// The clients the ArcGIS API for Python signs in as.
const CLIENTS: [&str; 3] = ["pythonapi", "arcgisonline", "arcgisnotebooks"];
/// Where a client without a page of its own asks the token to go.
const OUT_OF_BAND: &str = "urn:ietf:wg:oauth:2.0:oob";
/// How long an `oauth_state` may wait for its sign-in.
const STATE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// The longest token a sign-in gives, in minutes (two weeks, as ArcGIS).
const MAX_MINUTES: u64 = 20_160;
/// What the sealed state is bound to.
const SEAL_CONTEXT: &str = "oauth2-state";

/// What an authorization request asked for, sealed into its `oauth_state`.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    redirect_uri: String,
    state: Option<String>,
    minutes: u64,
    until: i64,
}

fn invalid(field: &'static str, message: String) -> Error {
    Error::Invalid {
        field,
        problem: ParseError::new(message),
    }
}

impl SignIn {
    /// The `oauth_state` of an implicit-grant request from `client_id`,
    /// whose token goes to `redirect_uri` (this site's own origin, or out
    /// of band) with the client's `state`.
    pub fn authorize(
        &self,
        client_id: &str,
        response_type: &str,
        redirect_uri: &str,
        state: Option<&str>,
        expiration: Option<&str>,
    ) -> Result<String> {
        if !CLIENTS.contains(&client_id) {
            return Err(invalid(
                "client_id",
                format!("Error: Invalid client_id '{client_id}': this site signs in {CLIENTS:?}"),
            ));
        }
        if response_type != "token" {
            return Err(invalid(
                "response_type",
                format!("'{response_type}' is not supported; ask for 'token'"),
            ));
        }
        if !self.may_redirect_to(redirect_uri) {
            return Err(invalid(
                "redirect_uri",
                format!("Invalid redirect_uri '{redirect_uri}': only this site's own address or {OUT_OF_BAND}"),
            ));
        }
        let minutes = match expiration.map(str::trim).filter(|e| !e.is_empty()) {
            None => 120,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| invalid("expiration", "must be a whole number of minutes".into()))?
                .min(MAX_MINUTES),
        };
        let pending = Pending {
            redirect_uri: redirect_uri.to_string(),
            state: state.map(str::to_string),
            minutes,
            until: Millis::now().0 + STATE_LIFETIME_MS,
        };
        let plain = serde_json::to_vec(&pending).map_err(anyhow::Error::from)?;
        let sealed = self.vault.seal(&plain, SEAL_CONTEXT);
        Ok(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            sealed,
        ))
    }

    /// Whether a token may be sent to `uri`: out of band, or this site's
    /// own origin (the ArcGIS API for Python asks for the portal's).
    fn may_redirect_to(&self, uri: &str) -> bool {
        if uri == OUT_OF_BAND {
            return true;
        }
        let origin = |url: &str| -> Option<String> {
            let (scheme, rest) = url.split_once("://")?;
            let host = rest.split(['/', '?', '#']).next()?;
            Some(format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            ))
        };
        uri.starts_with("https://")
            && origin(uri).is_some()
            && origin(uri) == origin(&self.public_url)
    }

    /// Signs `username` in for the request sealed in `oauth_state`; the
    /// redirect that carries the token (in its fragment, with the
    /// client's `state`).
    pub async fn oauth_sign_in(
        &self,
        oauth_state: &str,
        username: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> Result<String> {
        let expired = || {
            invalid(
                "oauth_state",
                "the sign-in expired or is not this site's; start again".into(),
            )
        };
        let sealed = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            oauth_state.trim(),
        )
        .map_err(|_| expired())?;
        let plain = self
            .vault
            .open(&sealed, SEAL_CONTEXT)
            .map_err(|_| expired())?;
        let pending: Pending = serde_json::from_slice(&plain).map_err(|_| expired())?;
        if pending.until < Millis::now().0 {
            return Err(expired());
        }
        let issued = self
            .generate_token(username, password, Some(pending.minutes), from)
            .await?;
        let expires_in = (issued.expires.0 - Millis::now().0).max(0) / 1000;
        let mut fragment = form_urlencoded::Serializer::new(String::new());
        fragment
            .append_pair("access_token", issued.token.expose())
            .append_pair("token_type", "bearer")
            .append_pair("expires_in", &expires_in.to_string())
            .append_pair("username", username)
            .append_pair("ssl", "true");
        if let Some(state) = &pending.state {
            fragment.append_pair("state", state);
        }
        Ok(format!("{}#{}", pending.redirect_uri, fragment.finish()))
    }
}
