//! A test event: a delivery the server signs itself, with the receiver's
//! secret, over a payload of its own (never text a caller chose, and the
//! signature is never shown), taken in as any delivery is: its signature
//! checked, its event stored, its job queued.

use base64::Engine as _;

use super::receive::{Delivered, Incoming};
use super::signature::sign;
use super::Intake;
use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::time::Millis;
use crate::error::Result;

impl Intake {
    /// Delivers a signed test event to the receiver `id`.
    pub async fn send_test_event(&self, id: &ReceiverId) -> Result<Delivered> {
        let now = Millis::now();
        let body = serde_json::json!({
            "hookbook": "test event",
            "sentAt": now.0,
        })
        .to_string()
        .into_bytes();
        let gate = self
            .open_delivery(&id.to_string(), Some(body.len() as u64))
            .await?;
        let headers = signed_headers(gate.receiver(), &body, now);
        self.deliver(gate, Incoming { headers, body }).await
    }
}

/// The headers of a delivery of `body` signed the way the receiver checks:
/// Standard Webhooks for a `whsec_` secret, else the first signature
/// header it names (ArcGIS's base64, or hex as GitHub and the rest send).
fn signed_headers(receiver: &Receiver, body: &[u8], now: Millis) -> Vec<(String, Vec<u8>)> {
    let key = receiver.secret.key();
    let base64 = base64::engine::general_purpose::STANDARD;
    let mut headers = vec![("content-type".to_string(), b"application/json".to_vec())];
    if receiver.secret.is_standard() {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let timestamp = now.0.div_euclid(1000).to_string();
        let mac = sign(
            &key,
            &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
        );
        headers.push(("webhook-id".into(), id.into_bytes()));
        headers.push(("webhook-timestamp".into(), timestamp.into_bytes()));
        let signature = format!("v1,{}", base64.encode(mac));
        headers.push(("webhook-signature".into(), signature.into_bytes()));
        return headers;
    }
    let name = receiver
        .signature_headers
        .names()
        .first()
        .map_or("x-esrihook-signature".to_string(), |n| {
            n.to_ascii_lowercase()
        });
    let mac = sign(&key, &[body]);
    let value = if name == "x-esrihook-signature" {
        format!("sha256={}", base64.encode(mac))
    } else {
        format!("sha256={}", hex::encode(mac))
    };
    headers.push((name, value.into_bytes()));
    headers
}
