//! Signature verification on the exact request bytes: HMAC-SHA256 in base64
//! or hex (optionally `sha256=` and percent-encoded), Standard Webhooks `v1`
//! lists with their timestamp window, and form bodies that carry the
//! signature in a field and sign either the body or its `payload` field.
//! Verification says which part was signed, so that a run receives that
//! part and nothing else. A `webhook-signature` (header or field, or any
//! `v1,` value) is only ever checked the Standard Webhooks way, and a
//! `whsec_` key verifies nothing else. Every comparison is constant-time
//! (`Mac::verify_slice`).

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::event::SignedPart;

type HmacSha256 = Hmac<Sha256>;

/// The Standard Webhooks header, whose values are `v1,<base64>` lists.
pub const STANDARD_HEADER: &str = "webhook-signature";
/// How far a Standard Webhooks timestamp may be from now, in seconds.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// A key a delivery may be signed with.
#[derive(Clone)]
pub struct Key {
    pub bytes: Vec<u8>,
    /// A Standard Webhooks (`whsec_`) key: only Standard signatures count.
    pub standard_only: bool,
}

/// What a valid signature covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub signed: SignedPart,
    /// The `webhook-id` a Standard Webhooks signature covered.
    pub standard_id: Option<String>,
}

/// What verification concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid(Verified),
    /// None of the receiver's signature headers (or form fields) was there.
    NoSignature,
    /// A signature was there but matched no key.
    Invalid,
    /// A Standard Webhooks signature matched, but its timestamp is outside
    /// the window: a replay or a badly wrong clock.
    StaleTimestamp,
}

/// One delivery as verification sees it.
pub struct Delivery<'a> {
    /// Header names lowercased, values as sent, in order.
    pub headers: &'a [(String, Vec<u8>)],
    pub body: &'a [u8],
    /// Fields of a form-encoded body, decoded, in order; empty for other
    /// bodies.
    pub form: &'a [(String, String)],
    /// Seconds since the epoch, for the Standard Webhooks window.
    pub now_secs: i64,
}

impl Delivery<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn field(&self, name: &str) -> Option<&[u8]> {
        self.form
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_bytes())
    }

    /// The first `payload` field, as `domain::event::payload_field` reads it.
    fn payload(&self) -> Option<&[u8]> {
        self.form
            .iter()
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v.as_bytes())
    }
}

/// A value that must be checked the Standard Webhooks way.
fn is_standard(name: &str, value: &str) -> bool {
    name.eq_ignore_ascii_case(STANDARD_HEADER) || value.trim_start().starts_with("v1,")
}

/// Checks `delivery` against each key (the current secret first, then a
/// previous one in its grace period), looking in `signature_headers`.
pub fn verify(keys: &[Key], signature_headers: &[String], delivery: &Delivery<'_>) -> Verdict {
    let mut seen = false;
    let mut stale = false;
    for name in signature_headers {
        for (_, value) in delivery.headers.iter().filter(|(n, _)| n == name) {
            seen = true;
            let Ok(text) = std::str::from_utf8(value) else {
                continue;
            };
            if is_standard(name, text) {
                // A header signature covers the body, with the headers' id
                // and timestamp.
                let id = delivery.header("webhook-id");
                let timestamp = delivery.header("webhook-timestamp");
                let verdict = verify_standard(
                    keys,
                    text,
                    id,
                    timestamp,
                    Some(delivery.body),
                    SignedPart::Body,
                    delivery.now_secs,
                );
                if let Some(valid) = settled(verdict, &mut stale) {
                    return valid;
                }
            } else if let Some(signed) = verify_plain(keys, text, delivery, true) {
                return Verdict::Valid(Verified {
                    signed,
                    standard_id: None,
                });
            }
        }
        for (field, value) in delivery.form {
            if !field.eq_ignore_ascii_case(name) {
                continue;
            }
            seen = true;
            if is_standard(field, value) {
                // A field cannot sign the body that holds it: it signs the
                // payload field, with the id and timestamp of the headers
                // or of fields of the same names.
                let id = delivery
                    .header("webhook-id")
                    .or_else(|| delivery.field("webhook-id"));
                let timestamp = delivery
                    .header("webhook-timestamp")
                    .or_else(|| delivery.field("webhook-timestamp"));
                let verdict = verify_standard(
                    keys,
                    value,
                    id,
                    timestamp,
                    delivery.payload(),
                    SignedPart::PayloadField,
                    delivery.now_secs,
                );
                if let Some(valid) = settled(verdict, &mut stale) {
                    return valid;
                }
            } else if let Some(signed) = verify_plain(keys, value, delivery, false) {
                return Verdict::Valid(Verified {
                    signed,
                    standard_id: None,
                });
            }
        }
    }
    if stale {
        Verdict::StaleTimestamp
    } else if seen {
        Verdict::Invalid
    } else {
        Verdict::NoSignature
    }
}

/// A Standard verdict that ends the search (valid), or notes a stale one.
fn settled(verdict: Verdict, stale: &mut bool) -> Option<Verdict> {
    match verdict {
        Verdict::Valid(v) => Some(Verdict::Valid(v)),
        Verdict::StaleTimestamp => {
            *stale = true;
            None
        }
        _ => None,
    }
}

/// An HMAC of the body (when the signature is not itself part of it), or
/// of the form's `payload` field, under a key that is not Standard-only.
/// Returns what it covered.
fn verify_plain(
    keys: &[Key],
    text: &str,
    delivery: &Delivery<'_>,
    may_cover_body: bool,
) -> Option<SignedPart> {
    let signature = decode_signature(text)?;
    let mut body = false;
    let mut payload = false;
    // Evaluate every combination, so timing says nothing about which matched.
    for key in keys.iter().filter(|k| !k.standard_only) {
        body |= may_cover_body && mac_matches(&key.bytes, &[delivery.body], &signature);
        if let Some(p) = delivery.payload() {
            payload |= mac_matches(&key.bytes, &[p], &signature);
        }
    }
    if body {
        Some(SignedPart::Body)
    } else if payload {
        Some(SignedPart::PayloadField)
    } else {
        None
    }
}

/// A Standard Webhooks `v1,` list over `{id}.{timestamp}.{content}`, and
/// the timestamp within the window.
fn verify_standard(
    keys: &[Key],
    text: &str,
    id: Option<&[u8]>,
    timestamp: Option<&[u8]>,
    content: Option<&[u8]>,
    signed: SignedPart,
    now_secs: i64,
) -> Verdict {
    let (Some(id), Some(timestamp), Some(content)) = (id, timestamp, content) else {
        return Verdict::Invalid;
    };
    let Ok(id_text) = std::str::from_utf8(id) else {
        return Verdict::Invalid;
    };
    let mut matched = false;
    for candidate in text.split_whitespace() {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Some(signature) = decode_base64(encoded) else {
            continue;
        };
        for key in keys {
            matched |= mac_matches(
                &key.bytes,
                &[id, b".", timestamp, b".", content],
                &signature,
            );
        }
    }
    if !matched {
        return Verdict::Invalid;
    }
    let within = std::str::from_utf8(timestamp)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .is_some_and(|t| (now_secs - t).abs() <= TIMESTAMP_TOLERANCE_SECS);
    if within {
        Verdict::Valid(Verified {
            signed,
            standard_id: Some(id_text.trim().to_string()),
        })
    } else {
        Verdict::StaleTimestamp
    }
}

fn mac_matches(key: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(signature).is_ok()
}

/// HMAC-SHA256 of `message` under `key`.
pub fn sign(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// A signature header value as a 32-byte MAC: optional percent-encoding
/// (`%XX` only), optional `sha256=`, then 64 hex digits or base64 with or
/// without padding (standard or URL-safe alphabet).
pub fn decode_signature(text: &str) -> Option<[u8; 32]> {
    let decoded = percent_encoding::percent_decode_str(text.trim())
        .decode_utf8()
        .ok()?;
    let value = decoded.trim();
    let value = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &value[7..],
        _ => value,
    };
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        hex::decode_to_slice(value, &mut out).ok()?;
        return Some(out);
    }
    decode_base64(value)
}

fn decode_base64(value: &str) -> Option<[u8; 32]> {
    const INDIFFERENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, INDIFFERENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, INDIFFERENT);
    let bytes = STANDARD
        .decode(value)
        .or_else(|_| URL_SAFE.decode(value))
        .ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"9f8b47c2e4a748d3b58e2a17ad8f2e4b";
    const BODY: &[u8] = br#"{"serviceType":"FeatureServer","name":"Posting","events":[{"eventType":"FeaturesUpdated","when":1741189389713}]}"#;

    fn plain(bytes: &[u8]) -> Key {
        Key {
            bytes: bytes.to_vec(),
            standard_only: false,
        }
    }

    fn valid(signed: SignedPart) -> Verdict {
        Verdict::Valid(Verified {
            signed,
            standard_id: None,
        })
    }

    fn check(headers: &[(&str, &str)], body: &[u8], form: &[(&str, &str)], now: i64) -> Verdict {
        let headers: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names = vec![
            "x-esrihook-signature".to_string(),
            "x-hub-signature-256".to_string(),
            STANDARD_HEADER.to_string(),
        ];
        verify(
            &[plain(SECRET)],
            &names,
            &Delivery {
                headers: &headers,
                body,
                form: &form,
                now_secs: now,
            },
        )
    }

    #[test]
    fn every_written_form_of_one_signature_decodes_to_the_same_bytes() {
        let mac = sign(SECRET, &[BODY]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(mac);
        let hexed = hex::encode(mac);
        for text in [
            b64.clone(),
            format!("sha256={b64}"),
            format!("SHA256={b64}"),
            b64.trim_end_matches('=').to_string(),
            format!("sha256={hexed}"),
            hexed.to_uppercase(),
            format!(
                "sha256%3D{}",
                b64.replace('/', "%2F")
                    .replace('=', "%3D")
                    .replace('+', "%2B")
            ),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac),
        ] {
            assert_eq!(decode_signature(&text), Some(mac), "{text}");
        }
    }

    #[test]
    fn a_plus_stays_a_plus_when_percent_decoding() {
        // A base64 signature with '+' must survive: '+' is not a space here.
        let mac = [0xfbu8; 32];
        let b64 = base64::engine::general_purpose::STANDARD.encode(mac);
        assert!(b64.contains('+'));
        assert_eq!(decode_signature(&b64), Some(mac));
    }

    #[test]
    fn no_header_a_wrong_signature_and_garbage_are_told_apart() {
        assert_eq!(check(&[], BODY, &[], 0), Verdict::NoSignature);
        assert_eq!(
            check(&[("x-other", "sha256=abc")], BODY, &[], 0),
            Verdict::NoSignature
        );
        assert_eq!(
            check(&[("x-esrihook-signature", "sha256=AAAA")], BODY, &[], 0),
            Verdict::Invalid
        );
        assert_eq!(
            check(&[("x-esrihook-signature", "")], BODY, &[], 0),
            Verdict::Invalid
        );
    }

    #[test]
    fn a_signature_over_other_bytes_is_invalid() {
        let mac = base64::engine::general_purpose::STANDARD.encode(sign(SECRET, &[BODY]));
        let header = [("x-esrihook-signature", mac.as_str())];
        assert_eq!(check(&header, BODY, &[], 0), valid(SignedPart::Body));
        assert_eq!(
            check(&header, &BODY[..BODY.len() - 1], &[], 0),
            Verdict::Invalid
        );
        let spaced = String::from_utf8(BODY.to_vec()).unwrap().replace(',', ", ");
        assert_eq!(check(&header, spaced.as_bytes(), &[], 0), Verdict::Invalid);
    }

    #[test]
    fn a_form_may_carry_the_signature_and_sign_the_payload_field() {
        let payload = String::from_utf8(BODY.to_vec()).unwrap();
        let mac = base64::engine::general_purpose::STANDARD.encode(sign(SECRET, &[BODY]));
        let body = b"payload=...&X-EsriHook-Signature=...";
        let form = [
            ("payload", payload.as_str()),
            ("X-EsriHook-Signature", mac.as_str()),
        ];
        assert_eq!(check(&[], body, &form, 0), valid(SignedPart::PayloadField));
        // The same signature in a header also covers the payload field.
        assert_eq!(
            check(&[("x-esrihook-signature", &mac)], body, &form[..1], 0),
            valid(SignedPart::PayloadField)
        );
        let wrong = [("payload", "{}"), ("x-esrihook-signature", mac.as_str())];
        assert_eq!(check(&[], body, &wrong, 0), Verdict::Invalid);
    }

    #[test]
    fn standard_webhooks_checks_the_timestamp_window() {
        let key = (0u8..24).collect::<Vec<_>>();
        let sig =
            base64::engine::general_purpose::STANDARD.encode(sign(&key, &[b"msg_1.1000.", BODY]));
        let headers: Vec<(String, Vec<u8>)> = [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1000"),
            ("webhook-signature", &format!("v1,bm90IGl0 v1,{sig}")),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
        let names = [STANDARD_HEADER.to_string()];
        let key = Key {
            bytes: key,
            standard_only: true,
        };
        let at = |now| {
            verify(
                std::slice::from_ref(&key),
                &names,
                &Delivery {
                    headers: &headers,
                    body: BODY,
                    form: &[],
                    now_secs: now,
                },
            )
        };
        let ok = Verdict::Valid(Verified {
            signed: SignedPart::Body,
            standard_id: Some("msg_1".into()),
        });
        assert_eq!(at(1000), ok);
        assert_eq!(at(1300), ok);
        assert_eq!(at(700), ok);
        assert_eq!(at(1301), Verdict::StaleTimestamp);
        assert_eq!(at(699), Verdict::StaleTimestamp);
    }

    #[test]
    fn a_previous_secret_still_verifies() {
        let old = b"0123456789abcdef0123456789abcdef".to_vec();
        let mac = hex::encode(sign(&old, &[BODY]));
        let headers = vec![(
            "x-hub-signature-256".to_string(),
            format!("sha256={mac}").into_bytes(),
        )];
        let names = ["x-hub-signature-256".to_string()];
        let d = Delivery {
            headers: &headers,
            body: BODY,
            form: &[],
            now_secs: 0,
        };
        assert_eq!(verify(&[plain(SECRET)], &names, &d), Verdict::Invalid);
        assert_eq!(
            verify(&[plain(SECRET), plain(&old)], &names, &d),
            valid(SignedPart::Body)
        );
    }

    #[test]
    fn a_standard_signature_in_a_form_field_is_checked_the_standard_way() {
        let key = plain(SECRET);
        let signed = |parts: &[&[u8]]| {
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(sign(SECRET, parts))
            )
        };
        let names = [STANDARD_HEADER.to_string()];
        // A day-old Standard delivery replayed as a form, its signed
        // content as the payload: no plain HMAC path accepts it.
        let content = "msg_1.1000.{}";
        let sig = signed(&[content.as_bytes()]);
        let form = vec![
            ("webhook-signature".to_string(), sig),
            ("payload".to_string(), content.to_string()),
        ];
        let d = Delivery {
            headers: &[],
            body: b"webhook-signature=...&payload=...",
            form: &form,
            now_secs: 1000 + 86_400,
        };
        assert_eq!(
            verify(std::slice::from_ref(&key), &names, &d),
            Verdict::Invalid
        );
        // Signed the Standard way over the payload field, with the id and
        // timestamp given: valid within the window, stale outside it.
        let headers = vec![
            ("webhook-id".to_string(), b"msg_1".to_vec()),
            ("webhook-timestamp".to_string(), b"1000".to_vec()),
        ];
        let form = vec![
            ("webhook-signature".to_string(), signed(&[b"msg_1.1000.{}"])),
            ("payload".to_string(), "{}".to_string()),
        ];
        let at = |now| {
            verify(
                std::slice::from_ref(&key),
                &names,
                &Delivery {
                    headers: &headers,
                    body: b"...",
                    form: &form,
                    now_secs: now,
                },
            )
        };
        assert_eq!(
            at(1000),
            Verdict::Valid(Verified {
                signed: SignedPart::PayloadField,
                standard_id: Some("msg_1".into()),
            })
        );
        assert_eq!(at(1000 + 86_400), Verdict::StaleTimestamp);
    }

    #[test]
    fn a_whsec_key_accepts_only_standard_signatures() {
        let key = Key {
            bytes: SECRET.to_vec(),
            standard_only: true,
        };
        let mac = base64::engine::general_purpose::STANDARD.encode(sign(SECRET, &[BODY]));
        let headers = vec![("x-esrihook-signature".to_string(), mac.into_bytes())];
        let d = Delivery {
            headers: &headers,
            body: BODY,
            form: &[],
            now_secs: 0,
        };
        let names = ["x-esrihook-signature".to_string()];
        assert_eq!(
            verify(std::slice::from_ref(&key), &names, &d),
            Verdict::Invalid
        );
        assert_eq!(
            verify(&[key, plain(SECRET)], &names, &d),
            valid(SignedPart::Body),
            "a plain previous secret still verifies plain signatures"
        );
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_header_text_never_panics(s in "\\PC{0,200}") {
            let _ = decode_signature(&s);
        }

        #[test]
        fn verifying_arbitrary_headers_and_bodies_never_panics_nor_passes(
            value in proptest::collection::vec(any::<u8>(), 0..120),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            ts in "[0-9a-z ]{0,12}",
        ) {
            let headers = vec![
                ("x-esrihook-signature".to_string(), value.clone()),
                ("webhook-signature".to_string(), value),
                ("webhook-id".to_string(), b"id".to_vec()),
                ("webhook-timestamp".to_string(), ts.into_bytes()),
            ];
            let names = ["x-esrihook-signature".to_string(), STANDARD_HEADER.to_string()];
            let verdict = verify(&[plain(SECRET)], &names, &Delivery { headers: &headers, body: &body, form: &[], now_secs: 0 });
            prop_assert!(!matches!(verdict, Verdict::Valid(_)));
        }

        #[test]
        fn any_encoding_of_the_right_mac_verifies(body in proptest::collection::vec(any::<u8>(), 0..256), hexed in any::<bool>(), prefixed in any::<bool>()) {
            let mac = sign(SECRET, &[&body]);
            let text = if hexed { hex::encode(mac) } else { base64::engine::general_purpose::STANDARD.encode(mac) };
            let text = if prefixed { format!("sha256={text}") } else { text };
            let headers = vec![("x-esrihook-signature".to_string(), text.into_bytes())];
            let names = ["x-esrihook-signature".to_string()];
            prop_assert_eq!(verify(&[plain(SECRET)], &names, &Delivery { headers: &headers, body: &body, form: &[], now_secs: 0 }), valid(SignedPart::Body));
        }
    }
}
