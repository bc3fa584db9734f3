//! Why event intake refuses a delivery: each reason maps to one HTTP status
//! in `api`, one line in the delivery log and one label of the metrics.
//! Plain data, so that the error type and intake both name it.

/// Why a delivery was refused. Each maps to one HTTP status in `api` and
/// one reason in the delivery log and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownReceiver,
    Disabled,
    RateLimited {
        retry_after_secs: u64,
    },
    TooLarge {
        limit: u64,
    },
    NoSignature,
    BadSignature,
    StaleTimestamp,
    QueueFull {
        retry_after_secs: u64,
    },
    /// The database cannot be reached or written (PostgreSQL down or cut
    /// off, SQLite's disk full or read-only): nothing was stored.
    Unavailable {
        retry_after_secs: u64,
    },
}

impl Refusal {
    /// The reason as the delivery log and the metrics name it.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::UnknownReceiver => "unknown receiver",
            Refusal::Disabled => "disabled",
            Refusal::RateLimited { .. } => "rate limited",
            Refusal::TooLarge { .. } => "too large",
            Refusal::NoSignature => "no signature header",
            Refusal::BadSignature => "bad signature",
            Refusal::StaleTimestamp => "stale timestamp",
            Refusal::QueueFull { .. } => "queue full",
            Refusal::Unavailable { .. } => "storage unavailable",
        }
    }

    /// The message the sender gets; never a hint at the expected value.
    pub fn message(self) -> String {
        match self {
            Refusal::UnknownReceiver => "Webhook receiver does not exist.".into(),
            Refusal::Disabled => "Webhook receiver is disabled.".into(),
            Refusal::RateLimited { .. } => {
                "Too many deliveries to this webhook receiver; retry later.".into()
            }
            Refusal::TooLarge { limit } => format!("The payload is larger than {limit} bytes."),
            Refusal::NoSignature => {
                "The request carries none of the receiver's signature headers.".into()
            }
            Refusal::BadSignature => "The signature does not match the payload.".into(),
            Refusal::StaleTimestamp => {
                "The webhook-timestamp is too far from the current time.".into()
            }
            Refusal::QueueFull { .. } => "Too many jobs are waiting to run; retry later.".into(),
            Refusal::Unavailable { .. } => {
                "The server cannot store deliveries right now; retry later.".into()
            }
        }
    }

    /// Seconds to wait before retrying, for the answers that have one.
    pub fn retry_after(self) -> Option<u64> {
        match self {
            Refusal::RateLimited { retry_after_secs }
            | Refusal::QueueFull { retry_after_secs }
            | Refusal::Unavailable { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        }
    }
}
