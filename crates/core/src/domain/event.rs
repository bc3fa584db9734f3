//! What of a delivery its signature authenticated, and how a run reads
//! exactly that part: the payload of a form field or the whole body,
//! interpreted once, the same way at verification and at run time.

use serde_json::Value;

/// The part of a delivery that its signature covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedPart {
    /// The exact request body.
    Body,
    /// The value of the first `payload` field of a form-encoded body.
    PayloadField,
}

impl SignedPart {
    pub fn as_str(self) -> &'static str {
        match self {
            SignedPart::Body => "body",
            SignedPart::PayloadField => "payload",
        }
    }

    /// Reads a stored value; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "body" => Some(SignedPart::Body),
            "payload" => Some(SignedPart::PayloadField),
            _ => None,
        }
    }
}

/// Whether a `Content-Type` value names a form-encoded body (its essence,
/// parameters and case aside): the one test intake and runs share.
pub fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// The value of the first `payload` field of a form-encoded body: what a
/// signature over the payload field covers, and what a run then receives.
pub fn payload_field(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
}

/// `webhookPayload` for a run: only the signed part, read once. A signed
/// payload field is its JSON object or array, else its text. A signed body
/// is its JSON object or array; else, when it is a form, its `payload`
/// field (read the same way, and inside the signed bytes); else its text.
/// The content type (which no signature covers) chooses nothing that a
/// JSON body could be read as.
pub fn webhook_payload(body: &[u8], signed: SignedPart, is_form: bool) -> Value {
    let structured = |text: &str| {
        serde_json::from_str::<Value>(text)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    };
    let text_of = |text: String| structured(&text).unwrap_or(Value::String(text));
    match signed {
        SignedPart::PayloadField => text_of(payload_field(body).unwrap_or_default()),
        SignedPart::Body => {
            if let Some(v) = serde_json::from_slice::<Value>(body)
                .ok()
                .filter(|v| v.is_object() || v.is_array())
            {
                return v;
            }
            if is_form {
                if let Some(payload) = payload_field(body) {
                    return text_of(payload);
                }
            }
            Value::String(String::from_utf8_lossy(body).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_signed_payload_field_is_all_a_run_sees() {
        let genuine = r#"{"action":"update"}"#;
        let encoded: String = form_urlencoded::byte_serialize(genuine.as_bytes()).collect();
        // The body is JSON an attacker wrote around a captured payload.
        let body = format!(r#"{{"action":"delete_everything","pad":"&payload={encoded}&"}}"#);
        assert_eq!(
            webhook_payload(body.as_bytes(), SignedPart::PayloadField, true),
            json!({"action": "update"})
        );
    }

    #[test]
    fn a_signed_body_is_read_as_json_first_whatever_the_content_type() {
        let body = br#"{"note":"x&payload=%7B%22evil%22%3A1%7D&"}"#;
        assert_eq!(
            webhook_payload(body, SignedPart::Body, true),
            json!({"note": "x&payload=%7B%22evil%22%3A1%7D&"})
        );
        assert_eq!(
            webhook_payload(b"payload=%7B%22a%22%3A1%7D", SignedPart::Body, true),
            json!({"a": 1})
        );
        assert_eq!(
            webhook_payload(b"plain text", SignedPart::Body, false),
            json!("plain text")
        );
    }

    #[test]
    fn payloads_are_json_when_they_can_be_and_text_otherwise() {
        let body = |b: &[u8]| webhook_payload(b, SignedPart::Body, false);
        assert_eq!(body(br#"{"a": 1}"#), json!({"a": 1}));
        assert_eq!(body(b"[1]"), json!([1]));
        assert_eq!(body(b"5"), json!("5"));
        assert_eq!(body(b"hello"), json!("hello"));
        let form = |b: &[u8]| webhook_payload(b, SignedPart::Body, true);
        assert_eq!(form(b"payload=%7B%22a%22%3A1%7D&x=1"), json!({"a": 1}));
        assert_eq!(form(b"payload=plain+text"), json!("plain text"));
    }

    #[test]
    fn stored_names_read_back() {
        for part in [SignedPart::Body, SignedPart::PayloadField] {
            assert_eq!(SignedPart::parse(part.as_str()), Some(part));
        }
        assert_eq!(SignedPart::parse("other"), None);
    }
}

/// A stored event, as a run reads it.
#[derive(Debug, Clone)]
pub struct Event {
    /// The kept headers, a JSON object.
    pub headers: String,
    pub body: Vec<u8>,
    pub signed: SignedPart,
}
