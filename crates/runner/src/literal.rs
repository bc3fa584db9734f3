//! JSON values as Python literals, the way papermill writes parameters:
//! `null` → `None`, booleans → `True`/`False`, floats keep a decimal point,
//! strings are double-quoted with escapes, lists and dicts recursively.

use serde_json::Value;

pub fn python_literal(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.is_nan() {
                    out.push_str("float('nan')");
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 {
                        "float('inf')"
                    } else {
                        "float('-inf')"
                    });
                } else {
                    let text = format!("{f:?}");
                    out.push_str(&text);
                }
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                string(k, out);
                out.push_str(": ");
                write(v, out);
            }
            out.push('}');
        }
    }
}

/// A Python string literal that is valid whatever the text holds.
pub fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_becomes_python_literals() {
        let v = json!({"a": null, "b": true, "c": false, "d": 1, "e": 1.0, "f": 2.5, "g": "x\"y\\z\n", "h": [1, {"i": []}]});
        assert_eq!(
            python_literal(&v),
            r#"{"a": None, "b": True, "c": False, "d": 1, "e": 1.0, "f": 2.5, "g": "x\"y\\z\n", "h": [1, {"i": []}]}"#
        );
        assert_eq!(python_literal(&json!(1e300)), "1e300");
        assert_eq!(python_literal(&json!(-0.5)), "-0.5");
        assert_eq!(python_literal(&json!("\u{1}é")), "\"\\x01é\"");
    }
}
