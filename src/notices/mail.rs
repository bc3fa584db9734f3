//! Email notices through the operator's SMTP server (`--smtp-url`, with
//! lettre: `smtp://host:25` in the clear, `smtp://host:587?tls=required`
//! for STARTTLS, `smtps://host:465`; credentials in the URL).

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::notice::EmailAddress;

/// Why a message did not go.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the address cannot be written in a mail header")]
    Address(#[source] lettre::address::AddressError),
    #[error("the message could not be built")]
    Message(#[source] lettre::error::Error),
    #[error("the SMTP server refused it or could not be reached")]
    Smtp(#[source] lettre::transport::smtp::Error),
}

/// How long one message may take to hand over.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The SMTP server notices are sent through, and the sender's address.
#[derive(Clone)]
pub struct SmtpSettings {
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// `host:port`, without credentials, for the notice's outcome.
    server: String,
}

impl SmtpSettings {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("--smtp-url is not an SMTP URL lettre understands: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from: Mailbox = EmailAddress::parse(from)
            .map_err(|e| anyhow::anyhow!("--smtp-from: {e}"))?
            .as_str()
            .parse()
            .map_err(|e| anyhow::anyhow!("--smtp-from: {e}"))?;
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
        let server = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        Ok(Self {
            transport: Arc::new(transport),
            from,
            server: server.to_string(),
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one plain-text message.
    pub async fn send(
        &self,
        to: &EmailAddress,
        subject: &str,
        text: String,
    ) -> Result<(), MailError> {
        let to: Mailbox = to.as_str().parse().map_err(MailError::Address)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(MailError::Message)?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(MailError::Smtp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::repeated_cause;

    #[test]
    fn a_mail_error_leaves_its_cause_to_the_chain() {
        let bad = "not an address".parse::<lettre::Address>().unwrap_err();
        assert_eq!(repeated_cause(&MailError::Address(bad)), None);
    }
}
