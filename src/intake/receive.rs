//! The steps of one delivery: open (receiver, state, declared size), then
//! deliver (signature on the exact bytes, the receiver's rate, durable
//! acceptance). The rate counts verified deliveries only, so forgeries
//! cannot use it up. Every refusal is counted, logged for the receiver
//! within its own budget, and creates nothing.

use std::sync::Arc;
use std::time::Instant;

use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::time::Millis;
use crate::error::{Error, Result};
use crate::service::App;
use crate::store::{Acceptance, DeliveryOutcome, DeliveryRecord, NewEvent};

use super::signature::{self, Delivery, Key, Verdict};
use super::Refusal;

/// Headers that never reach the notebook or the database.
const PRIVATE_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "x-esri-authorization",
    signature::STANDARD_HEADER,
];

/// A delivery whose receiver is known and open; its body may be read.
pub struct Gate {
    receiver: Arc<Receiver>,
    started: Instant,
}

impl Gate {
    pub fn max_payload_bytes(&self, app: &App) -> u64 {
        app.intake.settings.max_payload_bytes
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
    pub job_id: uuid::Uuid,
    pub duplicate: bool,
}

impl App {
    /// The receiver a delivery addresses, without any caller's privileges.
    pub async fn event_receiver(&self, id: &str) -> Result<Option<Arc<Receiver>>> {
        let Ok(id) = ReceiverId::parse(id) else {
            return Ok(None);
        };
        if let Some(receiver) = self.intake.receivers.get(&id) {
            return Ok(Some(receiver));
        }
        match self.store.receiver(&id).await? {
            Some(record) => {
                let receiver = Arc::new(self.unseal_receiver(record)?);
                self.intake.receivers.put(receiver.clone());
                Ok(Some(receiver))
            }
            None => Ok(None),
        }
    }

    /// Checks what can be checked before reading the body.
    pub async fn open_delivery(&self, id: &str, declared_length: Option<u64>) -> Result<Gate> {
        let started = Instant::now();
        let Some(receiver) = self.event_receiver(id).await? else {
            return Err(self.refuse(None, Refusal::UnknownReceiver, 0));
        };
        let id = receiver.id;
        let size = declared_length.unwrap_or(0);
        if receiver.disabled {
            return Err(self.refuse(Some(id), Refusal::Disabled, size));
        }
        let limit = self.intake.settings.max_payload_bytes;
        if declared_length.is_some_and(|n| n > limit) {
            return Err(self.refuse(Some(id), Refusal::TooLarge { limit }, size));
        }
        Ok(Gate { receiver, started })
    }

    /// The body grew past the limit while being read.
    pub fn refuse_too_large(&self, gate: &Gate, size: u64) -> Error {
        let limit = self.intake.settings.max_payload_bytes;
        self.refuse(Some(gate.receiver.id), Refusal::TooLarge { limit }, size)
    }

    /// Verifies the signature and stores the event and its job durably.
    pub async fn deliver(&self, gate: Gate, incoming: Incoming) -> Result<Delivered> {
        let receiver = &gate.receiver;
        let now = Millis::now();
        let size = incoming.body.len() as u64;
        let form = form_fields(&incoming);
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
        let verdict = signature::verify(
            &keys,
            receiver.signature_headers.names(),
            &Delivery {
                headers: &incoming.headers,
                body: &incoming.body,
                form: &form,
                now_secs: now.0.div_euclid(1000),
            },
        );
        let verified = match verdict {
            Verdict::Valid(verified) => verified,
            Verdict::NoSignature => {
                return Err(self.refuse(Some(receiver.id), Refusal::NoSignature, size))
            }
            Verdict::Invalid => {
                return Err(self.refuse(Some(receiver.id), Refusal::BadSignature, size))
            }
            Verdict::StaleTimestamp => {
                return Err(self.refuse(Some(receiver.id), Refusal::StaleTimestamp, size))
            }
        };
        if !self.intake.limiter.admit(receiver.id, Millis::now()) {
            return Err(self.refuse(
                Some(receiver.id),
                Refusal::RateLimited {
                    retry_after_secs: 1,
                },
                size,
            ));
        }
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
        let event = NewEvent {
            event_id: uuid::Uuid::now_v7(),
            job_id: uuid::Uuid::now_v7(),
            receiver_id: receiver.id,
            delivery_id,
            received: now,
            headers: kept_headers(&incoming.headers, receiver.signature_headers.names()),
            body: incoming.body,
            signed: verified.signed,
            item_id: receiver.item_id.clone(),
            username: receiver.owner.clone(),
            parameters: receiver.parameters.to_json(),
        };
        let answer = self
            .intake
            .committer
            .accept(event)
            .await
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("the event could not be stored")))?;
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
                self.metrics.delivery(
                    DeliveryOutcome::Rejected,
                    Refusal::QueueFull {
                        retry_after_secs: 5,
                    }
                    .reason(),
                );
                return Err(Error::Refused(Refusal::QueueFull {
                    retry_after_secs: 5,
                }));
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

    /// Counts and logs a refusal and turns it into the error to answer.
    fn refuse(&self, receiver: Option<ReceiverId>, refusal: Refusal, size: u64) -> Error {
        self.metrics
            .delivery(DeliveryOutcome::Rejected, refusal.reason());
        let logged = receiver.filter(|r| self.intake.logged_refusals.admit(*r, Millis::now()));
        if let Some(receiver_id) = logged {
            self.intake.committer.log(DeliveryRecord {
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
