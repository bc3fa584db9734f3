//! Failure notices as the domain sees them: where a user's notices go (a
//! URL, signed with a Standard Webhooks secret, and an email address), and
//! what a notice says.

use serde_json::{json, Value};

use super::ids::JobId;
use super::outbound::NoticeUrl;
use super::receiver::Secret;
use super::time::Millis;
use super::user::Username;
use super::ParseError;

/// An email address: `local@domain`, at most 254 characters, without
/// spaces, angle brackets or line breaks (it goes into a mail header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let wrong = || {
            ParseError::new(format!(
                "'{text}' is not an email address such as ops@example.com"
            ))
        };
        let (local, domain) = text.rsplit_once('@').ok_or_else(wrong)?;
        let clean = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| {
                    c.is_ascii_graphic() && !matches!(c, '<' | '>' | '@' | '"' | ',' | ';' | '\\')
                })
        };
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if text.len() > 254 || local.len() > 64 || !clean(local) || !domain_ok {
            return Err(wrong());
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a user's failure notices go. The secret signs the webhook
/// notices (Standard Webhooks); it is made by hookbook, never typed.
#[derive(Debug, Clone)]
pub struct Destination {
    pub username: Username,
    pub url: Option<NoticeUrl>,
    pub secret: Secret,
    pub email: Option<EmailAddress>,
    pub modified: Millis,
}

/// What a notice of a failed job says, in the Standard Webhooks shape
/// (`type`, `timestamp`, `data`).
pub struct FailedJob<'a> {
    pub job_id: String,
    pub job_url: String,
    pub receiver_id: Option<String>,
    pub receiver_name: Option<&'a str>,
    pub item_id: &'a str,
    pub username: &'a str,
    pub messages: &'a [String],
    pub end_time: Option<Millis>,
}

impl FailedJob<'_> {
    /// The last message: what ended the job.
    pub fn error(&self) -> &str {
        self.messages.last().map_or("", String::as_str)
    }

    pub fn to_json(&self, now: Millis) -> Value {
        let timestamp = chrono::DateTime::from_timestamp_millis(now.0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        json!({
            "type": "job.failed",
            "timestamp": timestamp,
            "data": {
                "jobId": self.job_id,
                "jobUrl": self.job_url,
                "status": "FAILED",
                "receiverId": self.receiver_id,
                "receiverName": self.receiver_name,
                "itemId": self.item_id,
                "username": self.username,
                "error": self.error(),
                "messages": self.messages,
                "endTime": self.end_time.map(|t| t.0),
            }
        })
    }

    /// A subject line and a plain-text body, for email.
    pub fn to_text(&self) -> (String, String) {
        let what = match (self.receiver_name, &self.receiver_id) {
            (Some(name), _) => format!("the webhook receiver '{name}'"),
            (None, Some(id)) => format!("the webhook receiver {id}"),
            (None, None) => "executeNotebook".to_string(),
        };
        let subject = format!("hookbook: a job of {what} failed");
        let mut body = format!(
            "Job {} of {what} (notebook item {}) ended FAILED.\n\n{}\n\nThe job: {}\n",
            self.job_id,
            self.item_id,
            self.error(),
            self.job_url
        );
        if self.messages.len() > 1 {
            body.push_str("\nEvery attempt:\n");
            for m in self.messages {
                body.push_str(&format!("- {m}\n"));
            }
        }
        (subject, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn email_parse_never_panics_nor_lets_a_line_break_in(s in "\\PC{0,80}") {
            if let Ok(a) = EmailAddress::parse(&s) {
                prop_assert!(!a.as_str().contains(['\r', '\n', ' ', '<', '>']));
            }
        }
    }

    #[test]
    fn email_addresses_cannot_smuggle_headers() {
        assert!(EmailAddress::parse("ops@example.com").is_ok());
        for bad in [
            "ops",
            "ops@localhost",
            "a b@example.com",
            "ops@example.com\r\nBcc: x@y.z",
            "<ops@example.com>",
            "@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}

/// A notice that a job ended `FAILED`, on one channel.
#[derive(Debug, Clone)]
pub struct Notice {
    pub job_id: JobId,
    pub channel: Channel,
    pub username: Username,
    pub status: NoticeStatus,
    /// Attempts begun (a claim counts one).
    pub attempts: i64,
    pub due: Millis,
    pub created: Millis,
    pub last_time: Option<Millis>,
    /// What the last attempt came to (`HTTP 503`, a refusal, ...).
    pub last_outcome: String,
}

/// How a notice is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Webhook,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "webhook" => Some(Channel::Webhook),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Where a notice is: waiting for (another) attempt, or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStatus {
    Pending,
    Delivered,
    Failed,
}

impl NoticeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Pending => "pending",
            NoticeStatus::Delivered => "delivered",
            NoticeStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(NoticeStatus::Pending),
            "delivered" => Some(NoticeStatus::Delivered),
            "failed" => Some(NoticeStatus::Failed),
            _ => None,
        }
    }
}
