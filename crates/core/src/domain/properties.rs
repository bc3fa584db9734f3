//! The notebook server's system properties (`system/properties`): a JSON
//! object an administrator writes whole, as Esri's `update` does.

use serde_json::{json, Map, Value};

use super::ParseError;

/// The most bytes a properties object may take.
const MAX_BYTES: usize = 64 * 1024;

/// System properties: a JSON object of at most 64 KiB whose keys are
/// names (1 to 100 characters, no control characters).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemProperties(Map<String, Value>);

impl SystemProperties {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if text.len() > MAX_BYTES {
            return Err(ParseError::new("is larger than 64 KiB"));
        }
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
            return Err(ParseError::new(
                "must be a JSON object, such as {\"webSocketSize\": 16}",
            ));
        };
        if let Some(bad) = map
            .keys()
            .find(|k| k.is_empty() || k.chars().count() > 100 || k.chars().any(char::is_control))
        {
            return Err(ParseError::new(format!(
                "'{}' is not a property name (1 to 100 characters, no control characters)",
                bad.escape_default()
            )));
        }
        Ok(Self(map))
    }

    /// What a site that never wrote its properties answers: the defaults
    /// the ArcGIS API for Python's `SystemManager.properties` setter knows,
    /// so that it can set them (it writes only the keys it reads back).
    /// hookbook runs no containers: it keeps them for the scripts that read
    /// and write them and acts on none.
    pub fn defaults() -> Self {
        let Value::Object(map) = json!({
            "webSocketSize": 16,
            "maxContainersPerNode": 20,
            "containersStartPort": 30001,
            "containersStopPort": 31000,
            "idleNotebookThreshold": 1440,
            "containerCreatedThreshold": 60,
            "dockerConnectionHost": "localhost",
            "dockerConnectionPort": 2375,
        }) else {
            return Self(Map::new());
        };
        Self(map)
    }

    pub fn values(&self) -> &Map<String, Value> {
        &self.0
    }

    /// As stored.
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn properties_are_a_json_object_of_names() {
        let p = SystemProperties::parse(r#"{"webSocketSize": 32}"#).unwrap();
        assert_eq!(p.values()["webSocketSize"], 32);
        assert_eq!(SystemProperties::parse(&p.to_json()).unwrap(), p);
        for bad in ["[]", "1", "", r#"{"": 1}"#, "{"] {
            assert!(SystemProperties::parse(bad).is_err(), "{bad}");
        }
        assert!(SystemProperties::defaults()
            .values()
            .contains_key("webSocketSize"));
    }

    proptest! {
        #[test]
        fn no_input_makes_it_panic(s in ".{0,200}") {
            let _ = SystemProperties::parse(&s);
        }
    }
}
