//! The steps of one delivery: open (receiver, state, declared size), then
//! deliver (signature on the exact bytes, the receiver's rate, durable
//! acceptance). The rate counts verified deliveries only, so forgeries
//! cannot use it up. Every refusal is counted, logged for the receiver
//! within its own budget, and creates nothing.

use crate::domain::delivery::{self, DeliveryOutcome};

use std::sync::Arc;
use std::time::Instant;

use crate::domain::ids::{EventId, JobId, ReceiverId};
use crate::domain::receiver::Receiver;
use crate::domain::time::Millis;
use crate::error::{Error, Result};
use crate::store::{Acceptance, NewEvent, StoreError};

use super::committer::NotStored;
use super::signature::{self, Delivery, Key, Verdict, Verified};
use super::{Intake, Refusal};

/// Headers that never reach the notebook or the database.
const PRIVATE_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "x-esri-authorization",
    signature::STANDARD_HEADER,
];

/// The longest a delivery waits for its receiver to be read from the
/// store (on a cache miss) before it is answered 503.
const RECEIVER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// The `Retry-After` of a delivery the database could not store.
const RETRY_UNAVAILABLE_SECS: u64 = 10;

/// A delivery whose receiver is known and open; its body may be read.
pub struct Gate {
    receiver: Arc<Receiver>,
    started: Instant,
}

impl Gate {
    /// The receiver the delivery is for.
    pub(super) fn receiver(&self) -> &Receiver {
        &self.receiver
    }
}

/// A delivery as it came: header names lowercased, the body's exact bytes.
pub struct Incoming {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// What an accepted delivery answers.
#[derive(Debug, Clone, Copy)]
pub struct Delivered {
    pub job_id: JobId,
    pub duplicate: bool,
}

impl Intake {
    /// Checks what can be checked before reading the body.
    pub async fn open_delivery(&self, id: &str, declared_length: Option<u64>) -> Result<Gate> {
        let started = Instant::now();
        let receiver = match ReceiverId::parse(id) {
            Ok(id) => self.load_receiver(&id).await?,
            Err(_) => None,
        };
        let Some(receiver) = receiver else {
            return Err(self.refuse(None, Refusal::UnknownReceiver, 0));
        };
        let id = receiver.id;
        let size = declared_length.unwrap_or(0);
        if receiver.disabled {
            return Err(self.refuse(Some(id), Refusal::Disabled, size));
        }
        let limit = self.settings.max_payload_bytes;
        if declared_length.is_some_and(|n| n > limit) {
            return Err(self.refuse(Some(id), Refusal::TooLarge { limit }, size));
        }
        Ok(Gate { receiver, started })
    }

    /// A sender's connection check (a `GET` or `HEAD` of the receiver's
    /// URL, as ArcGIS does when a webhook is created): the receiver exists
    /// and takes deliveries. Nothing is stored, run or counted, and
    /// nothing is computed with the secret.
    pub async fn check_connection(&self, id: &str) -> Result<()> {
        let receiver = match ReceiverId::parse(id) {
            Ok(id) => self.load_receiver(&id).await?,
            Err(_) => None,
        };
        match receiver {
            None => Err(Error::Refused(Refusal::UnknownReceiver)),
            Some(receiver) if receiver.disabled => Err(Error::Refused(Refusal::Disabled)),
            Some(_) => Ok(()),
        }
    }

    /// The body grew past the limit while being read.
    pub fn refuse_too_large(&self, gate: &Gate, size: u64) -> Error {
        let limit = self.settings.max_payload_bytes;
        self.refuse(Some(gate.receiver.id), Refusal::TooLarge { limit }, size)
    }

    /// Verifies the signature and stores the event and its job durably.
    pub async fn deliver(&self, gate: Gate, incoming: Incoming) -> Result<Delivered> {
        let receiver = &gate.receiver;
        let now = Millis::now();
        let size = incoming.body.len() as u64;
        let verified = match verify(receiver, &incoming, now) {
            Verdict::Valid(verified) => Ok(verified),
            Verdict::NoSignature => Err(Refusal::NoSignature),
            Verdict::Invalid => Err(Refusal::BadSignature),
            Verdict::StaleTimestamp => Err(Refusal::StaleTimestamp),
        }
        .map_err(|refusal| self.refuse(Some(receiver.id), refusal, size))?;
        if !self.limiter.admit(receiver.id, Millis::now()) {
            let refusal = Refusal::RateLimited {
                retry_after_secs: 1,
            };
            return Err(self.refuse(Some(receiver.id), refusal, size));
        }
        let event = new_event(receiver, incoming, verified, now);
        let answer = self.committer.accept(event).await.map_err(|not_stored| {
            // A failure marked the health already; a late answer is
            // the database cut off rather than refusing.
            if matches!(not_stored, NotStored::Late) {
                self.health.failed(|| not_stored.to_string());
            }
            self.unavailable()
        })?;
        let delivered = match answer {
            Acceptance::Accepted { job_id } => Delivered {
                job_id,
                duplicate: false,
            },
            Acceptance::Duplicate { job_id } => Delivered {
                job_id,
                duplicate: true,
            },
            Acceptance::QueueFull => {
                // The committer already logged this line in its transaction.
                let refusal = Refusal::QueueFull {
                    retry_after_secs: 5,
                };
                self.metrics
                    .delivery(DeliveryOutcome::Rejected, refusal.reason());
                return Err(Error::Refused(refusal));
            }
        };
        let outcome = if delivered.duplicate {
            DeliveryOutcome::Duplicate
        } else {
            DeliveryOutcome::Accepted
        };
        self.metrics.delivery(outcome, "");
        self.metrics.accepted_in(gate.started.elapsed());
        Ok(delivered)
    }

    /// The receiver, from the cache or the store within
    /// [`RECEIVER_DEADLINE`]; a store that fails or is late is the
    /// database being unavailable.
    async fn load_receiver(&self, id: &ReceiverId) -> Result<Option<Arc<Receiver>>> {
        let load = self.receivers.load(self.store.as_ref(), &self.vault, id);
        match tokio::time::timeout(RECEIVER_DEADLINE, load).await {
            Ok(Ok(receiver)) => Ok(receiver),
            Ok(Err(StoreError::Database(e))) => {
                self.health.failed(|| crate::report::chain(&*e));
                Err(self.unavailable())
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                self.health.failed(|| {
                    format!("reading a receiver took longer than {RECEIVER_DEADLINE:?}")
                });
                Err(self.unavailable())
            }
        }
    }

    /// The answer while the database cannot be reached or written:
    /// counted, never written to the delivery log (it cannot be).
    fn unavailable(&self) -> Error {
        let refusal = Refusal::Unavailable {
            retry_after_secs: RETRY_UNAVAILABLE_SECS,
        };
        self.metrics
            .delivery(DeliveryOutcome::Rejected, refusal.reason());
        Error::Refused(refusal)
    }

    /// Counts and logs a refusal and turns it into the error to answer.
    fn refuse(&self, receiver: Option<ReceiverId>, refusal: Refusal, size: u64) -> Error {
        self.metrics
            .delivery(DeliveryOutcome::Rejected, refusal.reason());
        let logged = receiver.filter(|r| self.logged_refusals.admit(*r, Millis::now()));
        if let Some(receiver_id) = logged {
            self.committer.log(delivery::Delivery {
                receiver_id,
                time: Millis::now(),
                outcome: DeliveryOutcome::Rejected,
                reason: refusal.reason().to_string(),
                job_id: None,
                size: i64::try_from(size).unwrap_or(i64::MAX),
            });
        }
        Error::Refused(refusal)
    }
}

/// Checks the delivery's signature with the receiver's secret, and with
/// its previous one while that is in its grace period.
fn verify(receiver: &Receiver, incoming: &Incoming, now: Millis) -> Verdict {
    let form = form_fields(incoming);
    let key = |secret: &crate::domain::receiver::Secret| Key {
        bytes: secret.key(),
        standard_only: secret.is_standard(),
    };
    let mut keys = vec![key(&receiver.secret)];
    if let Some((previous, until)) = &receiver.previous_secret {
        if *until > now {
            keys.push(key(previous));
        }
    }
    signature::verify(
        &keys,
        receiver.signature_headers.names(),
        &Delivery {
            headers: &incoming.headers,
            body: &incoming.body,
            form: &form,
            now_secs: now.0.div_euclid(1000),
        },
    )
}

/// The event and job a verified delivery becomes.
fn new_event(receiver: &Receiver, incoming: Incoming, verified: Verified, now: Millis) -> NewEvent {
    let header = |name: &str| {
        incoming
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    // A Standard Webhooks delivery is known by the id its signature
    // covered; others by the id their sender gives.
    let delivery_id = verified
        .standard_id
        .or_else(|| header("webhook-id").or_else(|| header("x-github-delivery")));
    // Time-ordered ids keep the indexes' inserts at their right edge, so
    // a batch dirties a few pages rather than one per index per event.
    NewEvent {
        event_id: EventId::generate(),
        job_id: JobId::generate(),
        receiver_id: receiver.id,
        delivery_id,
        received: now,
        headers: kept_headers(&incoming.headers, receiver.signature_headers.names()),
        body: incoming.body,
        signed: verified.signed,
        item_id: receiver.item_id.clone(),
        username: receiver.owner.clone(),
        parameters: receiver.parameters.to_json(),
    }
}

/// The fields of a form-encoded body; empty for any other body.
fn form_fields(incoming: &Incoming) -> Vec<(String, String)> {
    let is_form = incoming.headers.iter().any(|(n, v)| {
        n == "content-type" && std::str::from_utf8(v).is_ok_and(crate::domain::event::is_form)
    });
    if is_form {
        form_urlencoded::parse(&incoming.body)
            .into_owned()
            .collect()
    } else {
        Vec::new()
    }
}

/// The headers a run may see, as a JSON object: lowercased names, repeated
/// headers joined with ", ", without signatures and credentials.
fn kept_headers(headers: &[(String, Vec<u8>)], signature_headers: &[String]) -> String {
    let mut kept = serde_json::Map::new();
    for (name, value) in headers {
        if PRIVATE_HEADERS.contains(&name.as_str()) || signature_headers.contains(name) {
            continue;
        }
        let value = String::from_utf8_lossy(value).into_owned();
        match kept.get_mut(name) {
            Some(serde_json::Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                kept.insert(name.clone(), serde_json::Value::String(value));
            }
        }
    }
    serde_json::Value::Object(kept).to_string()
}
