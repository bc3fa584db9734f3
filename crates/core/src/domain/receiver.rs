//! Webhook receivers and the parsers for their fields: name, secret,
//! signature headers and parameters.

use std::fmt;

use base64::Engine as _;

use super::ids::{ItemId, ReceiverId};
use super::sensitive::Sensitive;
use super::time::Millis;
use super::user::Username;
use super::ParseError;

/// A receiver's name: required and not blank, at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverName(String);

impl ReceiverName {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::new("is required and must not be blank"));
        }
        if s.chars().count() > 256 {
            return Err(ParseError::new("must be at most 256 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new("must not contain control characters"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The shared secret that signs deliveries: 32 printable characters, or a
/// Standard Webhooks secret `whsec_` + 32 base64 characters whose key is the
/// decoded bytes. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Sensitive<String>);

const STANDARD_PREFIX: &str = "whsec_";

impl Secret {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if let Some(encoded) = input.strip_prefix(STANDARD_PREFIX) {
            if encoded.len() != 32
                || !encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                return Err(ParseError::new(
                    "a whsec_ secret must be followed by exactly 32 base64 characters",
                ));
            }
            if base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .is_err()
            {
                return Err(ParseError::new("the part after whsec_ is not valid base64"));
            }
        } else {
            if input.is_empty() {
                return Err(ParseError::new("is required"));
            }
            if input.chars().count() != 32 {
                return Err(ParseError::new(
                    "must be exactly 32 characters long (or whsec_ and 32 base64 characters)",
                ));
            }
            if !input.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                return Err(ParseError::new(
                    "must contain only printable ASCII characters without spaces",
                ));
            }
        }
        Ok(Self(Sensitive::new(input.to_string())))
    }

    /// A new Standard Webhooks secret: `whsec_` and 24 random bytes in
    /// base64.
    pub fn generate_standard() -> Self {
        use rand::RngCore as _;
        let mut bytes = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        Self(Sensitive::new(format!("{STANDARD_PREFIX}{encoded}")))
    }

    /// The secret as the administrator typed it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// A Standard Webhooks (`whsec_`) secret, which signs only the
    /// Standard Webhooks way.
    pub fn is_standard(&self) -> bool {
        self.expose().starts_with(STANDARD_PREFIX)
    }

    /// The HMAC key: the decoded bytes of a `whsec_` secret, else the
    /// secret's own bytes.
    pub fn key(&self) -> Vec<u8> {
        match self.expose().strip_prefix(STANDARD_PREFIX) {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_default(),
            None => self.expose().as_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The header names a receiver looks in for a signature: lowercased,
/// without spaces, at least one, no duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders(Vec<String>);

const MAX_SIGNATURE_HEADERS: usize = 16;

impl SignatureHeaders {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut names: Vec<String> = Vec::new();
        for raw in input.split(',') {
            let name = raw.trim();
            if name.is_empty() {
                if input.trim().is_empty() {
                    return Err(ParseError::new("at least one header name is required"));
                }
                return Err(ParseError::new("contains an empty header name"));
            }
            if name.len() > 128 || !name.bytes().all(is_token_byte) {
                return Err(ParseError::new(format!(
                    "'{}' is not a valid header name",
                    name.escape_default()
                )));
            }
            let lower = name.to_ascii_lowercase();
            if !names.contains(&lower) {
                names.push(lower);
            }
        }
        if names.len() > MAX_SIGNATURE_HEADERS {
            return Err(ParseError::new(format!(
                "at most {MAX_SIGNATURE_HEADERS} header names are allowed"
            )));
        }
        Ok(Self(names))
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The contract's form: comma-joined, lowercased, no spaces.
    pub fn joined(&self) -> String {
        self.0.join(",")
    }
}

/// RFC 9110 `tchar`: the bytes allowed in a header field name.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Parameters injected into the notebook: a JSON object whose keys are
/// Python identifiers (not keywords), other than the two names hookbook
/// injects itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters(serde_json::Map<String, serde_json::Value>);

pub const RESERVED_PARAMETERS: [&str; 2] = ["webhookPayload", "webhookHeaders"];

const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

impl Parameters {
    /// An empty or blank input means no parameters.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.trim().is_empty() {
            return Ok(Self(serde_json::Map::new()));
        }
        let value: serde_json::Value = serde_json::from_str(input)
            .map_err(|e| ParseError::new(format!("is not valid JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(ParseError::new("must be a JSON object"));
        };
        Self::checked(map)
    }

    /// `executeNotebook`'s `notebookParameters` in every form the ArcGIS
    /// API for Python sends or documents: a JSON object (`{"x": 1}`); the
    /// pairs without their braces (`"x": 1, "y": "text"`, as its
    /// `execute_notebook` describes them); or a JSON list of such pairs as
    /// strings (`["\"x\": 1"]`), of `{"name": .., "value": ..}` objects, or
    /// of objects whose keys are merged (`[{"x": 1}, {"y": 2}]`).
    pub fn parse_notebook_parameters(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if text.is_empty() || text.starts_with('{') {
            return Self::parse(text);
        }
        if !text.starts_with('[') {
            return Self::parse(&format!("{{{text}}}")).map_err(|e| {
                ParseError::new(format!(
                    "must be a JSON object such as {{\"x\": 1}} (or its pairs, or a list of them): {e}"
                ))
            });
        }
        let list: Vec<serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| ParseError::new(format!("is not valid JSON: {e}")))?;
        let mut map = serde_json::Map::new();
        let mut pairs = Vec::new();
        for entry in list {
            match entry {
                serde_json::Value::String(pair) => pairs.push(pair),
                serde_json::Value::Object(mut object) => {
                    let named = object.len() <= 2
                        && object.get("name").is_some_and(serde_json::Value::is_string)
                        && object.keys().all(|k| k == "name" || k == "value");
                    if named {
                        let name = match object.remove("name") {
                            Some(serde_json::Value::String(name)) => name,
                            _ => continue,
                        };
                        let value = object.remove("value").unwrap_or(serde_json::Value::Null);
                        map.insert(name, value);
                    } else {
                        map.extend(object);
                    }
                }
                _ => {
                    return Err(ParseError::new(
                        "a list of parameters holds \"name\": value strings or objects",
                    ))
                }
            }
        }
        if !pairs.is_empty() {
            let joined = Self::parse(&format!("{{{}}}", pairs.join(",")))?;
            map.extend(joined.0);
        }
        Self::checked(map)
    }

    /// The parameters, once each key is known to be a Python name that
    /// hookbook does not inject itself.
    fn checked(map: serde_json::Map<String, serde_json::Value>) -> Result<Self, ParseError> {
        for key in map.keys() {
            if !is_python_identifier(key) {
                return Err(ParseError::new(format!(
                    "key '{}' is not a Python identifier",
                    key.escape_default()
                )));
            }
            if PYTHON_KEYWORDS.contains(&key.as_str()) {
                return Err(ParseError::new(format!("key '{key}' is a Python keyword")));
            }
            if RESERVED_PARAMETERS.contains(&key.as_str()) {
                return Err(ParseError::new(format!(
                    "key '{key}' is reserved: hookbook injects it itself"
                )));
            }
        }
        Ok(Self(map))
    }

    pub fn values(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }

    /// The JSON string the API returns (`"{}"` when there are none).
    pub fn to_json(&self) -> String {
        serde_json::Value::Object(self.0.clone()).to_string()
    }
}

#[cfg(test)]
mod notebook_parameters {
    use super::Parameters;
    use proptest::prelude::*;

    #[test]
    fn every_form_the_arcgis_package_sends_reads_as_the_same_object() {
        for form in [
            r#"{"x": 1, "y": "text"}"#,
            r#""x": 1, "y": "text""#,
            r#"["\"x\": 1", "\"y\": \"text\""]"#,
            r#"[{"name": "x", "value": 1}, {"name": "y", "value": "text"}]"#,
            r#"[{"x": 1}, {"y": "text"}]"#,
        ] {
            let p = Parameters::parse_notebook_parameters(form).unwrap();
            assert_eq!(p.to_json(), r#"{"x":1,"y":"text"}"#, "{form}");
        }
        assert!(Parameters::parse_notebook_parameters("")
            .unwrap()
            .values()
            .is_empty());
        for bad in [
            "[1]",
            "x = 1",
            r#"{"not a name": 1}"#,
            r#"[{"name": "webhookPayload"}]"#,
        ] {
            assert!(Parameters::parse_notebook_parameters(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn no_input_makes_it_panic(s in ".{0,200}") {
            let _ = Parameters::parse_notebook_parameters(&s);
        }
    }
}

fn is_python_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Parses the `disabled` field: `true` or `false` in any case.
pub fn parse_flag(input: &str) -> Result<bool, ParseError> {
    match input.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ParseError::new("must be true or false")),
    }
}

/// A webhook receiver with its secrets in the clear, as held in memory.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub id: ReceiverId,
    pub name: ReceiverName,
    pub item_id: ItemId,
    pub owner: Username,
    pub signature_headers: SignatureHeaders,
    pub disabled: bool,
    pub secret: Secret,
    /// The secret before the last change, verifying until the given time.
    pub previous_secret: Option<(Secret, Millis)>,
    /// A token whose user the runs act as; `None` runs as the owner.
    pub api_token: Option<Sensitive<String>>,
    pub parameters: Parameters,
    pub message: String,
    pub created: Millis,
    pub modified: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_32_character_secret_is_its_own_key() {
        let s = Secret::parse("9f8b47c2e4a748d3b58e2a17ad8f2e4b").unwrap();
        assert_eq!(s.key(), b"9f8b47c2e4a748d3b58e2a17ad8f2e4b");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn a_whsec_secret_is_keyed_by_its_decoded_bytes() {
        let s = Secret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX").unwrap();
        assert_eq!(s.key(), (0u8..24).collect::<Vec<_>>());
    }

    #[test]
    fn secrets_of_other_lengths_or_with_spaces_are_refused() {
        assert!(Secret::parse("").is_err());
        assert!(Secret::parse("short").is_err());
        assert!(Secret::parse("9f8b47c2e4a748d3b58e2a17ad8f2e4b0").is_err());
        assert!(Secret::parse("9f8b47c2e4a748d3 58e2a17ad8f2e4b").is_err());
        assert!(Secret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMU").is_err());
        assert!(Secret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhM!FRYX").is_err());
    }

    #[test]
    fn signature_headers_are_lowercased_trimmed_and_deduplicated() {
        let h = SignatureHeaders::parse(
            " x-esriHook-Signature, X-Hub-Signature-256 ,x-esrihook-signature",
        )
        .unwrap();
        assert_eq!(h.joined(), "x-esrihook-signature,x-hub-signature-256");
    }

    #[test]
    fn signature_headers_refuse_empty_and_invalid_names() {
        assert!(SignatureHeaders::parse("").is_err());
        assert!(SignatureHeaders::parse("a,,b").is_err());
        assert!(SignatureHeaders::parse("x signature").is_err());
        assert!(SignatureHeaders::parse("x:sig").is_err());
    }

    #[test]
    fn parameters_accept_an_object_of_identifiers() {
        let p = Parameters::parse(r#"{"layer": "roads", "_n2": 1.0}"#).unwrap();
        assert_eq!(p.values().len(), 2);
        assert_eq!(Parameters::parse("").unwrap().to_json(), "{}");
    }

    #[test]
    fn parameters_refuse_bad_keys_and_non_objects() {
        for bad in [
            "[1]",
            "\"x\"",
            "{",
            r#"{"2x": 1}"#,
            r#"{"a-b": 1}"#,
            r#"{"class": 1}"#,
            r#"{"webhookPayload": 1}"#,
            r#"{"webhookHeaders": {}}"#,
            r#"{"": 1}"#,
        ] {
            assert!(Parameters::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_disabled_flag_reads_true_and_false() {
        assert_eq!(parse_flag("TRUE"), Ok(true));
        assert_eq!(parse_flag("false"), Ok(false));
        assert!(parse_flag("yes").is_err());
    }

    proptest! {
        #[test]
        fn secret_parse_never_panics(s in "\\PC{0,80}") {
            if let Ok(secret) = Secret::parse(&s) {
                prop_assert!(!secret.key().is_empty());
            }
        }

        #[test]
        fn signature_header_parse_never_panics_and_output_reparses(s in "\\PC{0,120}") {
            if let Ok(h) = SignatureHeaders::parse(&s) {
                prop_assert!(!h.names().is_empty());
                prop_assert_eq!(SignatureHeaders::parse(&h.joined()).unwrap(), h.clone());
                prop_assert!(!h.joined().contains(' '));
            }
        }

        #[test]
        fn parameters_parse_never_panics_and_round_trips(s in "\\PC{0,120}") {
            if let Ok(p) = Parameters::parse(&s) {
                prop_assert_eq!(Parameters::parse(&p.to_json()).unwrap(), p);
            }
        }

        #[test]
        fn identifier_keyed_objects_are_accepted(keys in proptest::collection::vec("[a-z_][a-z0-9_]{0,8}", 0..5)) {
            let map: serde_json::Map<String, serde_json::Value> = keys
                .iter()
                .filter(|k| !PYTHON_KEYWORDS.contains(&k.as_str()))
                .map(|k| (k.clone(), serde_json::Value::from(1)))
                .collect();
            let text = serde_json::Value::Object(map.clone()).to_string();
            let parsed = Parameters::parse(&text).unwrap();
            prop_assert_eq!(parsed.values(), &map);
        }
    }
}
