//! The ArcGIS portal of the site when it is not hookbook itself
//! (`--portal-url`: ArcGIS Online or an ArcGIS Enterprise portal). A
//! receiver's `apiToken` is then a token (or API key) for that portal:
//! runs get it in their `NB_AUTH_FILE` for `GIS("home")`, and `validate`
//! asks the portal whom it signs in as.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

/// How long the portal may take to answer a check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Portal {
    /// The portal's URL, such as `https://www.arcgis.com` or
    /// `https://gis.example.com/portal`.
    pub url: String,
    client: reqwest::Client,
}

/// What the portal said of a token.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// It signs in as this user.
    SignsInAs(String),
    /// The portal refused it, saying this.
    Refused(String),
    /// The portal did not answer; the token was not checked.
    Unchecked(String),
}

impl Portal {
    /// The portal at `url`; `ca` (PEM) is a certificate to trust for it
    /// beside the system's (a portal with a self-signed certificate).
    pub fn new(url: &str, ca: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(CHECK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).with_context(|| {
                format!("cannot read the portal's certificate {}", ca.display())
            })?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            client: builder
                .build()
                .context("cannot make the portal's HTTP client")?,
        })
    }

    /// Asks the portal whom `token` signs in as (`community/self`; the
    /// token in a header, never in the URL).
    pub async fn check(&self, token: &str) -> TokenCheck {
        let url = format!("{}/sharing/rest/community/self", self.url);
        let answer = self
            .client
            .get(&url)
            .query(&[("f", "json")])
            .header("X-Esri-Authorization", format!("Bearer {token}"))
            .send()
            .await;
        let body: Value = match answer {
            Ok(r) => match r.json().await {
                Ok(body) => body,
                Err(e) => {
                    return TokenCheck::Unchecked(format!(
                        "the portal at {} answered no JSON: {e}",
                        self.url
                    ))
                }
            },
            Err(e) => {
                return TokenCheck::Unchecked(format!(
                    "the portal at {} did not answer ({}); the token was not checked",
                    self.url,
                    crate::report::chain(&e)
                ))
            }
        };
        if let Some(username) = body.get("username").and_then(Value::as_str) {
            return TokenCheck::SignsInAs(username.to_string());
        }
        let said = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .or_else(|| {
                body.get("messages")
                    .and_then(|m| m.get(0))
                    .and_then(Value::as_str)
            })
            .unwrap_or("it signs in as no user");
        TokenCheck::Refused(format!("the portal at {} refused it: {said}", self.url))
    }
}
